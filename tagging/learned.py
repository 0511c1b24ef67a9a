"""Learning from reviewers: a per-year model over passages, blended with the rules.

Feedback is `(passage_text, indicator_no, confirmed)`.  For every indicator
with enough examples of both kinds we fit a one-vs-rest logistic regression
over character 2–3-grams of the folded text (hashed, so the feature space needs
no stored vocabulary).  The rules keep the upper hand while feedback is scarce:
an indicator's blend weight is n / (n + BLEND_HALF) for its n feedback records,
capped at BLEND_CAP.

Storage is portable: one `.npz` of plain numeric arrays plus a JSON header,
read with `allow_pickle=False`, so loading runs no code and a library upgrade
cannot break or exploit a saved model.  Prediction is arithmetic on those
arrays (hashing → sublinear tf × idf → l2 → linear → sigmoid).
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODEL_FORMAT = "lr2"
BLEND_HALF = 40
BLEND_CAP = 0.6
MIN_POSITIVES = 3
MIN_NEGATIVES = 3
# A passage confirmed for another indicator is a weaker negative than an
# explicit rejection: it may simply not have been looked at for this one.
IMPLICIT_NEGATIVE_WEIGHT = 0.3
N_FEATURES = 2 ** 20
NGRAMS = (2, 3)


def _hasher():
    from sklearn.feature_extraction.text import HashingVectorizer
    from zhtext.chinese import fold
    return HashingVectorizer(analyzer="char", ngram_range=NGRAMS, preprocessor=fold, n_features=N_FEATURES,
                             alternate_sign=False, norm=None)


@dataclass
class LearnedModel:
    year: int
    idf: np.ndarray                   # float32[N_FEATURES]
    classifiers: dict[int, tuple[np.ndarray, np.ndarray, float]]   # no → (feature indices, weights, intercept)
    feedback_counts: dict[int, int]
    n_records: int
    digest: str
    meta: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return f"{MODEL_FORMAT}-{self.year}-{self.digest}"

    def blend_weight(self, no: int) -> float:
        if no not in self.classifiers:
            return 0.0
        n = self.feedback_counts.get(no, 0)
        return min(BLEND_CAP, n / (n + BLEND_HALF))

    def _matrix(self, texts: list[str]):
        from sklearn.preprocessing import normalize
        counts = _hasher().transform(texts).tocsr().astype(np.float64)
        counts.data = np.log(counts.data) + 1.0          # sublinear tf
        counts = counts.multiply(self.idf.astype(np.float64)).tocsr()
        return normalize(counts, norm="l2")

    def passage_scores(self, texts: list[str]) -> dict[int, np.ndarray]:
        """Indicator → probability per passage, for the indicators it learned."""
        if not texts or not self.classifiers:
            return {}
        matrix = self._matrix(texts)
        out = {}
        for no, (idx, weights, intercept) in self.classifiers.items():
            z = matrix[:, idx] @ weights.astype(np.float64) + intercept
            out[no] = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return out


def _idf(counts, n_docs: int) -> np.ndarray:
    """Smoothed idf as sklearn computes it; features never seen get the maximum."""
    df = np.bincount(counts.indices, minlength=N_FEATURES)
    return (np.log((1 + n_docs) / (1 + df)) + 1.0).astype(np.float32)


def train(records: list[tuple[str, int, bool]], year: int) -> LearnedModel:
    from sklearn.linear_model import LogisticRegression
    records = [(str(t), int(n), bool(c)) for t, n, c in records if str(t).strip()]
    counts = Counter(n for _, n, _ in records)
    texts = sorted({t for t, _, _ in records})
    index = {t: i for i, t in enumerate(texts)}
    classifiers: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
    idf = np.ones(N_FEATURES, dtype=np.float32)
    if texts:
        raw = _hasher().transform(texts).tocsr()
        idf = _idf(raw, len(texts))
        model = LearnedModel(year, idf, {}, {}, 0, "")
        matrix = model._matrix(texts)
        confirmed_for: dict[int, set[int]] = defaultdict(set)
        rejected_for: dict[int, set[int]] = defaultdict(set)
        for t, n, c in records:
            (confirmed_for if c else rejected_for)[n].add(index[t])
        all_confirmed = set().union(*confirmed_for.values()) if confirmed_for else set()
        used = np.unique(raw.indices)   # only features some feedback passage has can carry weight
        compact = matrix[:, used]
        for no in sorted(counts):
            pos = confirmed_for[no]
            explicit_neg = rejected_for[no] - pos
            implicit_neg = all_confirmed - pos - explicit_neg
            if len(pos) < MIN_POSITIVES or len(explicit_neg) + len(implicit_neg) < MIN_NEGATIVES:
                continue
            rows = sorted(pos) + sorted(explicit_neg) + sorted(implicit_neg)
            y = np.array([1] * len(pos) + [0] * (len(explicit_neg) + len(implicit_neg)))
            w = np.array([1.0] * (len(pos) + len(explicit_neg)) + [IMPLICIT_NEGATIVE_WEIGHT] * len(implicit_neg))
            clf = LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000)
            clf.fit(compact[rows], y, sample_weight=w)
            coef = clf.coef_[0]
            keep = np.flatnonzero(coef)
            classifiers[no] = (used[keep].astype(np.int64), coef[keep].astype(np.float32), float(clf.intercept_[0]))
    digest = hashlib.sha256(repr(sorted(records)).encode("utf-8")).hexdigest()[:10]
    return LearnedModel(year, idf, classifiers, dict(counts), len(records), digest)


def model_path(directory: Path | str, year: int) -> Path:
    return Path(directory) / f"tagger-{year}.{MODEL_FORMAT}.npz"


def save_model(model: LearnedModel, directory: Path | str) -> Path:
    path = model_path(directory, model.year)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": MODEL_FORMAT, "year": model.year, "digest": model.digest, "n_records": model.n_records,
              "feedback_counts": {str(k): v for k, v in model.feedback_counts.items()},
              "classifiers": {str(no): c[2] for no, c in model.classifiers.items()},
              "n_features": N_FEATURES, "ngrams": list(NGRAMS), "meta": model.meta}
    arrays = {"header": np.array(json.dumps(header, ensure_ascii=False)), "idf": model.idf}
    for no, (idx, weights, _) in model.classifiers.items():
        arrays[f"idx_{no}"], arrays[f"w_{no}"] = idx, weights
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    tmp.replace(path)  # readers never see half a model
    return path


def load_model(directory: Path | str, year: int) -> LearnedModel | None:
    """The saved model for `year`, or None if absent, damaged or of another format."""
    path = model_path(directory, year)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            if header.get("format") != MODEL_FORMAT or header.get("n_features") != N_FEATURES \
                    or tuple(header.get("ngrams") or ()) != NGRAMS:
                return None
            classifiers = {int(no): (data[f"idx_{no}"].astype(np.int64), data[f"w_{no}"], float(b))
                           for no, b in header["classifiers"].items()}
            idf = data["idf"]
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None  # a damaged file: the rules alone are better than a crash
    return LearnedModel(int(header["year"]), idf, classifiers,
                        {int(k): int(v) for k, v in header["feedback_counts"].items()},
                        int(header["n_records"]), str(header["digest"]), dict(header.get("meta") or {}))


def retrain(records: list[tuple[str, int, bool]], year: int, directory: Path | str) -> LearnedModel:
    """Train the year's model from all its feedback so far and save it; the
    next `default_tagger(year, directory)` (or tag_text with
    KAOPING_TAGGER_MODELS) picks it up because its version changed."""
    model = train(records, year)
    save_model(model, directory)
    return model
