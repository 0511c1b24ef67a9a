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

import hashlib
import math
import random
import re
import threading
from collections import OrderedDict, defaultdict
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
    """Cosine of each passage with the indicator's description, scaled so the best is 1
    (character 2–3-gram TF-IDF fitted on the passages and the description: UnitTexts.meaning)."""
    if not texts:
        return []
    query = indicator_description(no, year)
    if not query.strip():
        return [0.0] * len(texts)
    return unit_texts(texts).meaning(query)


def text_scores(texts: list[str], no: int, model) -> list[float]:
    """The learned text model's score of each passage for `no`, scaled so the unit's best is 1.
    The model scores every indicator at once, so that matrix is made once per unit and model
    (``UnitTexts.model_scores``): per indicator it was nine tenths of opening a scoring screen."""
    if model is None or no not in model.text.nos or not texts:
        return [0.0] * len(texts)
    raw = unit_texts(texts).model_scores(model)[:, model.text.nos.index(no)]
    raw = np.clip(raw, 0.0, None)
    top = float(raw.max())
    return [float(v) / top if top > 0 else 0.0 for v in raw]


def rank_passages(texts: list[str], no: int, *, keys: list | None = None, tagger=None,
                  year: int | None = None, known: dict | None = None,
                  weights: tuple[float, float] = (MEANING_WEIGHT, TEXT_WEIGHT)) -> list[RankedPassage]:
    """All passages ranked for indicator `no`.  `known` maps a key to a stored
    (score, reason) the ingest tagger gave; confirmed/rejected decisions are the
    caller's to apply on top (they outrank any score).

    Remembered for the same texts, keys, indicator, tagger, weights and stored
    scores (``_RANKED``): a scoring screen is opened again and again. The result
    is shared: callers make their own lists from it."""
    from tagging.tagger import default_tagger
    keys = list(keys) if keys is not None else list(range(len(texts)))
    tagger = tagger or default_tagger(year)
    known = known or {}
    unit = unit_texts(texts)
    memo = (unit.digest, tuple(keys), no, year, tagger, tuple(weights), frozenset(known.items()))
    return _once(_RANKED, memo, lambda: _rank(unit, no, keys, tagger, year, known, weights),
                 lambda kept: len(kept) > RANKED_KEPT)


def _rank(unit: "UnitTexts", no, keys, tagger, year, known, weights) -> list[RankedPassage]:
    live = tagger.indicator_passage_scores(unit.texts, no, copies=unit.copies)
    meaning = meaning_scores(unit.texts, no, year)
    learned = text_scores(unit.texts, no, tagger.model) if weights[1] else [0.0] * len(unit.texts)
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


# ── a unit's texts, prepared once for every indicator ────────────────────────
# Ranking for one indicator used to fit a TF-IDF model on all the unit's passages
# and re-fold every passage for the rules: ~1 s of CPU for 200 passages, on every
# opening of a scoring screen. What does not depend on the indicator is computed
# once per set of texts (by content) and kept; an indicator then costs a sparse
# product over its description's n-grams.

RANKED_KEPT = 2048               # (texts, indicator) rankings remembered
UNIT_TEXTS_BYTES = 256 * 2 ** 20  # prepared units' texts remembered, by their estimated size
MODEL_SCORES_KEPT = 256          # units' learned-model score matrices remembered
_RANKED: OrderedDict = OrderedDict()
_MODEL_SCORES: OrderedDict = OrderedDict()
_UNIT_TEXTS: OrderedDict = OrderedDict()
_LOCK = threading.Lock()
_COMPUTING: dict = {}            # key -> Event: computed by one thread, awaited by the others


def unit_texts(texts: list[str]) -> "UnitTexts":
    digest = _digest(texts)
    return _once(_UNIT_TEXTS, digest, lambda: UnitTexts(texts, digest),
                 lambda kept: sum(u.nbytes for u in kept.values()) > UNIT_TEXTS_BYTES)


def _once(memo: OrderedDict, key, compute, too_many):
    """``memo[key]``, computed by one thread only: when fifty reviewers open
    screens of one unit at the same moment, the others wait for the first
    instead of all doing the same second of work at once."""
    while True:
        with _LOCK:
            found = memo.get(key)
            if found is not None:
                memo.move_to_end(key)
                return found
            waiting = _COMPUTING.get(key)
            if waiting is None:
                _COMPUTING[key] = threading.Event()
                break
        waiting.wait()  # then look again (if the computing thread failed, compute here)
    try:
        value = compute()
        with _LOCK:
            memo[key] = value
            while len(memo) > 1 and too_many(memo):
                memo.popitem(last=False)
        return value
    finally:
        with _LOCK:
            _COMPUTING.pop(key).set()


def _digest(texts) -> bytes:
    """The texts' content key; remembered for the last tuples seen (by identity:
    the caller keeps a unit's texts in one tuple, and hashing them is not free)."""
    recent = _RECENT_DIGESTS[0]
    for seen, digest in recent:
        if seen is texts:
            return digest
    digest = _content_digest(texts)
    if isinstance(texts, tuple):  # immutable: the digest stays right for this object
        _RECENT_DIGESTS[0] = ((texts, digest),) + recent[:63]
    return digest


