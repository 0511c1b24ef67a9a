"""Turn raw page texts into clean page texts.

Everything here keeps the original characters (traditional stays traditional);
only width is folded. The passes that need page geometry — re-joining lines a
PDF wrapped, dropping running headers/footers — run only for layout sources
(PDF, OCR), because in DOCX/HTML/TXT every line break is the author's.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter

from zhtext.chinese import fold_width, repair_surrogates

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2014\u2018-\u201f\u2026\u00b7"
_CJK_CLASS = f"[{CJK}{CJK_PUNCT}]"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\u200b-\u200d\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2002-\u200a\u202f\u205f]+")
# pypdf and tesseract put spaces inside Chinese runs and between digits and Chinese.
_SPACE_BETWEEN_CJK = re.compile(f"(?<={_CJK_CLASS}) +(?={_CJK_CLASS})")
_SPACE_DIGIT_CJK = re.compile(f"(?<=[0-9%]) +(?={_CJK_CLASS})|(?<={_CJK_CLASS}) +(?=[0-9])")

PAGE_NUMBER_PATTERNS = [
    re.compile(r"^[-—–－~·•\s]*\d{1,4}[-—–－~·•\s]*$"),
    re.compile(r"^[-—–－\s]*第\s*\d{1,4}\s*页(\s*[,，/、]?\s*共\s*\d{1,4}\s*页)?[-—–－\s]*$"),
    re.compile(r"^共\s*\d{1,4}\s*页\s*第\s*\d{1,4}\s*页$"),
    re.compile(r"^\d{1,4}\s*/\s*\d{1,4}$"),
    re.compile(r"^(page|p\.)\s*\d{1,4}(\s*(of|/)\s*\d{1,4})?$", re.I),
]
# "— 2 —" is never body text, wherever it sits.
_DASHED_PAGE_NUMBER = re.compile(r"^[-—–－]{1,2}\s*\d{1,4}\s*[-—–－]{1,2}$")

_TERMINAL = tuple("。！？；：!?;:”’」』…")
_HEADING_START = re.compile(
    r"^(第[一二三四五六七八九十百零〇\d]+[章节条部分篇]|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|"
    r"\d+[.、．](?!\d)|[①-⑳]|附件|附：|抄送|印发|主题词)")
EDGE_LINES = 2


def clean_line_text(text: str) -> str:
    text = fold_width(repair_surrogates(text).replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BETWEEN_CJK.sub("", text)
    text = _SPACE_DIGIT_CJK.sub("", text)
    return text


def is_page_number(line: str) -> bool:
    s = line.strip()
    return bool(s) and any(p.match(s) for p in PAGE_NUMBER_PATTERNS)


def clean_pages(raw_pages: list[str], *, layout_lines: bool = False) -> list[str]:
    pages = [[ln.strip() for ln in clean_line_text(p).split("\n")] for p in raw_pages]
    pages = [[ln for ln in lines if ln] for lines in pages]
    if layout_lines:
        pages = drop_page_furniture(pages)
        pages = [rejoin_wrapped_lines(lines) for lines in pages]
    return ["\n".join(lines) for lines in pages]


def _furniture_key(line: str, page_no: int) -> str:
    """A line as running headers repeat it: the page number at its start or end ("XX省总工会  3",
    "第3页 XX") left out. A number inside the line stays, so a body line that happens to carry
    its page's number ("本市第3批…") never looks repeated."""
    compact = re.sub(r"\s+", "", line)
    n = str(page_no)
    compact = re.sub(rf"^[-—–－·|｜]*第?{n}(?:页)?(?!\d)[-—–－·|｜]*", "#", compact)
    return re.sub(rf"(?<!\d)[-—–－·|｜]*第?{n}(?:页)?[-—–－·|｜]*$", "#", compact)


_BARE_NUMBER = re.compile(r"^\d{1,4}$")


def _page_number_offsets(pages: list[list[str]]) -> set[int]:
    """How printed page numbers relate to page positions in this document (0: the same; 2: a cover
    and a contents page not numbered). A bare figure at a page edge is a page number only at one of
    these offsets; any other (a table's 合计 128 at the foot of a page) is text."""
    seen: Counter[int] = Counter()
    for page_no, lines in enumerate(pages, start=1):
        for ln in set(lines[:EDGE_LINES] + lines[-EDGE_LINES:]):
            if _BARE_NUMBER.match(ln.strip()):
                seen[int(ln) - page_no] += 1
    return {0} | {offset for offset, n in seen.items() if n >= max(2, len(pages) // 3)}


def drop_page_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Remove page numbers and lines repeated at the top/bottom of many pages."""
    counts: Counter[str] = Counter()
    for page_no, lines in enumerate(pages, start=1):
        edge = set(_furniture_key(ln, page_no) for ln in lines[:EDGE_LINES] + lines[-EDGE_LINES:])
        counts.update(edge)
    threshold = max(2, (len(pages) + 1) // 2)
    repeated = {k for k, n in counts.items() if n >= threshold and len(pages) >= 2}
    offsets = _page_number_offsets(pages)
    out = []
    for page_no, lines in enumerate(pages, start=1):
        keep = []
        last = len(lines) - 1
        removed: set[tuple[bool, str]] = set()
        for i, ln in enumerate(lines):
            top = i < EDGE_LINES
            at_edge = top or i > last - EDGE_LINES
            if _DASHED_PAGE_NUMBER.match(ln):
                continue
            if at_edge and is_page_number(ln) and (not _BARE_NUMBER.match(ln.strip())
                                                   or int(ln) - page_no in offsets):
                continue
            key = _furniture_key(ln, page_no)
            # Once per edge: a title that happens to repeat the running header survives.
            if at_edge and key in repeated and (top, key) not in removed:
                removed.add((top, key))
                continue
            keep.append(ln)
        out.append(keep)
    return out


def _width(line: str) -> float:
    # A CJK character is as wide as two Latin ones, so line fullness is in these units.
    return sum(2 if ord(c) > 0x2e7f else 1 for c in line)


def rejoin_wrapped_lines(lines: list[str]) -> list[str]:
    """Join lines that a layout engine wrapped mid-paragraph."""
    if len(lines) < 2:
        return lines
    widths = sorted(_width(ln) for ln in lines)
    # The fullest lines define the text column; a wrapped line nearly fills it.
    column = widths[int(len(widths) * 0.9)] if len(widths) >= 5 else max(widths)
    column = max(column, statistics.median(widths))
    out = [lines[0]]
    for ln in lines[1:]:
        prev = out[-1]
        wrapped = _width(prev) >= column * 0.8 or prev.endswith(("，", "、", ",", "（", "《", "“"))
        if wrapped and not prev.endswith(_TERMINAL) and not _HEADING_START.match(ln) and column >= 20:
            out[-1] = _join(prev, ln)
        else:
            out.append(ln)
    return out


def _join(left: str, right: str) -> str:
    if re.match(f"{_CJK_CLASS}", left[-1:]) or re.match(f"{_CJK_CLASS}", right[:1]):
        return left + right
    if left.endswith("-") and right[:1].islower():
        return left[:-1] + right
    return left + " " + right
