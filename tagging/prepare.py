"""Passages as the tagger sees them: normalised input, title apart, rubric text out."""
from __future__ import annotations

import re
from dataclasses import dataclass

TITLE_MAX_CHARS = 80
# A document naming this many indicators verbatim is a catalogue of the rubric
# (e.g. the evaluation notice or a self-assessment form), not evidence for all of them.
CATALOGUE_MIN_NAMES = 25


@dataclass
class Passage:
    page: int
    start: int
    end: int
    text: str


def as_passage(p) -> Passage:
    page = getattr(p, "page_no", None)
    if page is None:
        page = getattr(p, "page", 1)
    return Passage(int(page or 1), int(p.start), int(p.end), str(p.text))


def title_apart(items: list[Passage]) -> list[Passage]:
    """Make the document's first line its own passage when it looks like a title.

    Splitters join a short heading to the paragraph after it; the title is what
    a document is about, so it gets scored (and boosted) on its own.
    """
    first = items[0]
    line_end = first.text.find("\n")
    if line_end <= 0 or len(first.text[:line_end].strip()) > TITLE_MAX_CHARS:
        return items
    rest_start = line_end
    while rest_start < len(first.text) and first.text[rest_start].isspace():
        rest_start += 1
    if rest_start >= len(first.text):
        return items
    title = Passage(first.page, first.start, first.start + line_end, first.text[:line_end])
    rest = Passage(first.page, first.start + rest_start, first.end, first.text[rest_start:])
    return [title, rest] + items[1:]



def drop_rubric_passages(items: list[Passage], indicator_names: list[str]) -> tuple[list[Passage], bool]:
    """An indicator catalogue (the evaluation notice, a self-assessment form)
    names and explains every indicator; those passages describe the rubric,
    they are not evidence.  When a document names many indicators verbatim,
    passages that name one are left out.  Returns (passages, is_catalogue)."""
    names = [n for n in indicator_names if len(n) >= 4]
    if not names:
        return items, False
    text = "".join(i.text for i in items[:2000])
    if sum(1 for n in names if n in text) < CATALOGUE_MIN_NAMES:
        return items, False
    return [i for i in items if not any(n in i.text for n in names)], True


# Scraped web pages carry menus ("首页 | 工会要闻 | 劳模风采 | 技能竞赛 | 法律援助")
# and footers whose words are rule terms; they describe the website, not the document.
_SENTENCE_PUNCT = re.compile(r"[。，；！？,;!?]")
_MENU_SEPARATORS = re.compile(r"[\s|｜/·•>»>＞]+")
_SITE_CHROME = re.compile(
    r"^\s*(当前位置|您的位置|您现在的位置|首页\s*[>＞»]|版权所有|copyright|©|主办单位|承办单位|主办[:：]|"
    r"技术支持|网站地图|联系我们|ICP|[京津沪渝冀晋辽吉黑苏浙皖闽赣鲁豫鄂湘粤琼川贵云陕甘青蒙桂藏宁新]ICP备|"
    r"公网安备|【\s*(打印|关闭|字体|收藏)|分享到|扫一扫|上一篇|下一篇|相关链接|浏览次数|点击数)", re.I)


def is_site_chrome(line: str) -> bool:
    """A menu, breadcrumb or footer line of a web page."""
    stripped = line.strip()
    if not stripped:
        return False
    if _SITE_CHROME.search(stripped):
        return True
    if _SENTENCE_PUNCT.search(stripped):
        return False
    items = [x for x in _MENU_SEPARATORS.split(stripped) if x]
    if not all(len(x) <= 8 for x in items):
        return False
    if is_table_row(items):
        return False
    # Items separated only by spaces may be a table row; menus use bars or dots,
    # or are long runs of short links.
    explicit = bool(re.search(r"[|｜·•>»＞]", stripped))
    return len(items) >= (4 if explicit else 7)


_FIGURE = re.compile(r"\d")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{4,}")
_MEASURE = re.compile(r"^\d+\.\d+%?$")


def is_table_row(cells: list[str]) -> bool:
    """A row of a table (序号 | 单位 | 事项 | 年份): a figure and a phrase of content, or
    measured values (| 制造业 | 152.14 | 197.82 |). Menus and breadcrumbs are short labels
    without figures; a pager has whole page numbers but no phrase."""
    return (any(_FIGURE.search(c) for c in cells) and any(_CJK_RUN.search(c) for c in cells)) \
        or sum(1 for c in cells if _MEASURE.match(c)) >= 2


def drop_site_chrome(items: list[Passage]) -> list[Passage]:
    """Cut menu/footer lines out of passages, keeping the rest as exact slices."""
    out: list[Passage] = []
    for item in items:
        lines = item.text.split("\n")
        if not any(is_site_chrome(line) for line in lines):
            out.append(item)
            continue
        offset, run_start, run_end = 0, None, None
        for line in lines + [None]:
            if line is None or is_site_chrome(line):
                if run_start is not None and item.text[run_start:run_end].strip():
                    out.append(Passage(item.page, item.start + run_start, item.start + run_end,
                                       item.text[run_start:run_end]))
                run_start = None
            else:
                if run_start is None:
                    run_start = offset
                run_end = offset + len(line)
            if line is not None:
                offset += len(line) + 1
    return out
