"""Which passages of a unit most likely evidence indicator N, best first.

Three signals, because each misses what the others find:
- the rules' passage score for N: precise, but silent on phrasings no rule knows;
- retrieval by meaning: how close the passage is to the indicator's name,
  指标具体内涵, rubric descriptors and rule vocabulary (tagging/meaning.py;
  character 2–3-gram TF-IDF over the unit's passages, so common words of this
  unit weigh little), relative to the unit's closest passage;
- the learned text model (when the tagger has one): how much the passage reads
  like passages labelled or confirmed as evidence for N, relative to the
  unit's best.

rank = rules + MEANING_WEIGHT × meaning + TEXT_WEIGHT × text.  Reviewers'
confirmations come first and rejections last (the caller's, review/evidence_rank.py).
`cross_validate_ranking` measures "gold passage in the first five" with the text
model trained only on the other folds' provinces.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from tagging.meaning import indicator_description

MEANING_WEIGHT = 0.5
# Cross-validated by province on the development set, 0.25 and 0.5 rank as well as
# the rules and meaning alone (1.0 worse); it is there so that passages written like
# ones reviewers confirmed rise as confirmations accumulate.
TEXT_WEIGHT = 0.25
TOP_SHOWN = 5


@dataclass
class RankedPassage:
    key: object            # the caller's handle (a passage id)
    score: float
    tagger_score: float
    meaning: float         # 0..1, relative to the best passage of the unit
    reason: str            # Chinese, for the reviewer
    terms: list[str]


def meaning_scores(texts: list[str], no: int, year: int | None = None) -> list[float]:
    """Cosine of each passage with the indicator's description, scaled so the best is 1."""
    if not texts:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer
    from zhtext.chinese import fold
    query = indicator_description(no, year)
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


def text_scores(texts: list[str], no: int, model) -> list[float]:
    """The learned text model's score of each passage for `no`, scaled so the unit's best is 1."""
    if model is None or no not in model.text.nos or not texts:
        return [0.0] * len(texts)
    from tagging.normalize import matching_copy
    raw = model.text.scores([matching_copy(t or "").text for t in texts])[:, model.text.nos.index(no)]
    raw = np.clip(raw, 0.0, None)
    top = float(raw.max())
    return [float(v) / top if top > 0 else 0.0 for v in raw]


def rank_passages(texts: list[str], no: int, *, keys: list | None = None, tagger=None,
                  year: int | None = None, known: dict | None = None,
                  weights: tuple[float, float] = (MEANING_WEIGHT, TEXT_WEIGHT)) -> list[RankedPassage]:
    """All passages ranked for indicator `no`.  `known` maps a key to a stored
    (score, reason) the ingest tagger gave; confirmed/rejected decisions are the
    caller's to apply on top (they outrank any score)."""
    from tagging.tagger import default_tagger
    keys = list(keys) if keys is not None else list(range(len(texts)))
    tagger = tagger or default_tagger(year)
    live = tagger.indicator_passage_scores(texts, no)
    meaning = meaning_scores(texts, no, year)
    learned = text_scores(texts, no, tagger.model) if weights[1] else [0.0] * len(texts)
    known = known or {}
    out = []
    for key, (t_score, terms), m, x in zip(keys, live, meaning, learned):
        stored = known.get(key)
        if stored is not None and stored[0] > t_score:
            t_score = stored[0]
        score = t_score + weights[0] * m + weights[1] * x
        bits = []
        if terms:
            bits.append("命中本指标规则用语" + "、".join(f"“{t}”" for t in terms[:4]))
        if m >= 0.5:
            bits.append(f"与指标内涵用语相近（相似度为本单位最高者的 {m:.0%}）")
        if x >= 0.5:
            bits.append("与已确认为本指标证据的材料写法相近（学习模型）")
        out.append(RankedPassage(key, round(score, 4), round(t_score, 4), round(m, 4),
                                 "；".join(bits) + "。" if bits else "与指标内涵略有相近。", terms))
    out.sort(key=lambda r: -r.score)  # stable: ties keep document order
    return out


# ------------------------------------------------------------ measuring

def _gold_cases(items, group_of) -> dict[str, tuple[list[str], list, list]]:
    """Per group (a province: the unit whose evidence is ranked together): its
    passages, their (document, index) keys, and (indicator, gold passage key)."""
    from tagging.splitting import split_text
    groups: dict[str, tuple[list[str], list, list]] = defaultdict(lambda: ([], [], []))
    for it in items:
        texts, owners, gold = groups[group_of(it)]
        passages = split_text(it.text)
        for i, p in enumerate(passages):
            texts.append(p.text)
            owners.append((it.id, i))
        for no, why in it.why.items():
            at = it.text.find(why)
            idx = next((i for i, p in enumerate(passages) if p.start <= at < p.end), None)
            if at >= 0 and idx is not None:
                gold.append((no, (it.id, idx)))
    return dict(groups)


def cross_validate_ranking(items, group_of=lambda it: it.group or it.id, folds: int = 5, seed: int = 13,
                           weights: tuple[float, float] = (MEANING_WEIGHT, TEXT_WEIGHT), fit=None) -> dict:
    """Share of gold passages ranked in the first five of their group, k-fold by
    group: the learned text model (`fit(training items) → Tagger`) never saw the
    group it ranks.  Without `fit`, the rules and meaning alone."""
    from tagging.tagger import Tagger
    cases = _gold_cases(items, group_of)
    names = sorted(cases)
    random.Random(seed).shuffle(names)
    k = max(2, min(folds, len(names)))
    hit = total = 0
    for f in range(k):
        held = set(names[f::k])
        tagger = fit([it for it in items if group_of(it) not in held]) if fit else Tagger()
        for name in held:
            texts, owners, gold = cases[name]
            for no, key in gold:
                total += 1
                ranked = rank_passages(texts, no, keys=owners, tagger=tagger, weights=weights)
                hit += key in [r.key for r in ranked[:TOP_SHOWN]]
    return {"gold_in_top5": round(hit / total, 3) if total else 0.0, "labels": total, "groups": len(names),
            "folds": k}
