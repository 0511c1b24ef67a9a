"""Learning from reviewers: a per-year model over passages, blended with the rules.

Feedback is `(passage_text, indicator_no, confirmed)`.  For every indicator
with enough examples of both kinds we fit a one-vs-rest logistic regression
over segmented words (with the domain dictionary) and character 2–3-grams.
The rules keep the upper hand while feedback is scarce: an indicator's blend
weight is n / (n + BLEND_HALF) for its n feedback records, capped at BLEND_CAP.
"""
from __future__ import annotations

import hashlib
import pickle
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODEL_FORMAT = "lr1"
BLEND_HALF = 40
BLEND_CAP = 0.6
MIN_POSITIVES = 3
MIN_NEGATIVES = 3
# A passage confirmed for another indicator is a weaker negative than an
# explicit rejection: it may simply not have been looked at for this one.
IMPLICIT_NEGATIVE_WEIGHT = 0.3


def _words(text: str) -> list[str]:
    """Words from the domain-dictionary segmenter, punctuation dropped."""
    from zhtext.chinese import default_segmenter, fold
    return [w for w in default_segmenter().cut(fold(text)) if any(c.isalnum() for c in w)]


def _vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion
    from zhtext.chinese import fold
    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer=_words, min_df=1, sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char", ngram_range=(2, 3), preprocessor=fold,
                                  min_df=1, sublinear_tf=True, max_features=50000)),
    ])


@dataclass
class LearnedModel:
    year: int
    vectorizer: object
    classifiers: dict[int, object]
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

    def passage_scores(self, texts: list[str]) -> dict[int, np.ndarray]:
        """Indicator → probability per passage, for the indicators it learned."""
        if not texts or not self.classifiers:
            return {}
        matrix = self.vectorizer.transform(texts)
        return {no: clf.predict_proba(matrix)[:, 1] for no, clf in self.classifiers.items()}


def train(records: list[tuple[str, int, bool]], year: int) -> LearnedModel:
    from sklearn.linear_model import LogisticRegression
    records = [(str(t), int(n), bool(c)) for t, n, c in records if str(t).strip()]
    counts = Counter(n for _, n, _ in records)
    texts = sorted({t for t, _, _ in records})
    index = {t: i for i, t in enumerate(texts)}
    vectorizer = _vectorizer()
    classifiers: dict[int, object] = {}
    if texts:
        matrix = vectorizer.fit_transform(texts)
        confirmed_for: dict[int, set[int]] = defaultdict(set)
        rejected_for: dict[int, set[int]] = defaultdict(set)
        for t, n, c in records:
            (confirmed_for if c else rejected_for)[n].add(index[t])
        all_confirmed = set().union(*confirmed_for.values()) if confirmed_for else set()
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
            clf.fit(matrix[rows], y, sample_weight=w)
            classifiers[no] = clf
    digest = hashlib.sha256(repr(sorted(records)).encode("utf-8")).hexdigest()[:10]
    return LearnedModel(year, vectorizer, classifiers, dict(counts), len(records), digest)


def model_path(directory: Path | str, year: int) -> Path:
    return Path(directory) / f"tagger-{year}.{MODEL_FORMAT}.pkl"


def save_model(model: LearnedModel, directory: Path | str) -> Path:
    path = model_path(directory, model.year)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump({"format": MODEL_FORMAT, "model": model}, fh)
    tmp.replace(path)  # readers never see half a model
    return path


def load_model(directory: Path | str, year: int) -> LearnedModel | None:
    """The saved model for `year`, or None if absent or written by another format."""
    path = model_path(directory, year)
    if not path.exists():
        return None
    with path.open("rb") as fh:
        data = pickle.load(fh)  # our own files, written by save_model
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        return None
    return data["model"]


def retrain(records: list[tuple[str, int, bool]], year: int, directory: Path | str) -> LearnedModel:
    """Train the year's model from all its feedback so far and save it; the
    next `default_tagger(year, directory)` (or tag_text with
    KAOPING_TAGGER_MODELS) picks it up because its version changed."""
    model = train(records, year)
    save_model(model, directory)
    return model
