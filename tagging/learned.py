"""The learned part of the tagger: is this indicator evidenced here, or only mentioned?

Two layers, both learned from labelled documents (the development set: which
indicators each document evidences, and the phrase that shows it) and from
reviewers' confirmations and rejections of passages:

- a text model (tagging/textmodel.py): the passage's words and character
  n-grams → a score per indicator;
- a combiner: one logistic regression shared by all indicators over general
  features of a (document, indicator) pair — how the rules fired, the text
  model's score and rank, closeness to the indicator's meaning
  (tagging/meaning.py), evidence-versus-call cues of the best passage
  (tagging/cues.py), the indicator's share among the training documents.

The rules decide what they find (the model never removes a rule suggestion:
that cost recall under cross-validation); the model adds an indicator the
rules did not reach at `add_at` or above, and orders the candidates.  The
threshold, like every weight, is fitted on the training documents only
(tagging/training.py), so cross-validated figures are honest for the learned
part.

Storage is portable: one `.npz` of plain numeric arrays (text-model columns,
idf, sparse weights) plus a JSON header (features, coefficients, scaling,
priors, threshold, what it was trained on), read with `allow_pickle=False`.
A damaged file, a file of another format or for other features is ignored.
"""
from __future__ import annotations

import hashlib
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagging.textmodel import N_FEATURES, NGRAMS, TextModel

MODEL_FORMAT = "lr3"
FEATURES = ("rule_doc", "rule_best", "strong", "title", "support", "planned", "fact", "calls",
            "closeness", "closeness_rank", "text", "text_rank", "prior", "domain", "commentary", "n_rule")
# The model trained on the whole development set, shipped with the code.
SHIPPED_PATH = Path(__file__).resolve().parent / "models" / f"tagger.{MODEL_FORMAT}.npz"
# Prior of an indicator never seen in training: log of half a document in the training count.
PRIOR_SMOOTHING = 0.5


def hash_text(text: str) -> str:
    """A document's fingerprint, to know whether a model was trained on it (never its text)."""
    return hashlib.sha256((text or "").encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class LearnedModel:
    text: TextModel
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    priors: dict[int, float]
    add_at: float
    meta: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(json.dumps(self._header(), sort_keys=True, ensure_ascii=False).encode())
        for arr in (self.text.columns, self.text.idf, self.text.weights.data, self.text.weights.indices):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:10]

    @property
    def version(self) -> str:
        scope = self.meta.get("year") or "devset"
        return f"{MODEL_FORMAT}-{scope}-{self.digest}"

    @property
    def trained_on(self) -> set[str]:
        """Fingerprints (hash_text) of the documents it was trained on."""
        return set(self.meta.get("documents") or [])

    def prior(self, no: int) -> float:
        return self.priors.get(no, self.priors.get(0, math.log(PRIOR_SMOOTHING / 100)))

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def contributions(self, row: np.ndarray) -> dict[str, float]:
        """Each feature's share of the decision for one row (for explaining)."""
        return {name: float(c * (v - m) / s)
                for name, c, v, m, s in zip(FEATURES, self.coef, row, self.mean, self.scale)}

    # ------------------------------------------------------------ storage
    def _header(self) -> dict:
        return {"format": MODEL_FORMAT, "features": list(FEATURES), "n_features": N_FEATURES,
                "ngrams": list(NGRAMS), "nos": self.text.nos, "coef": [float(c) for c in self.coef],
                "intercept": float(self.intercept), "mean": [float(v) for v in self.mean],
                "scale": [float(v) for v in self.scale],
                "priors": {str(k): float(v) for k, v in sorted(self.priors.items())},
                "add_at": float(self.add_at),
                "default_idf": float(self.text.default_idf), "meta": self.meta}


def save_model(model: LearnedModel, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w = model.text.weights.tocsr()
    arrays = {"header": np.array(json.dumps(model._header(), ensure_ascii=False)),
              "columns": model.text.columns.astype(np.int64), "idf": model.text.idf.astype(np.float32),
              "w_data": w.data.astype(np.float32), "w_indices": w.indices.astype(np.int32),
              "w_indptr": w.indptr.astype(np.int64), "intercepts": model.text.intercepts.astype(np.float32)}
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    tmp.replace(path)  # readers never see half a model
    return path


def load_model(path: Path | str | None = None) -> LearnedModel | None:
    """The model at `path` (default: the shipped one), or None when it is absent,
    damaged, of another format or made for other features."""
    from scipy import sparse
    path = Path(path) if path else SHIPPED_PATH
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            if not isinstance(header, dict) or header.get("format") != MODEL_FORMAT \
                    or tuple(header.get("features") or ()) != FEATURES \
                    or header.get("n_features") != N_FEATURES or tuple(header.get("ngrams") or ()) != NGRAMS:
                return None
            nos = [int(n) for n in header["nos"]]
            columns = data["columns"].astype(np.int64)
            weights = sparse.csr_matrix((data["w_data"], data["w_indices"], data["w_indptr"]),
                                        shape=(len(columns), len(nos)))
            text = TextModel(columns, data["idf"].astype(np.float32), float(header["default_idf"]), weights,
                             data["intercepts"].astype(np.float32), nos)
            model = LearnedModel(text, np.array(header["coef"], dtype=float), float(header["intercept"]),
                                 np.array(header["mean"], dtype=float), np.array(header["scale"], dtype=float),
                                 {int(k): float(v) for k, v in header["priors"].items()},
                                 float(header["add_at"]), dict(header.get("meta") or {}))
            if len(model.coef) != len(FEATURES) or len(model.mean) != len(FEATURES) or columns.max(initial=0) >= N_FEATURES:
                return None
            return model
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile):
        return None  # a damaged file: the rules alone are better than a crash


def model_path(directory: Path | str, year: int) -> Path:
    """Where the model retrained for a year (development set + that year's reviews) lives."""
    return Path(directory) / f"tagger-{year}.{MODEL_FORMAT}.npz"
