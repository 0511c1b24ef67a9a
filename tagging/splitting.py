"""Passages for plain text, through the same splitter ingest uses for files."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _Page:
    no: int
    text: str


@dataclass
class _PlainExtraction:
    pages: list[_Page]
    text: str
    page_starts: list[int]


def _pages_for(text: str, pages: list | None) -> _PlainExtraction:
    """`pages` may be page start offsets into `text`, or PageText-like objects
    whose texts were joined by blank lines (as ingest.extract does)."""
    if not pages:
        return _PlainExtraction([_Page(1, text)], text, [0])
    if all(isinstance(p, int) for p in pages):
        starts = sorted(set(pages) | {0})
        bounds = starts[1:] + [len(text)]
        return _PlainExtraction([_Page(i + 1, text[s:e]) for i, (s, e) in enumerate(zip(starts, bounds))],
                                text, starts)
    page_objs, starts, pos = [], [], 0
    for i, p in enumerate(pages):
        page_text = getattr(p, "text", p if isinstance(p, str) else "")
        starts.append(pos)
        page_objs.append(_Page(getattr(p, "no", i + 1), text[pos:pos + len(page_text)]))
        pos += len(page_text) + 2
    return _PlainExtraction(page_objs, text, starts)


def split_text(text: str, pages: list | None = None) -> list:
    from zhtext.passages import split_passages
    try:
        return split_passages(_pages_for(text, pages))
    except Exception:  # noqa: BLE001 - a splitter bug must not cost the user their tags
        return _simple_split(text, pages)


def _simple_split(text: str, pages: list | None) -> list:
    """Paragraph passages of at most 500 characters, used if the shared splitter fails."""
    import re
    from zhtext.passages import PassageSpan
    plain = _pages_for(text, pages)
    out = []
    for page, base in zip(plain.pages, plain.page_starts):
        for m in re.finditer(r"[^\n]+", page.text):
            s, e = base + m.start(), base + m.end()
            while e - s > 500:
                out.append(PassageSpan(page.no, len(out), s, s + 500, text[s:s + 500]))
                s += 500
            if text[s:e].strip():
                out.append(PassageSpan(page.no, len(out), s, e, text[s:e]))
    return out
