"""How text becomes index terms — one code path for index time and query time.

Two analyses run over every passage. The index keeps, per passage, each
term's *frequency* and no positions: what a text condition means is decided
on the passage's text itself (``index/substring.py``), so positions, which
cost more bytes than the text they describe, are not needed.

* ``words``: rjieba words. At index time the sub-words jieba's search mode
  finds inside a long word are counted too, so "队伍" finds a passage
  segmented as "队伍建设改革". Query time never adds sub-words. Used for
  relevance (whole-word matches rank first) and similar passages.
* ``grams``: every CJK character and every bigram inside a CJK run, so any
  CJK substring's bigrams (and a single character's unigram) select the
  passages that may contain it. Runs of letters/digits are one lower-cased
  token each.

Both fold text first (width + traditional→simplified, length preserving), so
traditional and simplified spellings meet in the same terms.
"""
from __future__ import annotations

import functools
import hashlib
import operator
import re
from collections import Counter

import numpy as np

from zhtext.chinese import default_segmenter, fold

# Bumped whenever the analysis below changes in a way that changes terms.
ANALYZER_VERSION = "kaoping-analysis-4"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9A-Za-z\u00c0-\u024f]+")
_CJK_RUNS = re.compile(rf"[{_CJK}]+")
_WORD_RUNS = re.compile(r"[0-9A-Za-z\u00c0-\u024f]+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_WORDLIKE = re.compile(rf"[{_CJK}0-9A-Za-z\u00c0-\u024f]")


def fast_fold(text: str) -> str:
    """Exactly ``fold(text)``. Indexing folds a passage's text three times
    (grams, words, verification form) among its short fields: the last
    results are remembered for the same objects (identity, not equality: no
    hashing of long texts)."""
    recent = _RECENT_FOLDS[0]
    for original, folded in recent:
        if original is text:
            return folded
    folded = fold(text)
    _RECENT_FOLDS[0] = ((text, folded),) + recent[:3]  # one tuple: threads see a consistent list
    return folded


_RECENT_FOLDS: list[tuple] = [()]


def is_cjk(ch: str) -> bool:
    return bool(_CJK_CHAR.match(ch))


def dictionary_fingerprint() -> str:
    """Hash of analyzer version + the dictionary *this process segments with*.

    Taken from the loaded segmenter, not the YAML file, so an edit to the
    vocabulary while a process runs cannot make it stamp an index with a
    dictionary it did not use.
    """
    words = tuple(default_segmenter().words)
    return _fingerprint(words)


@functools.lru_cache(maxsize=4)
def _fingerprint(words: tuple[str, ...]) -> str:
    digest = hashlib.sha256(ANALYZER_VERSION.encode())
    for word in words:
        digest.update(b"\0" + word.encode())
    return f"{ANALYZER_VERSION}+{digest.hexdigest()[:16]}"


# ---------------------------------------------------------------- grams

def gram_tokens(text: str, *, trailing_unigram_last_run: bool = True) -> list[tuple[str, int, int]]:
    """(term, start, end) for the bigram field; position = list index.

    ``trailing_unigram_last_run=False`` is for queries: the query's last run
    may continue in the document ("产改" inside "产改字"), so its closing
    unigram must not be required.
    """
    folded = fast_fold(text)
    out: list[tuple[str, int, int]] = []
    runs = list(_RUN.finditer(folded))
    for n, match in enumerate(runs):
        run, base = match.group(), match.start()
        if not is_cjk(run[0]):
            out.append((run.lower(), base, match.end()))
            continue
        for i in range(len(run) - 1):
            out.append((run[i:i + 2], base + i, base + i + 2))
        last = n == len(runs) - 1
        if len(run) == 1 or trailing_unigram_last_run or not last:
            out.append((run[-1], match.end() - 1, match.end()))
    return out


# A CJK gram as one integer: its first code point shifted left, plus the second
# (0 for a single character). Code points fit in 21 bits, and the integers sort
# as the grams do (a character before the bigrams it starts).
GRAM_SHIFT = 21
_EMPTY_KEYS = np.zeros(0, dtype=np.int64)


def index_gram_keys(text: str) -> tuple[np.ndarray, np.ndarray, Counter]:
    """Index-time grams with their frequencies: each CJK character and each
    bigram inside a CJK run as (sorted gram keys, counts), and {run: count}
    of the letter/digit runs (lower-cased).

    Computed with numpy on the code points of the CJK runs joined by NUL
    (pairs touching a NUL dropped): no Python work per character, which was
    most of indexing.
    """
    folded = fast_fold(text)
    words = Counter(run.lower() for run in _WORD_RUNS.findall(folded))
    joined = "\0".join(_CJK_RUNS.findall(folded))
    if not joined:
        return _EMPTY_KEYS, _EMPTY_KEYS, words
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    chars = points[points != 0] << GRAM_SHIFT
    first, second = points[:-1], points[1:]
    pairs = ((first << GRAM_SHIFT) | second)[(first != 0) & (second != 0)]
    keys, counts = np.unique(np.concatenate([chars, pairs]), return_counts=True)
    return keys, counts, words


def gram_text(key: int) -> str:
    """The gram an ``index_gram_keys`` key stands for."""
    second = key & ((1 << GRAM_SHIFT) - 1)
    return chr(key >> GRAM_SHIFT) + chr(second) if second else chr(key >> GRAM_SHIFT)


def index_gram_counts(text: str) -> dict[str, int]:
    """The terms of ``index_gram_keys`` as {term: frequency}, counted with
    ``Counter`` (in C): for a short text (a title) numpy's calls cost more."""
    folded = fast_fold(text)
    counts = Counter(run.lower() for run in _WORD_RUNS.findall(folded))
    for run in _CJK_RUNS.findall(folded):
        counts.update(run)
        counts.update(map(operator.add, run, run[1:]))
    return counts


# ---------------------------------------------------------------- words

def _is_wordlike(word: str) -> bool:
    return bool(_WORDLIKE.search(word))


def word_tokens(text: str) -> list[tuple[str, int, int]]:
    """Query-time words: (word, start, end), position = list index."""
    folded = fast_fold(text)
    return [(w.lower(), s, e) for w, s, e in default_segmenter().tokenize(folded) if _is_wordlike(w)]


def index_word_counts(text: str) -> dict[str, int]:
    """Index-time words with their frequencies: every word of the ordinary
    cut, plus, for each occurrence of a long word, the sub-words search mode
    finds inside it."""
    folded = fast_fold(text)
    seg = default_segmenter()
    cache = _subword_cache(seg)
    counts = Counter(seg.cut_all_tokens(folded))
    # Most tokens start with a common CJK character: a word, with no case. The
    # others (punctuation, spaces, letters, rarer CJK) are looked at one by one.
    for w in [w for w in counts if not "\u4e00" <= w[0] <= "\u9fff"]:
        n = counts.pop(w)
        if _is_wordlike(w):
            counts[w.lower()] += n
    unknown = []
    for w, n in [(w, n) for w, n in counts.items()
                 if len(w) >= 3 and ("\u4e00" <= w[0] <= "\u9fff" or _CJK_CHAR.match(w))]:
        subs = cache.get(w)
        if subs is None:
            unknown.append((w, n))
        else:
            for sub in subs:
                counts[sub] += n
    if unknown:
        _learn_subwords(cache, seg, [w for w, _ in unknown], folded)
        for w, n in unknown:
            for sub in cache[w]:
                counts[sub] += n
    return counts


# Search mode adds, inside each word of the ordinary cut, the dictionary words
# of two and three characters: what it adds depends on the word alone. So the
# sub-words of a long word are learnt once, from the word alone, and reused,
# which spares a second segmentation of every passage.
_SUBWORDS: dict[str, list[str]] = {}
_SUBWORDS_OWNER: list = [None]
_SUBWORDS_MAX = 200_000


def _subword_cache(seg) -> dict[str, list[str]]:
    if _SUBWORDS_OWNER[0] is not seg or len(_SUBWORDS) > _SUBWORDS_MAX:
        _SUBWORDS.clear()  # another dictionary splits differently
        _SUBWORDS_OWNER[0] = seg
    return _SUBWORDS


def _learn_subwords(cache, seg, words: list[str], folded: str) -> None:
    """Sub-words of ``words`` (long words of the ordinary cut of ``folded``).

    Search mode runs on the words alone, one a line: each is a word of its
    own line's cut when the line is cut as that one word, which is the usual
    case; a word cut differently alone is learnt from its place in ``folded``.
    """
    joined = "\n".join(words)
    spans, pos = [], 0
    for w in words:
        spans.append((pos, pos + len(w)))
        pos += len(w) + 1
    learnt = _subwords_inside(seg.tokenize_for_search(joined), spans)
    in_context = [w for w, span in zip(words, spans) if span not in learnt]
    for w, span in zip(words, spans):
        if span in learnt:
            cache.setdefault(w, learnt[span])
    if in_context:
        wanted = set(in_context)
        context, pos = [], 0
        for w in seg.cut_all_tokens(folded):
            if w in wanted:
                context.append((pos, pos + len(w)))
            pos += len(w)
        for (s, e), subs in _subwords_inside(seg.tokenize_for_search(folded), context).items():
            cache.setdefault(folded[s:e], subs)


def _subwords_inside(tokens, spans: list[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
    """{span: the search-mode words strictly inside it} for each span that is
    itself a search-mode token (a word of the ordinary cut); spans ascend."""
    found: dict[tuple[int, int], list[str]] = {}
    inside: dict[tuple[int, int], list[str]] = {span: [] for span in spans}
    ordered = iter(spans)
    current = next(ordered, None)
    for w, s, e in tokens:
        while current is not None and s >= current[1]:
            current = next(ordered, None)
        if current is None:
            break
        if (s, e) == current:
            found[current] = inside[current]
        elif s >= current[0] and e <= current[1] and _is_wordlike(w):
            inside[current].append(w.lower())
    return found
