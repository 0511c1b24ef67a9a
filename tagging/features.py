"""Features of a (document, indicator) pair for the learned combiner.

General by design — how the rules fired, how the text model and the
indicator's meaning rank the indicator for this document, whether the best
passage reports or calls for something — so that what the combiner learns from
one document carries to documents it has never seen.  The order is
learned.FEATURES.
"""
from __future__ import annotations

import math

import numpy as np

from tagging.cues import cues
from tagging.learned import FEATURES
from tagging.meaning import closeness


def _rank_share(values: np.ndarray) -> np.ndarray:
    """1 for the highest value, 1/2 for the second… (ties share the better rank)."""
    order = (-values).argsort(kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    return 1.0 / (1.0 + ranks)


def evidence_features(reading, findings: dict, nos: list[int], text_scores: np.ndarray, prior,
                      threshold: float) -> np.ndarray:
    """One row per indicator in `nos`.  `reading` is a tagger.Reading, `findings`
    the rules' RuleFinding per indicator, `text_scores` passage × len(nos) from
    the text model, `prior(no)` the indicator's training share (log)."""
    texts = reading.texts
    close = closeness(texts, nos)
    passage_cues = [cues(t) for t in texts]
    best_close, best_text = close.max(axis=0), text_scores.max(axis=0)
    close_rank, text_rank = _rank_share(best_close), _rank_share(best_text)
    n_rule = sum(1 for f in findings.values() if f.suggestion.score >= threshold)
    doc = [reading.scanned.domain_level / 2, float(reading.cues.is_commentary), math.log1p(n_rule)]
    rows = np.zeros((len(nos), len(FEATURES)))
    for j, no in enumerate(nos):
        found = findings.get(no)
        if found is not None:
            best = found.best
            rule = [found.suggestion.score, found.best_score, float(found.strong), float(found.title),
                    math.log1p(found.support), found.planned]
        else:
            best = int(np.argmax(text_scores[:, j]))
            rule = [0.0] * 6
        c = passage_cues[best]
        rows[j] = rule + [c.fact_share, c.call_share, best_close[j], close_rank[j], best_text[j], text_rank[j],
                          prior(no)] + doc
    return rows
