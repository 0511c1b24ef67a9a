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


def matching_copy(original: str) -> MatchingCopy:
    folded = fold(original)  # same length, so offsets still line up
    if not _ANY_NOISE.search(folded):
        return MatchingCopy(folded, list(range(len(folded))))  # clean text: nothing to remove
    drop = bytearray(len(folded))
    for pattern in (_HTML_NOISE, _PINYIN_GLOSS, _SYMBOL_IN_BRACKETS):
        for m in pattern.finditer(folded):
            drop[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    stand_ins: dict[int, str] = {}
    for m in _ANONYMISED.finditer(folded):
        if not any(drop[m.start():m.end()]):
            stand_ins[m.start()] = "某"
            drop[m.start() + 1:m.end()] = b"\x01" * (m.end() - m.start() - 1)
    # Whitespace runs: delete them when either neighbour is Chinese; otherwise
    # keep one space (English words must stay apart).
    i, n = 0, len(folded)
    while i < n:
        if folded[i].isspace() and not drop[i]:
            j = i
            while j < n and (folded[j].isspace() or drop[j]):
                j += 1
            left = next((folded[k] for k in range(i - 1, -1, -1) if not drop[k]), "")
            right = folded[j] if j < n else ""
            keep_one = not (_is_cjk_side(left) or _is_cjk_side(right)) and left and right
            for k in range(i, j):
                if folded[k].isspace():
                    drop[k] = 1
            if keep_one:
                drop[i] = 0
            i = j
        else:
            i += 1
    origin = [k for k, flag in enumerate(drop) if not flag]
    text = "".join(stand_ins.get(k) or (" " if folded[k].isspace() else folded[k]) for k in origin)
    return MatchingCopy(text, origin)
