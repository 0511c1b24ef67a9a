"""Passages: the units a reviewer cites and the tagger scores.

Offsets are Unicode character offsets into Extraction.text, and for every
passage `extraction.text[start:end] == text` — a highlight stored against a
passage can always be re-found in the canonical text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHARS = 500
MIN_CHARS = 40  # shorter paragraphs (headings, list stubs) join the next one
_SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’」』）)]*|\.(?=\s)")
_SOFT_BREAK = re.compile(r"[，、,：:]")


@dataclass
class PassageSpan:
    page_no: int
    seq: int
    start: int
    end: int
    text: str


def _paragraph_spans(page_text: str, base: int) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    for line in page_text.split("\n"):
        stripped_left = len(line) - len(line.lstrip())
        stripped_right = len(line.rstrip())
        if stripped_right > stripped_left:
            spans.append((base + pos + stripped_left, base + pos + stripped_right))
        pos += len(line) + 1
    return spans


def _chunk(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a long paragraph at sentence ends so each piece is at most MAX_CHARS."""
    out = []
    while end - start > MAX_CHARS:
        window = text[start:start + MAX_CHARS]
        cut = 0
        for m in _SENTENCE_END.finditer(window):
            if m.end() >= MAX_CHARS * 0.3:
                cut = m.end()
        if not cut:
            soft = [m.end() for m in _SOFT_BREAK.finditer(window) if m.end() >= MAX_CHARS * 0.5]
            cut = soft[-1] if soft else MAX_CHARS
        piece_end = start + cut
        out.append((start, piece_end))
        start = piece_end
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append((start, end))
    return out


def split_passages(extraction) -> list[PassageSpan]:
    text = extraction.text
    passages: list[PassageSpan] = []
    for page, base in zip(extraction.pages, extraction.page_starts):
        merged: list[list[int]] = []
        for s, e in _paragraph_spans(page.text, base):
            # Headings and stubs join what follows (chunking below keeps the result ≤ MAX_CHARS).
            if merged and merged[-1][1] - merged[-1][0] < MIN_CHARS:
                merged[-1][1] = e  # the span now covers the newline(s) between, so slicing stays exact
            else:
                merged.append([s, e])
        # A short tail (closing line, signature) joins the paragraph before it.
        if len(merged) >= 2 and merged[-1][1] - merged[-1][0] < MIN_CHARS // 2 and \
                merged[-1][1] - merged[-2][0] <= MAX_CHARS:
            tail = merged.pop()
            merged[-1][1] = tail[1]
        for s, e in merged:
            for cs, ce in _chunk(text, s, e):
                passages.append(PassageSpan(page_no=page.no, seq=len(passages), start=cs, end=ce, text=text[cs:ce]))
    return passages
