"""How text becomes index terms — one code path for index time and query time.

Two analyses run over every passage:

* ``words``: rjieba words with *sequential* positions (token i has position i),
  so a phrase of words is a phrase of positions. At index time the sub-words
  jieba's search mode finds inside a long word are added at the long word's
  position, so "队伍" finds a passage segmented as "队伍建设改革" while the
  phrase "队伍建设改革" still lines up. Query time never adds sub-words.
* ``grams``: one position per CJK character; at each position the bigram
  starting there (if the run continues) and, at index time, the character
  itself. Consecutive bigrams at consecutive positions make any CJK substring
  an exact phrase query; a single character is one unigram term (a prefix
  query over bigrams read ~100 posting lists). Runs of letters/digits are one
  lower-cased token each.

Both fold text first (width + traditional→simplified, length preserving), so
traditional and simplified spellings meet in the same terms.
"""
from __future__ import annotations

import functools
import hashlib
import re

from whoosh.analysis import Token, Tokenizer

from zhtext.chinese import default_segmenter, fold, fold_width, to_simplified

# Bumped whenever the analysis below changes in a way that changes terms.
ANALYZER_VERSION = "kaoping-analysis-4"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9A-Za-z\u00c0-\u024f]+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_WORDLIKE = re.compile(rf"[{_CJK}0-9A-Za-z\u00c0-\u024f]")


# The characters fold_width would change (Chinese punctuation such as ，（） is
# kept by it, so it must not send text down the slow path).
_NEEDS_WIDTH_FOLD = re.compile("[" + re.escape("".join(
    ch for ch in map(chr, [*range(0xFF01, 0xFF5F), 0x3000]) if fold_width(ch) != ch)) + "]")


def fast_fold(text: str) -> str:
    """Exactly ``fold(text)``, skipping its per-character width pass when no
    full-width character is present (most text; that pass is pure Python)."""
    return fold(text) if _NEEDS_WIDTH_FOLD.search(text) else to_simplified(text)


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


def index_gram_terms(text: str) -> list[tuple[str, int]]:
    """Index-time (term, position): bigram and unigram share the position
    of the character they start at, so query-time phrases (``gram_tokens``
    with consecutive positions) line up exactly."""
    folded = fast_fold(text)
    out: list[tuple[str, int]] = []
    pos = 0
    for match in _RUN.finditer(folded):
        run = match.group()
        if not is_cjk(run[0]):
            out.append((run.lower(), pos))
            pos += 1
            continue
        last = len(run) - 1
        for i, ch in enumerate(run):
            if i < last:
                out.append((run[i:i + 2], pos))
            out.append((ch, pos))
            pos += 1
    return out


def index_gram_positions(text: str) -> dict[str, list[int]]:
    """``index_gram_terms`` grouped by term (positions ascending): what the
    index stores, built without the intermediate list of pairs."""
    folded = fast_fold(text)
    poses: dict[str, list[int]] = {}
    get = poses.get
    pos = 0
    for match in _RUN.finditer(folded):
        run = match.group()
        if not is_cjk(run[0]):
            term = run.lower()
            found = get(term)
            if found is None:
                poses[term] = [pos]
            else:
                found.append(pos)
            pos += 1
            continue
        last = len(run) - 1
        for i, ch in enumerate(run):
            if i < last:
                term = run[i:i + 2]
                found = get(term)
                if found is None:
                    poses[term] = [pos]
                else:
                    found.append(pos)
            found = get(ch)
            if found is None:
                poses[ch] = [pos]
            else:
                found.append(pos)
            pos += 1
    return poses


# ---------------------------------------------------------------- words

def _is_wordlike(word: str) -> bool:
    return bool(_WORDLIKE.search(word))


def word_tokens(text: str) -> list[tuple[str, int, int]]:
    """Query-time words: (word, start, end), position = list index."""
    folded = fast_fold(text)
    return [(w.lower(), s, e) for w, s, e in default_segmenter().tokenize(folded) if _is_wordlike(w)]


