"""What each indicator is about, in the words documents use, and how close a passage is to it.

An indicator's description joins its name (twice: names are short and telling),
its 指标具体内涵, its rubric descriptors, the terms listed for it, and the plain
words of its rules.  Closeness is the cosine of character 2–3-gram TF-IDF
vectors (idf over the 88 descriptions, so words every indicator shares weigh
little).  The evidence ranking and the learned model both read it here.
"""
from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=512)
def indicator_description(no: int, year: int | None = None) -> str:
    from tagging.rules import default_rulebook
    parts: list[str] = []
    try:
        from rubrics.indicators import load_system, system_in_force
        ind = (system_in_force(year) if year else load_system()).get(no)
        parts += [ind.name, ind.name, ind.meaning] + [lv.descriptor for lv in ind.rubric] + list(ind.terms)
    except Exception:  # noqa: BLE001 - unknown indicator or year: the rule book's words still tell
        pass
    rules = default_rulebook().indicators.get(no)
    if rules is not None:
        parts.append(rules.name)
        parts += [r.source for r in rules.rules if r.kind != "strong" and r.source.isalnum()]
    return " ".join(p for p in parts if p)


@functools.lru_cache(maxsize=8)
def _space(nos: tuple[int, ...], year: int | None):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from zhtext.chinese import fold
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, preprocessor=fold)
    matrix = vectorizer.fit_transform([indicator_description(no, year) for no in nos])
    return vectorizer, matrix


def closeness(texts: list[str], nos: list[int], year: int | None = None) -> np.ndarray:
    """passage × indicator cosine with each indicator's description."""
    if not texts or not nos:
        return np.zeros((len(texts), len(nos)))
    vectorizer, matrix = _space(tuple(nos), year)
    return (vectorizer.transform(texts) @ matrix.T).toarray()
