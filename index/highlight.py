"""Snippets: the best window of a passage with query matches in <mark>.

We do not use Whoosh's highlighter: it re-analyses the whole stored text for
every hit, which dominated query time. Matching the folded query literals
with ``str.find`` on the folded text is exact for our substring semantics and
runs in C. Folding keeps length, so positions map back to the original text,
and everything shown is HTML-escaped (document text may contain markup).
"""
from __future__ import annotations

from html import escape

from index.analysis import fast_fold

MAX_OCCURRENCES = 200


def find_spans(folded: str, literals: list[str]) -> list[tuple[int, int]]:
    spans = []
    for lit in set(l for l in literals if l):
        start = folded.find(lit)
        while start >= 0 and len(spans) < MAX_OCCURRENCES:
            spans.append((start, start + len(lit)))
            start = folded.find(lit, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _best_window(spans, length: int, size: int) -> tuple[int, int]:
    if not spans or length <= size:
        return 0, min(length, size)
    best, best_count = spans[0][0], 0
    j = 0
    for i, (s, _) in enumerate(spans):
        while j < len(spans) and spans[j][1] <= s + size:
            j += 1
        if j - i > best_count:
            best, best_count = s, j - i
    start = max(0, min(best - size // 4, length - size))
    return start, start + size


def snippet_html(text: str, literals: list[str], size: int = 160) -> str:
    folded = fast_fold(text)
    lowered = folded.lower()
    if len(lowered) == len(text):  # lower() may change length for rare letters
        folded = lowered
    spans = find_spans(folded, literals)
    lo, hi = _best_window(spans, len(text), size)
    out = ["…" if lo > 0 else ""]
    pos = lo
    for s, e in spans:
        if e <= lo or s >= hi:
            continue
        s, e = max(s, lo), min(e, hi)
        out.append(escape(text[pos:s]))
        out.append("<mark>" + escape(text[s:e]) + "</mark>")
        pos = e
    out.append(escape(text[pos:hi]))
    if hi < len(text):
        out.append("…")
    return "".join(out)
