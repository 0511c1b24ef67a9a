"""Training the learned model from labelled documents and reviewers' decisions.

    model = fit_model(items, feedback)            # items: evaluate.EvalItem, feedback: (passage, no, confirmed)
    report = cross_validate(items, 5, fit=fitter(feedback))   # each fold trained on the others only

What a labelled document teaches:
- the text model: the passage holding the labeller's phrase (`why`) is evidence
  for that indicator; passages of documents without the indicator are not;
- the combiner: every (document, indicator) pair, evidence or not, with its
  general features — the text-model scores in them come from models trained
  without that document (inner folds), so the combiner learns how the text
  model does on documents it has not seen.
A reviewer's decision is a one-passage document: confirmed or rejected for one
indicator.  The probability at which the model adds an indicator the rules missed
maximises micro-F1 on the training documents.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass

import numpy as np

from tagging.learned import FEATURES, PRIOR_SMOOTHING, LearnedModel, hash_text
from tagging.normalize import matching_copy
from tagging.tagger import THRESHOLD, Reading, Tagger

INNER_FOLDS = 5
COMBINER_C = 1.0
# Adding an indicator the rules missed: at the best of these probabilities on the training
# documents (1.01: never).  Dropping rule suggestions the model doubted was tried and
# cost recall under cross-validation, so the model never removes one.
ADD_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)


@dataclass
class Example:
    """A document (or one reviewed passage) as training material."""
    key: str                     # document id or "feedback:<n>"
    reading: Reading
    gold: set[int]               # indicators it evidences
    known: set[int] | None       # indicators whose label is known (None: all of them)
    positives: dict[int, list[int]]   # indicator → passages that show it

    def label(self, no: int) -> int | None:
        if self.known is not None and no not in self.known:
            return None
        return int(no in self.gold)


def _why_passages(reading: Reading, why: dict[int, str], gold: set[int]) -> dict[int, list[int]]:
    """Passages holding the labeller's phrase; without a phrase (or when it
    cannot be found), every passage of the document."""
    out = {}
    for no in gold:
        phrase = matching_copy(why.get(no, "")).text if why.get(no) else ""
        found = [i for i, t in enumerate(reading.texts) if phrase and phrase in t]
        if not found and phrase:
            overlap = [len(set(phrase) & set(t)) for t in reading.texts]
            found = [int(np.argmax(overlap))]
        out[no] = found or list(range(len(reading.texts)))
    return out


def examples_from(items, feedback=(), tagger: Tagger | None = None) -> list[Example]:
    from tagging.splitting import split_text
    tagger = tagger or Tagger()
    out = []
    for item in items:
        reading = tagger.read(split_text(item.text))
        if reading is None:
            continue
        gold = set(item.labels)
        out.append(Example(item.id, reading, gold, None, _why_passages(reading, item.why, gold)))
    for n, (text, no, confirmed) in enumerate(feedback):
        reading = tagger.read(split_text(str(text)))
        if reading is None:
            continue
        everywhere = {int(no): list(range(len(reading.texts)))}
        out.append(Example(f"feedback:{n}", reading, {int(no)} if confirmed else set(), {int(no)},
                           everywhere if confirmed else {}))
    return out


def _fit_text(examples: list[Example], nos: list[int]):
    from tagging.textmodel import fit
    index = {no: j for j, no in enumerate(nos)}
    texts, rows = [], []
    for ex in examples:
        for i, text in enumerate(ex.reading.texts):
            target = np.zeros(len(nos))
            for no, passages in ex.positives.items():
                if i in passages and no in index:
                    target[index[no]] = 1.0
            texts.append(text)
            rows.append(target)
    return fit(texts, np.array(rows).reshape(len(texts), len(nos)), nos)


def _folds(keys: list[str], k: int, seed: int) -> list[set[str]]:
    order = sorted(set(keys))
    random.Random(seed).shuffle(order)
    return [set(order[i::k]) for i in range(k)]


def _priors(examples: list[Example], nos: list[int]) -> dict[int, float]:
    documents = [ex for ex in examples if ex.known is None]
    counts = Counter(no for ex in documents for no in ex.gold)
    n = max(1, len(documents))
    priors = {no: math.log((counts.get(no, 0) + PRIOR_SMOOTHING) / (n + 1)) for no in nos}
    priors[0] = math.log(PRIOR_SMOOTHING / (n + 1))
    return priors


def _feature_table(examples, text_models: dict[str, object], nos, priors, tagger: Tagger):
    """(rows, labels, owner index) over every known (example, indicator) pair."""
    from tagging.features import evidence_features
    X, y, owner = [], [], []
    for e_idx, ex in enumerate(examples):
        text = text_models[ex.key]
        scores = text.scores(ex.reading.texts)
        findings = tagger.rule_findings(ex.reading)
        rows = evidence_features(ex.reading, findings, nos, scores, lambda no: priors.get(no, priors[0]), THRESHOLD)
        for j, no in enumerate(nos):
            label = ex.label(no)
            if label is None:
                continue
            X.append(rows[j])
            y.append(label)
            owner.append((e_idx, no))
    return np.array(X).reshape(len(X), len(FEATURES)), np.array(y), owner


def _add_threshold(examples, probs, owner, rule_chosen) -> float:
    """The probability at which adding an indicator gives the best micro-F1 on the training examples."""
    by_example: dict[int, dict[int, float]] = {}
    for p, (e_idx, no) in zip(probs, owner):
        by_example.setdefault(e_idx, {})[no] = float(p)
    best = (-1.0, ADD_GRID[-1])
    for add in ADD_GRID:
        tp = fp = fn = 0
        for e_idx, ps in by_example.items():
            chosen = rule_chosen[e_idx] | {no for no, p in ps.items() if p >= add}
            known = set(ps)
            gold = examples[e_idx].gold & known
            tp += len(chosen & gold)
            fp += len((chosen & known) - gold)
            fn += len(gold - chosen)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best[0] + 1e-9:
            best = (f1, add)
    return best[1]


def fit_model(items, feedback=(), *, year: int | None = None, seed: int = 7, meta: dict | None = None,
              tagger: Tagger | None = None) -> LearnedModel:
    """Train on labelled documents `items` and reviewers' `feedback` records."""
    from sklearn.linear_model import LogisticRegression
    tagger = tagger or Tagger()
    examples = examples_from(items, feedback, tagger)
    nos = sorted(tagger.rulebook.indicators) if tagger.indicator_nos is None else sorted(tagger.indicator_nos)
    priors = _priors(examples, nos)
    # text-model scores for the combiner's training rows come from models that did not see that example
    inner: dict[str, object] = {}
    keys = [ex.key for ex in examples]
    for held in _folds(keys, INNER_FOLDS, seed):
        model = _fit_text([ex for ex in examples if ex.key not in held], nos)
        inner.update({k: model for k in held})
    X, y, owner = _feature_table(examples, inner, nos, priors, tagger)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    if len(set(y.tolist())) < 2:
        coef, intercept = np.zeros(len(FEATURES)), (5.0 if y.size and y[0] == 1 else -5.0)
        probs = np.full(len(y), 1 / (1 + math.exp(-intercept)))
    else:
        clf = LogisticRegression(C=COMBINER_C, max_iter=5000).fit((X - mean) / scale, y)
        coef, intercept = clf.coef_[0], float(clf.intercept_[0])
        probs = clf.predict_proba((X - mean) / scale)[:, 1]
    rule_chosen = [{no for no, f in tagger.rule_findings(ex.reading).items() if f.suggestion.score >= THRESHOLD}
                   for ex in examples]
    add_at = _add_threshold(examples, probs, owner, rule_chosen)
    info = dict(meta or {})
    info.update({"year": year, "documents": sorted(hash_text(it.text) for it in items),
                 "n_documents": len(items), "n_feedback": len(feedback), "rules": tagger.rulebook.version})
    return LearnedModel(_fit_text(examples, nos), coef, intercept, mean, scale, priors, add_at, info)


def fitter(feedback=(), base: Tagger | None = None):
    """A `fit` for evaluate.cross_validate: the model trained on the training folds
    (plus every reviewer decision, which belongs to no fold's documents)."""
    def fit(train_items) -> Tagger:
        tagger = base or Tagger()
        model = fit_model(train_items, feedback, tagger=Tagger(tagger.rulebook, None, tagger.indicator_nos))
        return Tagger(tagger.rulebook, model, tagger.indicator_nos)
    return fit
