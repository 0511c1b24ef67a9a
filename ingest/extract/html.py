"""HTML: the article, not the navigation. Scores blocks by their non-link text (readability-style)."""
from __future__ import annotations

import re
from pathlib import Path

from ingest.extract.text import decode_bytes
from ingest.extract.types import ExtractionError, Limits, RawDocument
from ingest.metadata import FIELD_MAX_CHARS

NOISE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg",
              "button", "select", "input", "template", "object", "embed")
NOISE_NAME = re.compile(r"nav|menu|footer|header|breadcrumb|crumb|sidebar|side-bar|comment|share|copyright|"
                        r"banner|toolbar|login|related|recommend|advert|\bad\b|\bads\b|pager|pagination|"
                        r"daohang|bottom|top-bar|topbar", re.I)
BLOCK_TAGS = {"p", "div", "section", "article", "td", "th", "li", "h1", "h2", "h3", "h4", "h5", "h6",
              "pre", "blockquote", "tr", "table", "ul", "ol", "dd", "dt", "main", "center", "br", "hr"}
CONTAINER_TAGS = {"div", "section", "article", "td", "main", "body", "center", "tbody", "table"}
_CHARSET_META = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)


def _decode_html(data: bytes) -> str:
    m = _CHARSET_META.search(data[:4096])
    if m:
        enc = m.group(1).decode("ascii", "ignore").lower()
        if enc in ("gb2312", "gbk", "gb_2312-80"):
            enc = "gb18030"  # pages labelled gb2312 routinely contain GBK characters
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(data)[0]


def read_html(path: Path, limits: Limits) -> RawDocument:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    html = _decode_html(path.read_bytes())
    html, repaired = _close_unclosed_title(html)
    tree = HTMLParser(html)
    title = _title(tree)
    meta = {}
    for node in tree.css("meta[name]"):
        name = (node.attributes.get("name") or "").lower()
        if name in ("articletitle", "pubdate", "contentsource", "publishdate", "source"):
            meta[name] = (node.attributes.get("content") or "").strip()
    tree.strip_tags(list(NOISE_TAGS))
    for node in tree.css("[class], [id]"):
        label = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
        if NOISE_NAME.search(label) and node.tag not in ("body", "html"):
            node.decompose()
    body = tree.body or tree.root
    if body is None:
        raise ExtractionError("empty", "网页中没有正文内容。")
    best = _densest_block(body)
    lines = _block_text_lines(best)
    if not any(ln.strip() for ln in lines):
        lines = _block_text_lines(body)
    h1 = best.css_first("h1") if best is not None else None
    page_title = meta.get("articletitle") or (h1.text(strip=True) if h1 else "") or title
    if page_title and not any(page_title in ln for ln in lines[:5]):
        lines.insert(0, page_title)
    raw = RawDocument(format="html", pages=["\n".join(lines)])
    if repaired:
        raw.warnings.append("网页的标题标签没有闭合（缺少 </title>），已按标题到下一个标签为止读取，其后的正文照常提取。")
    raw.hints["title"] = page_title
    if len(page_title) > FIELD_MAX_CHARS["title"]:
        # the whole of it stays in the text (first line); the title field keeps its start
        raw.warnings.append(f"网页标题过长（{len(page_title)} 字），已只取前 {FIELD_MAX_CHARS['title']} 字作为标题，"
                            "全文保留在正文中。")
    if meta.get("pubdate") or meta.get("publishdate"):
        raw.hints["date"] = meta.get("pubdate") or meta.get("publishdate")
    if meta.get("contentsource") or meta.get("source"):
        raw.hints["issuer"] = meta.get("contentsource") or meta.get("source")
    return raw


_TITLE_OPEN = re.compile(r"<title\b[^>]*>", re.I)
_TITLE_CLOSE = re.compile(r"</title\s*>", re.I)


def _close_unclosed_title(html: str) -> tuple[str, bool]:
    """An HTML parser reads everything after an unclosed <title> as the title (RCDATA): the whole
    page would vanish into it. Close it at the next tag instead."""
    opening = _TITLE_OPEN.search(html)
    if opening is None or _TITLE_CLOSE.search(html, opening.end()):
        return html, False
    end = html.find("<", opening.end())
    end = len(html) if end < 0 else end
    return html[:end] + "</title>" + html[end:], True


def _title(tree) -> str:
    node = tree.css_first("title")
    if node is None:
        return ""
    text = node.text(strip=True)
    # "文章标题_网站名" / "文章标题 - 网站名": the site name is not the title.
    return re.split(r"\s*[_|｜]\s*|\s+[-—]\s+", text)[0].strip() if text else ""


def _own_text_len(node) -> int:
    """Text directly inside this block (not inside child blocks), minus link text."""
    total = 0
    child = node.child
    while child is not None:
        tag = child.tag
        if tag == "-text":
            total += len((child.text_content or "").strip())
        elif tag not in BLOCK_TAGS and tag != "a":
            total += len(child.text(strip=True))
        child = child.next
    return total


def _densest_block(body):
    scores: dict[int, float] = {}
    nodes: dict[int, object] = {}
    for node in body.traverse(include_text=False):
        if node.tag not in BLOCK_TAGS:
            continue
        own = _own_text_len(node)
        if own < 10:
            continue
        # Credit the containers: a paragraph's parent gets all of it, the grandparent half.
        weight = 1.0
        parent = node if node.tag in CONTAINER_TAGS else node.parent
        for _ in range(3):
            if parent is None:
                break
            key = parent.mem_id
            nodes[key] = parent
            scores[key] = scores.get(key, 0.0) + own * weight
            weight /= 2
            parent = parent.parent
    if not scores:
        return body
    for key, node in nodes.items():
        text_len = len(node.text(strip=True)) or 1
        link_len = sum(len(a.text(strip=True)) for a in node.css("a"))
        scores[key] *= max(0.0, 1 - link_len / text_len)
    best_key = max(scores, key=scores.get)
    return nodes[best_key]


def _block_text_lines(node) -> list[str]:
    if node is None:
        return []
    parts: list[str] = []

    def walk(n):
        child = n.child
        while child is not None:
            tag = child.tag
            if tag == "-text":
                parts.append(child.text_content or "")
            elif tag in BLOCK_TAGS:
                parts.append("\n")
                walk(child)
                parts.append("\n")
            elif tag not in ("-comment",):
                walk(child)
            child = child.next

    walk(node)
    text = "".join(parts)
    return [re.sub(r"[ \t\r\u00a0]+", " ", ln).strip() for ln in text.split("\n") if ln.strip()]
