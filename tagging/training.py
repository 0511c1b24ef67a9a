"""Training the calibration from labelled documents, and measuring it honestly.

    fit = fitter()                         # labelled documents → Tagger
    report = cross_validate(items, 5, fit=fit)   # each fold calibrated on the others

`train_calibration(items)` fits on all the given documents: the model shipped in
tagging/models/calibration.json is this, trained on the full development set,
and it is shipped only because the cross-validated figures beat the rules alone
(docs/tagging.md).
"""
from __future__ import annotations

from tagging.calibration import Calibration, fit_calibration
from tagging.tagger import Tagger


def training_examples(items, tagger: Tagger | None = None) -> tuple[list, int]:
    """(indicator, features, is gold) for every rule suggestion of every item,
    and the number of gold labels in all (found by the rules or not)."""
    tagger = tagger or Tagger()
    examples, gold_total = [], 0
    for item in items:
        gold = set(item.labels)
        gold_total += len(gold)
        for no, features, _ in tagger.rule_examples(item.text):
            examples.append((no, features, no in gold))
    return examples, gold_total


def train_calibration(items, meta: dict | None = None) -> Calibration:
    examples, gold_total = training_examples(items)
    return fit_calibration(examples, len(items), gold_total, meta)


def fitter(base: Tagger | None = None):
    """A `fit` for evaluate.cross_validate: calibrate on the training folds."""
    def fit(train_items) -> Tagger:
        tagger = base or Tagger()
        return Tagger(tagger.rulebook, tagger.model, tagger.indicator_nos, train_calibration(train_items))
    return fit
