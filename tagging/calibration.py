"""A learned calibration of the rules: is this rule suggestion evidence, or a mention?

The rules find where a document speaks of an indicator; real documents mention
far more than they evidence (a 技能竞赛 named in a list of tasks, a theory
article full of 要…).  The calibration is one logistic regression over
(document, suggested indicator) pairs, shared by all indicators, whose features
are general cues, never document phrases:

- how strongly and how often the rules fired (score, support, strong pattern, title);
- evidence against exhortation in the best passage and in the whole document
  (numbers, dates, events done, documents issued — against 要/应/必须/将/下一步);
- how this indicator's rule suggestions fared in training (a shrunk precision:
  rules that fire on mentions learn a low prior);
- how close the best passage is to the indicator's 指标具体内涵 (character n-grams).

It is trained on labelled documents (the development set, within the folds of a
cross-validation when measured) and stored as plain JSON: coefficients, feature
scaling, per-indicator priors and the decision threshold.  No pickle: loading
never executes code and a library upgrade cannot break the file.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

CALIBRATION_FORMAT = "cal1"
# The calibration trained on the full development set, shipped with the code.
SHIPPED_PATH = Path(__file__).resolve().parent / "models" / "calibration.json"
# The tagger computes all of CANDIDATE_FEATURES; the calibration uses FEATURES.
# With 120 documents, forward selection under 5-fold CV (3 seeds) kept three: every
# further cue (passage facts, exhortation, meaning similarity, per-indicator prior)
# lowered the cross-validated F1 — too few examples per cue to learn it.
CANDIDATE_FEATURES = ("rule_score", "best_passage", "support", "strong", "title", "fact", "exhortation",
                      "doc_fact_share", "doc_exhortation_share", "rank", "n_suggested", "domain", "prior",
                      "meaning", "share")
FEATURES = ("rule_score", "domain", "doc_fact_share")
# Shrinkage of an indicator's training precision toward the overall one: with
# few examples the indicator's own record says little.
PRIOR_STRENGTH = 4.0

_DIGIT = re.compile(r"[0-9０-９]+|[一二三四五六七八九十百千万两]+(个|项|家|名|人|场|次|批|届|条|件|所|支|期)")
_DATE = re.compile(r"(19|20)[0-9]{2}年|[0-9一二三四五六七八九十]{1,2}月[0-9一二三四五六七八九十]{0,3}日?|近日|日前|今年以来|截至")
_DONE = re.compile(r"(召开|举行|举办|印发|出台|制定|发布|成立|建成|命名|表彰|获评|荣获|评选|签订|开展了|组织了|累计|共有|已有|已经|先后)")
_EXHORT = re.compile(r"(要|应|应当|必须|务必|着力|切实|坚持|需要|进一步|下一步|将|力争|计划|拟)")
_SENTENCES = re.compile(r"[^。；！？!?;\n]+")


def passage_cues(text: str) -> tuple[float, float]:
    """(fact, exhortation) for one passage, each in 0..1: the share of its
    sentences that report something done or counted, and the share that call
    for or plan something without reporting anything."""
    sentences = [s for s in _SENTENCES.findall(text) if len(s.strip()) >= 6]
    if not sentences:
        return 0.0, 0.0
    fact = exhort = 0
    for s in sentences:
        is_fact = bool(_DIGIT.search(s) or _DATE.search(s) or _DONE.search(s))
        fact += is_fact
        exhort += (not is_fact) and bool(_EXHORT.search(s))
    return fact / len(sentences), exhort / len(sentences)


@functools.lru_cache(maxsize=4)
def _meaning_space(year: int | None):
    """Character 2–3-gram TF-IDF over the indicators' names and meanings."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from rubrics.indicators import load_system
    from zhtext.chinese import fold
    try:
        indicators = load_system(year).indicators if year else load_system().indicators
    except Exception:  # noqa: BLE001 - no indicator system: no meaning feature
        return None
    nos = [ind.no for ind in indicators]
    texts = [fold(f"{ind.name} {ind.name} {ind.meaning} " + " ".join(lv.descriptor for lv in ind.rubric))
             for ind in indicators]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    return vectorizer, matrix, {no: i for i, no in enumerate(nos)}


def meaning_similarity(texts: list[str], nos: list[int], year: int | None = None) -> list[float]:
    """Cosine of each text with its indicator's meaning (0 when unknown)."""
    space = _meaning_space(year)
    if space is None or not texts:
        return [0.0] * len(texts)
    from zhtext.chinese import fold
    vectorizer, matrix, row = space
    vectors = vectorizer.transform([fold(t) for t in texts])
    out = []
    for i, no in enumerate(nos):
        j = row.get(no)
        out.append(float(vectors[i].multiply(matrix[j]).sum()) if j is not None else 0.0)
    return out


