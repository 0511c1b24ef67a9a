"""XLSX (统计表、台账): one page per sheet, one line per row, cells joined by " | ".

Read straight from the XML with iterparse, so a large sheet streams instead of
building a workbook object in memory.
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from ingest.extract.types import ExtractionError, Limits, RawDocument, corrupt

MAX_XML_BYTES = 300 * 1024 * 1024
MAX_ROWS_PER_SHEET = 50_000
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _string_item_text(si) -> str:
    """Plain text of <si>: a <t>, or rich-text runs <r><t>; phonetic guides (<rPh>) are not the value."""
    parts = []
    for child in si:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    strings: list[str] = []
    with zf.open("xl/sharedStrings.xml") as fh:
        for _, elem in ET.iterparse(fh):
            if _local(elem.tag) == "si":
                strings.append(_string_item_text(elem))
                elem.clear()
    return strings


def _sheet_paths(zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    workbook = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = {}
    if "xl/_rels/workbook.xml.rels" in zf.namelist():
        for rel in ET.fromstring(zf.read("xl/_rels/workbook.xml.rels")):
            target = rel.get("Target") or ""
            rels[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    sheets = []
    for elem in workbook.iter():
        if _local(elem.tag) == "sheet":
            path = rels.get(elem.get(f"{{{REL_NS}}}id"))
            if path and path in zf.namelist():
                sheets.append((elem.get("name") or "", path))
    return sheets


def _sheet_lines(zf: zipfile.ZipFile, path: str, strings: list[str]) -> list[str]:
    lines: list[str] = []
    with zf.open(path) as fh:
        for _, elem in ET.iterparse(fh):
            if _local(elem.tag) != "row":
                continue
            cells = []
            for cell in elem:
                if _local(cell.tag) != "c":
                    continue
                kind = cell.get("t")
                value = ""
                if kind == "inlineStr":
                    value = "".join(t.text or "" for t in cell.iter() if _local(t.tag) == "t")
                else:
                    v = next((c.text for c in cell if _local(c.tag) == "v"), None) or ""
                    if kind == "s" and v.isdigit() and int(v) < len(strings):
                        value = strings[int(v)]
                    elif kind == "b":
                        value = "是" if v == "1" else "否"
                    else:
                        value = v
                if value.strip():
                    cells.append(value.strip())
            if cells:
                lines.append(" | ".join(cells))
            elem.clear()
            if len(lines) >= MAX_ROWS_PER_SHEET:
                break
    return lines


def read_xlsx(path: Path, limits: Limits, fmt: str = "xlsx") -> RawDocument:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise corrupt("Excel 文件", exc) from exc
    with zf:
        if sum(i.file_size for i in zf.infolist() if i.filename.endswith(".xml")) > MAX_XML_BYTES:
            raise ExtractionError("bomb", "Excel 文件解压后体积异常巨大，疑似压缩炸弹，已拒绝处理。")
        try:
            strings = _shared_strings(zf)
            sheets = _sheet_paths(zf)
            if len(sheets) > limits.max_pages:
                raise ExtractionError("too_large", f"工作表数量超过上限 {limits.max_pages}。")
            pages = []
            warnings = []
            for name, sheet_path in sheets:
                lines = _sheet_lines(zf, sheet_path, strings)
                if len(lines) >= MAX_ROWS_PER_SHEET:
                    warnings.append(f"工作表“{name}”超过 {MAX_ROWS_PER_SHEET} 行，只读取了前 {MAX_ROWS_PER_SHEET} 行。")
                pages.append("\n".join([name, *lines]) if lines else name)
        except KeyError as exc:
            raise corrupt("Excel 文件", exc, what="缺少必要的组成部分") from exc
        except ET.ParseError as exc:
            raise corrupt("Excel 文件", exc) from exc
    if not pages:
        raise ExtractionError("empty", "Excel 文件中没有工作表。")
    return RawDocument(format=fmt, pages=pages, warnings=warnings)
