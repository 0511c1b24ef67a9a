"""Chinese text tools shared by ingest, tagging and search.

One place decides how text is folded (width, traditional → simplified) and
segmented, so that what the tagger matches and what the index stores are
analysed the same way. Folding never changes a string's length, so character
offsets computed on the folded form are valid in the original text.
"""
from __future__ import annotations

import functools
import re
import threading
import unicodedata
from pathlib import Path

import opencc
import rjieba
import yaml

RUBRICS_DIR = Path(__file__).resolve().parent.parent / "rubrics"

_t2s_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


# Full-width ASCII letters/digits/punctuation that carry no Chinese meaning are
# folded to half width; Chinese punctuation (，。、；：“”（）《》〔〕) stays, because
# 文号 and quotations depend on it.
_KEEP_FULLWIDTH = set("，。、；：？！“”‘’（）《》〈〉【】〔〕［］｛｝…—～·")


_WIDTH_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in _KEEP_FULLWIDTH}
_WIDTH_TABLE[0x3000] = ord(" ")
_ANY_WIDE = re.compile("[" + re.escape("".join(map(chr, _WIDTH_TABLE))) + "]")


def fold_width(text: str) -> str:
    # in C: a regex finds whether anything is to fold (most text has nothing),
    # str.translate folds; a character loop in Python was most of folding's time
    return text.translate(_WIDTH_TABLE) if _ANY_WIDE.search(text) else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """Each lone surrogate as U+FFFD, same length: a PDF's ToUnicode map decoded with
    `surrogatepass` can leave one, and OpenCC, rjieba and UTF-8 storage refuse them."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def repair_surrogates(text: str) -> str:
    """Join surrogate pairs into their character and replace lone ones with U+FFFD.
    Changes the length, so only for text before offsets are taken (extraction)."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def to_simplified(text: str) -> str:
    """Traditional → simplified, character for character.

    OpenCC's t2s may map a phrase to a phrase of a different length; where it
    does we fall back to per-character conversion so offsets stay aligned.
    """
    if not text:
        return text
    text = without_surrogates(text)
    with _t2s_lock:
        converted = _t2s().convert(text)
        if len(converted) == len(text):
            return converted
        return "".join(
            c if len(c) == 1 else ch
            for ch, c in ((ch, _t2s().convert(ch)) for ch in text)
        )


def fold(text: str) -> str:
    """The search/tagging form of a text: same length, same offsets."""
    return to_simplified(fold_width(text))


def nfkc_fold(text: str) -> str:
    """A stronger, length-changing normalisation for comparisons only."""
    return to_simplified(unicodedata.normalize("NFKC", text))


def domain_words() -> list[str]:
    """Words the segmenter must keep whole: indicator names and tagging terms."""
    words: set[str] = set()
    vocab = RUBRICS_DIR / "vocabulary.yaml"
    if vocab.exists():
        data = yaml.safe_load(vocab.read_text(encoding="utf-8")) or {}
        words.update(str(w) for w in data.get("common", []) or [])
        for spec in (data.get("indicators") or {}).values():
            if not isinstance(spec, dict):
                continue
            for key in ("terms", "strong", "weak"):
                for w in spec.get(key) or []:
                    if isinstance(w, str):
                        words.add(w)
            for k, v in (spec.get("synonyms") or {}).items():
                words.add(str(k))
                words.update(str(x) for x in (v if isinstance(v, list) else [v]))
    # Rule entries may be regular expressions; only plain words belong in the segmenter's dictionary.
    regex_chars = set("()[]{}.*+?|\\^$")
    return sorted(w for w in words if 2 <= len(w) <= 12 and not any(c.isspace() or c in regex_chars for c in w))


class Segmenter:
    """rjieba with the domain dictionary loaded once per process."""

    def __init__(self, extra_words: list[str] | None = None):
        self._jieba = rjieba.Jieba()
        self.words = domain_words() + list(extra_words or [])
        for word in self.words:
            self._jieba.add_word(word, 20000, None)
        self._lock = threading.Lock()

    def tokenize(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) in character offsets, whitespace dropped."""
        text = without_surrogates(text)
        with self._lock:
            toks = self._jieba.tokenize(text, "default", True)
        return [t for t in toks if not t[0].isspace()]

    def tokenize_for_search(self, text: str) -> list[tuple[str, int, int]]:
        text = without_surrogates(text)
        with self._lock:
            toks = self._jieba.tokenize(text, "search", True)
        return [t for t in toks if not t[0].isspace()]

    def cut(self, text: str) -> list[str]:
        return [w for w, _, _ in self.tokenize(text)]

    def cut_all_tokens(self, text: str) -> list[str]:
        """Every token of the ordinary cut, whitespace included: they concatenate
        back to ``text`` (no offsets built: the index only counts words)."""
        with self._lock:
            return self._jieba.cut(text, True)


@functools.lru_cache(maxsize=1)
def default_segmenter() -> Segmenter:
    return Segmenter()
