"""Which passages of a unit most likely evidence indicator N, best first.

Two signals, because each misses what the other finds:
- the tagger's own passage score for N (rules, plus the learned model when one
  exists): precise, but silent on phrasings no rule knows;
- retrieval by meaning: how close the passage is to the indicator's name,
  指标具体内涵, rubric descriptors and rule vocabulary (character 2–3-gram
  TF-IDF over the unit's passages, so common words of this unit weigh little).

A passage's rank score is the tagger score plus MEANING_WEIGHT × its meaning
similarity relative to the unit's best; reviewers' confirmations come first and
rejections last.  Pure: texts in, order out (the database side is
review/evidence_rank.py).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

MEANING_WEIGHT = 0.5
TOP_SHOWN = 5


@dataclass
class RankedPassage:
    key: object            # the caller's handle (a passage id)
    score: float
    tagger_score: float
    meaning: float         # 0..1, relative to the best passage of the unit
    reason: str            # Chinese, for the reviewer
    terms: list[str]


@functools.lru_cache(maxsize=256)
def indicator_query(no: int, year: int | None = None) -> str:
    """What indicator N is about, in the words documents use."""
    from tagging.rules import default_rulebook
    parts = []
    try:
        from rubrics.indicators import load_system
        system = load_system(year) if year else load_system()
        ind = system.get(no)
        parts += [ind.name, ind.name, ind.meaning] + [lv.descriptor for lv in ind.rubric] + list(ind.terms)
    except Exception:  # noqa: BLE001 - unknown indicator or year: the rule book's words still tell
        pass
    rules = default_rulebook().indicators.get(no)
    if rules is not None:
        parts.append(rules.name)
        parts += [r.source for r in rules.rules if r.kind != "strong" and r.source.isalnum()]
    return " ".join(p for p in parts if p)


def meaning_scores(texts: list[str], no: int, year: int | None = None) -> list[float]:
    """Cosine of each passage with the indicator's description, scaled so the best is 1."""
    if not texts:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer
    from zhtext.chinese import fold
    query = indicator_query(no, year)
    if not query.strip():
        return [0.0] * len(texts)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, preprocessor=fold)
    try:
        matrix = vectorizer.fit_transform(list(texts) + [query])
    except ValueError:  # no n-gram at all (texts of punctuation)
        return [0.0] * len(texts)
    sims = (matrix[:-1] @ matrix[-1].T).toarray().ravel()
    top = float(sims.max()) if len(sims) else 0.0
    return [float(s) / top if top > 0 else 0.0 for s in sims]


def rank_passages(texts: list[str], no: int, *, keys: list | None = None, tagger=None,
                  year: int | None = None, known: dict | None = None) -> list[RankedPassage]:
    """All passages ranked for indicator `no`.  `known` maps a key to a stored
    (score, reason) the ingest tagger gave; confirmed/rejected decisions are the
    caller's to apply on top (they outrank any score)."""
    from tagging.tagger import default_tagger
    keys = list(keys) if keys is not None else list(range(len(texts)))
    tagger = tagger or default_tagger(year)
    live = tagger.indicator_passage_scores(texts, no)
    meaning = meaning_scores(texts, no, year)
    known = known or {}
    out = []
    for key, text, (t_score, terms), m in zip(keys, texts, live, meaning):
        stored = known.get(key)
        if stored is not None and stored[0] > t_score:
            t_score = stored[0]
        score = t_score + MEANING_WEIGHT * m
        bits = []
        if terms:
            bits.append("命中本指标规则用语" + "、".join(f"“{t}”" for t in terms[:4]))
        if m >= 0.5:
            bits.append(f"与指标内涵用语相近（相似度为本单位最高者的 {m:.0%}）")
        out.append(RankedPassage(key, round(score, 4), round(t_score, 4), round(m, 4),
                                 "；".join(bits) + "。" if bits else "与指标内涵略有相近。", terms))
    out.sort(key=lambda r: -r.score)  # stable: ties keep document order
    return out