_RECENT_DIGESTS: list[tuple] = [()]


def _content_digest(texts) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for text in texts:
        data = (text or "").encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.digest()


class UnitTexts:
    """A unit's passages ready for ranking: their matching copies (for the
    rules) and the TF-IDF of their character 2–3-grams, kept apart from any
    indicator's description.

    ``meaning`` gives exactly what ``TfidfVectorizer(analyzer="char",
    ngram_range=(2, 3), sublinear_tf=True, preprocessor=fold)`` fitted on the
    passages plus the description gives (tests/test_evidence_rank.py compares
    them): with n documents, idf = ln((1 + n) / (1 + df)) + 1, where the
    description adds one document and one to the df of its own n-grams, and
    rows are l2-normalised. Only those n-grams' idf changes with the
    description, so each passage's squared norm is its description-free part
    (computed here) plus a correction over them. The n-grams are counted as
    integers with numpy (``char_grams``), not as strings one by one.
    """

    def __init__(self, texts: list[str], digest: bytes):
        from scipy.sparse import csc_matrix

        from tagging.normalize import matching_copy
        self.texts, self.digest = list(texts), digest
        self.copies = [matching_copy(t or "") for t in self.texts]
        grams = [char_grams(t) for t in self.texts]
        keys = np.concatenate([k for k, _ in grams]) if grams else np.zeros(0, dtype=np.int64)
        n = len(self.texts) + 1  # the description is one more document
        self.log_n = math.log(1 + n)
        self.vocabulary = np.unique(keys)
        if not len(self.vocabulary):  # no n-gram at all (texts of punctuation)
            self.tf, self.df, self.base = None, np.zeros(0), np.zeros(len(self.texts))
        else:
            cols = np.searchsorted(self.vocabulary, keys)
            rows = np.repeat(np.arange(len(grams)), [len(k) for k, _ in grams])
            counts = np.concatenate([c for _, c in grams]).astype(np.float64)
            self.tf = csc_matrix((1 + np.log(counts), (rows, cols)),  # sublinear tf
                                 shape=(len(self.texts), len(self.vocabulary)))
            self.df = np.bincount(cols, minlength=len(self.vocabulary)).astype(np.float64)
            idf = self.log_n - np.log(1 + self.df) + 1
            self.base = self.tf.multiply(self.tf) @ (idf * idf)
        # texts, matching copies (a list of offsets per character), the matrix
        self.nbytes = 48 * sum(len(t or "") for t in self.texts)

    def model_scores(self, model) -> np.ndarray:
        """passage × indicator scores of the learned text model (``model.text.scores`` on the
        matching copies), made once per model: one thread computes, the others wait."""
        # keyed by the model's identity (it is not hashable); the value holds the model, so
        # no other object can take its id while the entry is kept
        return _once(_MODEL_SCORES, (self.digest, id(model)),
                     lambda: (model, model.text.scores([c.text for c in self.copies])),
                     lambda kept: len(kept) > MODEL_SCORES_KEPT)[1]

    def meaning(self, query: str) -> list[float]:
        keys, counts = char_grams(query)
        if not len(keys) or self.tf is None:
            return [0.0] * len(self.texts)
        where = np.searchsorted(self.vocabulary, keys)
        found = where < len(self.vocabulary)
        found[found] = self.vocabulary[where[found]] == keys[found]
        idf_alone = self.log_n - math.log(2) + 1  # an n-gram of the description only
        q_out = (1 + np.log(counts[~found].astype(np.float64))) * idf_alone
        if not found.any():
            return [0.0] * len(self.texts)
        cols = where[found]
        df = self.df[cols]
        idf_before = self.log_n - np.log(1 + df) + 1
        idf = self.log_n - np.log(2 + df) + 1
        q_in = (1 + np.log(counts[found].astype(np.float64))) * idf
        norm_q = math.sqrt(float(q_in @ q_in) + float(q_out @ q_out))
        part = self.tf[:, cols]
        dots = part @ (q_in * idf)
        norms = np.sqrt(self.base + part.multiply(part) @ (idf * idf - idf_before * idf_before))
        with np.errstate(divide="ignore", invalid="ignore"):
            sims = np.where(norms > 0, dots / (norms * norm_q), 0.0)
        top = float(sims.max()) if len(sims) else 0.0
        return [float(s) / top if top > 0 else 0.0 for s in sims]


_WHITE_SPACES = re.compile(r"\s\s+")  # as scikit-learn's character analyzer


def char_grams(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The character 2- and 3-grams of scikit-learn's ``analyzer="char"`` with
    ``preprocessor=fold`` (runs of whitespace made one space), as sorted
    integer keys and counts: code points + 1 in 21-bit fields, so a bigram's
    key is below every trigram's."""
    from zhtext.chinese import fold
    doc = _WHITE_SPACES.sub(" ", fold(text or ""))
    if len(doc) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    points = np.frombuffer(doc.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64) + 1
    pairs = (points[:-1] << 21) | points[1:]
    triples = (points[:-2] << 42) | (points[1:-1] << 21) | points[2:]
    return np.unique(np.concatenate([pairs, triples]), return_counts=True)