@dataclass
class Calibration:
    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]
    priors: dict[int, list[int]]     # indicator → [suggestions seen in training, of which right]
    base_precision: float
    threshold: float
    n_documents: int
    meta: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:10]

    @property
    def version(self) -> str:
        return f"{CALIBRATION_FORMAT}-{self.digest}"

    def prior(self, no: int) -> float:
        seen, right = self.priors.get(no, [0, 0])
        return (right + PRIOR_STRENGTH * self.base_precision) / (seen + PRIOR_STRENGTH)

    def probability(self, features: dict[str, float]) -> float:
        z = self.intercept
        for name, c, m, s in zip(FEATURES, self.coef, self.mean, self.scale):
            z += c * (features[name] - m) / s
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict:
        return {"format": CALIBRATION_FORMAT, "features": list(FEATURES), "coef": self.coef,
                "intercept": self.intercept, "mean": self.mean, "scale": self.scale,
                "priors": {str(k): v for k, v in sorted(self.priors.items())},
                "base_precision": self.base_precision, "threshold": self.threshold,
                "n_documents": self.n_documents, "meta": self.meta}

    @classmethod
    def from_json(cls, data: dict) -> "Calibration | None":
        """None for a file of another format or feature list (it would mis-read the features)."""
        if not isinstance(data, dict) or data.get("format") != CALIBRATION_FORMAT \
                or tuple(data.get("features") or ()) != FEATURES:
            return None
        return cls([float(x) for x in data["coef"]], float(data["intercept"]),
                   [float(x) for x in data["mean"]], [float(x) for x in data["scale"]],
                   {int(k): [int(v[0]), int(v[1])] for k, v in (data.get("priors") or {}).items()},
                   float(data["base_precision"]), float(data["threshold"]), int(data.get("n_documents", 0)),
                   dict(data.get("meta") or {}))


def save_calibration(calibration: Calibration, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(calibration.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)  # readers never see half a file
    return path


def load_calibration(path: Path | str | None = None) -> Calibration | None:
    path = Path(path) if path else SHIPPED_PATH
    if not path.is_file():
        return None
    try:
        return Calibration.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError, IndexError):
        return None  # a damaged file: the rules alone are better than a crash


def fit_calibration(examples: list[tuple[int, dict[str, float], bool]], n_documents: int,
                    gold_total: int, meta: dict | None = None) -> Calibration:
    """Fit from (indicator, features, is gold) for the rule suggestions of the
    training documents; `gold_total` counts all gold labels (found or not), so
    the threshold maximises the training micro-F1 honestly."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    priors: dict[int, list[int]] = {}
    for no, _, gold in examples:
        p = priors.setdefault(no, [0, 0])
        p[0] += 1
        p[1] += int(gold)
    seen = sum(p[0] for p in priors.values())
    base = (sum(p[1] for p in priors.values()) + 1) / (seen + 2)
    cal = Calibration([0.0] * len(FEATURES), 0.0, [0.0] * len(FEATURES), [1.0] * len(FEATURES),
                      priors, base, 0.5, n_documents, dict(meta or {}))
    rows = []
    for no, feats, gold in examples:
        # leave-one-out prior: an example must not see its own label through the prior
        s, r = priors[no]
        loo = (r - int(gold) + PRIOR_STRENGTH * base) / (s - 1 + PRIOR_STRENGTH)
        rows.append([loo if name == "prior" else feats[name] for name in FEATURES])
    if not rows or len({g for _, _, g in examples}) < 2:
        return cal
    x = np.array(rows, dtype=float)
    y = np.array([int(g) for _, _, g in examples])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((x - mean) / scale, y)
    cal.coef, cal.intercept = [float(c) for c in model.coef_[0]], float(model.intercept_[0])
    cal.mean, cal.scale = [float(v) for v in mean], [float(v) for v in scale]
    probs = model.predict_proba((x - mean) / scale)[:, 1]
    best = (-1.0, 0.5)
    for t in np.arange(0.2, 0.81, 0.02):
        tp = int(((probs >= t) & (y == 1)).sum())
        fp = int(((probs >= t) & (y == 0)).sum())
        f1 = 2 * tp / (2 * tp + fp + (gold_total - tp)) if tp else 0.0
        if f1 > best[0] + 1e-9:
            best = (f1, float(round(t, 2)))
    cal.threshold = best[1]
    return cal
