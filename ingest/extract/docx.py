"""DOCX: body paragraphs and tables in document order; headers once; explicit page breaks split pages."""
from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.extract.types import ExtractionError, Limits, RawDocument, corrupt

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_P, _TBL, _TR, _TC, _T, _TAB, _BR, _CR = (f"{{{W}}}{t}" for t in ("p", "tbl", "tr", "tc", "t", "tab", "br", "cr"))
_PPR, _PAGE_BREAK_BEFORE, _FALLBACK = f"{{{W}}}pPr", f"{{{W}}}pageBreakBefore", f"{{{MC}}}Fallback"
_SDT_CONTENT = f"{{{W}}}sdtContent"
PAGE_MARK = "\f"
MAX_XML_BYTES = 300 * 1024 * 1024  # a larger document.xml is a decompression bomb, not a report


def read_docx(path: Path, limits: Limits, fmt: str = "docx") -> RawDocument:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as exc:  # pragma: no cover - dependency is pinned
        raise ExtractionError("unsupported", "服务器缺少 python-docx，无法读取 Word 文件。") from exc
    _check_sizes(path)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise corrupt("Word 文件", exc) from exc
    except Exception as exc:
        raise corrupt("Word 文件", exc) from exc

    header_lines: list[str] = []
    seen: set[str] = set()
    for section in document.sections:
        for part in (section.header, section.first_page_header):
            try:
                # "Linked" means this section defines no header of its own (for the first: none at all).
                if part.is_linked_to_previous:
                    continue
                lines = _block_lines(part._element)
            except Exception:
                continue
            for line in lines:
                if line.strip() and line not in seen and line != PAGE_MARK:
                    seen.add(line)
                    header_lines.append(line)

    body_lines = _block_lines(document.element.body)
    pages: list[list[str]] = [[]]
    for line in body_lines:
        if line == PAGE_MARK:
            if pages[-1]:
                pages.append([])
            continue
        pages[-1].append(line)
    if not pages[-1] and len(pages) > 1:
        pages.pop()
    pages[0] = header_lines + pages[0]
    if len(pages) > limits.max_pages:
        raise ExtractionError("too_large", f"文档超过 {limits.max_pages} 页上限。")
    return RawDocument(format=fmt, pages=["\n".join(p) for p in pages])


def _check_sizes(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist() if i.filename.endswith(".xml"))
    except zipfile.BadZipFile as exc:
        raise corrupt("Word 文件", exc) from exc
    if total > MAX_XML_BYTES:
        raise ExtractionError("bomb", "Word 文件解压后体积异常巨大，疑似压缩炸弹，已拒绝处理。")


def _block_lines(container) -> list[str]:
    """Paragraph texts of a body/header element; PAGE_MARK where an explicit page break is."""
    out: list[str] = []
    for child in container.iterchildren():
        tag = child.tag
        if tag == _P:
            out.extend(_paragraph_lines(child))
        elif tag == _TBL:
            out.extend(_table_lines(child))
        elif tag == f"{{{W}}}sdt":
            for content in child.iter(_SDT_CONTENT):
                out.extend(_block_lines(content))
                break
    return out


def _paragraph_lines(p) -> list[str]:
    """A paragraph may carry page breaks inside; split there."""
    parts: list[str] = []
    buf: list[str] = []
    ppr = p.find(_PPR)
    if ppr is not None and ppr.find(_PAGE_BREAK_BEFORE) is not None:
        parts.append(PAGE_MARK)
    stack = [iter(p.iterchildren())]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        tag = node.tag
        if tag == _FALLBACK or tag == _PPR:
            continue  # Fallback duplicates the Choice branch (text boxes)
        if tag == _T:
            buf.append(node.text or "")
        elif tag == _TAB:
            buf.append("\t")
        elif tag in (_BR, _CR):
            if node.get(f"{{{W}}}type") == "page":
                parts.append("".join(buf))
                parts.append(PAGE_MARK)
                buf = []
            else:
                buf.append("\n")
        elif tag == _P:
            buf.append("\n")  # paragraphs inside text boxes
            stack.append(iter(node.iterchildren()))
        else:
            stack.append(iter(node.iterchildren()))
    parts.append("".join(buf))
    lines: list[str] = []
    for part in parts:
        if part == PAGE_MARK:
            lines.append(part)
        else:
            lines.extend(ln for ln in part.split("\n") if ln.strip())
    return lines


def _table_lines(tbl) -> list[str]:
    lines: list[str] = []
    for tr in tbl.iterchildren(_TR):
        cells: list[str] = []
        for tc in tr.iterchildren(_TC):
            text = " ".join(ln for ln in (_cell_text(tc)) if ln != PAGE_MARK).strip()
            # Horizontally merged cells repeat their text; keep it once.
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
    return lines


def _cell_text(tc) -> list[str]:
    out: list[str] = []
    for child in tc.iterchildren():
        if child.tag == _P:
            out.extend(_paragraph_lines(child))
        elif child.tag == _TBL:
            out.extend(_table_lines(child))
    return out
