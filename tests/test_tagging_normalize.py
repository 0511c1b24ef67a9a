"""The matching copy equals its character-by-character definition, for any text."""
from __future__ import annotations

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tagging.normalize import _ANONYMISED, _HTML_NOISE, _PINYIN_GLOSS, _SYMBOL_IN_BRACKETS, _is_cjk_side, matching_copy
from zhtext.chinese import fold


def reference_copy(original: str) -> tuple[str, list[int]]:
    """Noise (HTML remnants, pinyin glosses, symbols in brackets) dropped; an
    anonymisation mark read as one 某; a whitespace run deleted when a neighbour
    is Chinese, else kept as one space; runs go on over noise."""
    folded = fold(original)
    drop = bytearray(len(folded))
    for pattern in (_HTML_NOISE, _PINYIN_GLOSS, _SYMBOL_IN_BRACKETS):
        for m in pattern.finditer(folded):
            drop[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    stand_ins: dict[int, str] = {}
    for m in _ANONYMISED.finditer(folded):
        if not any(drop[m.start():m.end()]):
            stand_ins[m.start()] = "某"
            drop[m.start() + 1:m.end()] = b"\x01" * (m.end() - m.start() - 1)
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
    return "".join(stand_ins.get(k) or (" " if folded[k].isspace() else folded[k]) for k in origin), origin


PIECES = ["产业工人", "改革", " ", "  ", "\n", "\u3000", "\t \n", "<br>", "<p class=x>", "&nbsp;", "&#8203;", "（chǎn gǎi）",
          "(chan gai)", "(2023)", "(🅾)", "XX", "**", "○○", "×××", "ABC", " def ", "，", "。", "“", "”", "Ｘ", "産", "\x00", "\x1f", "<", "&", "（", "("]
texts = st.one_of(st.text(max_size=80), st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
                  st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=10).map("".join))


@hsettings(max_examples=600, deadline=None)
@given(texts)
def test_matching_copy_equals_its_definition(text):
    copy = matching_copy(text)
    assert (copy.text, copy.origin) == reference_copy(text)
