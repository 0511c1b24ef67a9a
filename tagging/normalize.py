"""A matching copy of a text, with a map back to the original offsets.

Rules are written against clean Chinese; scraped and extracted documents are
not clean: stray spaces or line breaks between characters (PDF wrapping, OCR),
HTML remnants, pinyin glosses in brackets.  We delete that noise from a copy and
remember, for every kept character, where it came from, so a hit found in the
copy is reported at its true place in the original.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from zhtext.chinese import fold

# A tag has an ASCII name right after "<" (or "</", "<!"): ‹…› and ＜…＞ around a Chinese title
# (＜ folds to "<") are book-title marks whose words count, not markup.
_HTML_NOISE = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9:-]{0,20}(?:[\s/][^<>\n]{0,200})?|!--[^<>\n]{0,200}--|![A-Za-z][^<>\n]{0,200})>"
                         r"|&(?:nbsp|amp|lt|gt|quot|ldquo|rdquo|mdash|hellip|#\d{2,5});")
# A pinyin gloss after Chinese text: （chǎn gǎi） or (chan gai).  Only letters,
# tone marks and spaces inside, so real parentheticals like (2023) survive.
# Junk a bad converter leaves between characters: brackets holding only a symbol
# or emoji, as in 进(🅾)入.
_SYMBOL_IN_BRACKETS = re.compile(r"[（(][^\w%（）()\n]{1,4}[)）]")
# Anonymisation marks (XX市、**同志、○○公司) stand for one name: the copy reads
# them as "某", so "XX市委书记" and "某市委书记" match alike and no rule sees "XX".
_ANONYMISED = re.compile(r"(?<![A-Za-z])(?:[Xx×]{2,}|\*{2,}|[○〇]{2,})(?![A-Za-z])")
_PINYIN_GLOSS = re.compile(r"(?<=[\u4e00-\u9fff])[（(]\s*[a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü][a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü\s'’-]{0,60}[)）]")


def _is_cjk_side(ch: str) -> bool:
    """Characters between which whitespace is never meaningful in Chinese text."""
    if not ch:  # text edge: no neighbour
        return False
    code = ord(ch)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x3000 <= code <= 0x303F
            or 0xFF00 <= code <= 0xFFEF or ch in "“”‘’《》（）—…·")


@dataclass(frozen=True)
class MatchingCopy:
    text: str           # folded, noise removed: what the rules see
    origin: list[int]   # origin[i] = offset in the original of text[i]

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        if not self.origin or start >= end:
            return (0, 0)
        return self.origin[start], self.origin[end - 1] + 1


_ANY_NOISE = re.compile(r"[\s<&（(Xx×*○〇]")


_SPACES = re.compile(r"\s+")  # \s is str.isspace()


def matching_copy(original: str) -> MatchingCopy:
    folded = fold(original)  # same length, so offsets still line up
    if not _ANY_NOISE.search(folded):
        return MatchingCopy(folded, list(range(len(folded))))  # clean text: nothing to remove
    n = len(folded)
    drop = bytearray(n)
    for pattern in (_HTML_NOISE, _PINYIN_GLOSS, _SYMBOL_IN_BRACKETS):
        for m in pattern.finditer(folded):
            drop[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    stand_ins: list[int] = []
    for m in _ANONYMISED.finditer(folded):
        if not any(drop[m.start():m.end()]):
            stand_ins.append(m.start())
            drop[m.start() + 1:m.end()] = b"\x01" * (m.end() - m.start() - 1)
    space = bytearray(n)
    for m in _SPACES.finditer(folded):
        space[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    # Whitespace runs: delete them when either neighbour is Chinese; otherwise
    # keep one space (English words must stay apart). A run starts at a kept
    # whitespace character and goes on over whitespace and noise, so it is the
    # rest of a stretch of such characters (found with numpy, a stretch at a
    # time: the character loop this replaces was most of ranking a unit).
    dropped = np.frombuffer(bytes(drop), dtype=np.uint8).astype(bool)
    spaces = np.frombuffer(bytes(space), dtype=np.uint8).astype(bool)
    stretch = np.concatenate(([False], spaces | dropped, [False]))
    edges = np.flatnonzero(stretch[1:] != stretch[:-1])
    for s, j in zip(edges[::2].tolist(), edges[1::2].tolist()):
        starts = np.flatnonzero(spaces[s:j] & ~dropped[s:j])
        if not len(starts):
            continue  # noise only
        i = s + int(starts[0])
        left = folded[s - 1] if s > 0 else ""  # what precedes i in the stretch is noise
        right = folded[j] if j < n else ""
        keep_one = not (_is_cjk_side(left) or _is_cjk_side(right)) and left and right
        dropped[i:j] |= spaces[i:j]
        if keep_one:
            dropped[i] = False
    points = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).copy()
    points[spaces] = ord(" ")
    points[stand_ins] = ord("某")
    kept = np.flatnonzero(~dropped)
    return MatchingCopy(points[kept].tobytes().decode("utf-32-le", "surrogatepass"), kept.tolist())