def index_word_tokens(text: str) -> list[tuple[str, int, int, int]]:
    """Index-time words with sub-words: (word, position, start, end)."""
    folded = fast_fold(text)
    seg = default_segmenter()
    words = [(w.lower(), s, e) for w, s, e in seg.tokenize(folded) if _is_wordlike(w)]
    out: list[tuple[str, int, int, int]] = []
    long_spans: list[tuple[int, int, int]] = []  # (start, end, position) of words worth splitting
    for pos, (w, s, e) in enumerate(words):
        out.append((w, pos, s, e))
        if e - s >= 3 and is_cjk(w[0]):
            long_spans.append((s, e, pos))
    if long_spans:
        cache = _subword_cache(seg)
        if any(folded[s:e] not in cache for s, e, _ in long_spans):
            _learn_subwords(cache, seg, folded, long_spans)
        for s, e, pos in long_spans:
            for w, a, b in cache[folded[s:e]]:
                out.append((w, pos, s + a, s + b))
        out.sort(key=lambda t: t[1])  # position lists must ascend for delta encoding
    return out


# Search mode adds, inside each word of the ordinary cut, the dictionary words
# of two and three characters: what it adds depends on the word alone. So the
# sub-words of a long word are learnt from its first occurrence in context and
# reused, which spares a second segmentation of most passages.
_SUBWORDS: dict[str, list[tuple[str, int, int]]] = {}
_SUBWORDS_OWNER: list = [None]
_SUBWORDS_MAX = 200_000


def _subword_cache(seg) -> dict[str, list[tuple[str, int, int]]]:
    if _SUBWORDS_OWNER[0] is not seg or len(_SUBWORDS) > _SUBWORDS_MAX:
        _SUBWORDS.clear()  # another dictionary splits differently
        _SUBWORDS_OWNER[0] = seg
    return _SUBWORDS


def _learn_subwords(cache, seg, folded: str, long_spans) -> None:
    found: dict[tuple[int, int], list] = {(s, e): [] for s, e, _ in long_spans}
    spans = iter(long_spans)
    current = next(spans)
    for w, s, e in seg.tokenize_for_search(folded):
        while current is not None and s >= current[1]:
            current = next(spans, None)
        if current is None:
            break
        start, end = current[0], current[1]
        if s >= start and e <= end and (s, e) != (start, end) and _is_wordlike(w):
            found[(start, end)].append((w.lower(), s - start, e - start))
    for (s, e), subs in found.items():
        cache.setdefault(folded[s:e], subs)


# ---------------------------------------------------------------- whoosh glue

class _BaseTokenizer(Tokenizer):
    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __hash__(self):
        return hash(self.__class__.__name__)

    def _emit(self, items, positions, chars, start_pos, start_char, **kwargs):
        t = Token(positions, chars, removestops=False, mode=kwargs.get("mode", ""))
        for text, pos, s, e in items:
            t.text = t.original = text
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + s, start_char + e
            yield t


class WordTokenizer(_BaseTokenizer):
    """Segmented words; sub-words of long words only at index time."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        if mode == "query":
            items = [(w, i, s, e) for i, (w, s, e) in enumerate(word_tokens(value))]
        else:
            items = index_word_tokens(value)
        return self._emit(items, positions, chars, start_pos, start_char, mode=mode)


class BigramTokenizer(_BaseTokenizer):
    """CJK bigrams (+ unigrams at index time); letter/digit runs whole."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        if mode != "query":
            items = [(g, pos, 0, 0) for g, pos in index_gram_terms(value)]
            return self._emit(items, positions, False, start_pos, start_char, mode=mode)
        items = [(g, i, s, e) for i, (g, s, e) in enumerate(
            gram_tokens(value, trailing_unigram_last_run=False))]
        return self._emit(items, positions, chars, start_pos, start_char, mode=mode)


def word_analyzer() -> WordTokenizer:
    return WordTokenizer()


def bigram_analyzer() -> BigramTokenizer:
    return BigramTokenizer()
