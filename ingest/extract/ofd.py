"""OFD (GB/T 33190): a ZIP of XML. Text is in TextCode elements; we place them by coordinates."""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from ingest.extract.types import ExtractionError, Limits, RawDocument, corrupt

LINE_TOLERANCE_MM = 1.5
MAX_XML_BYTES = 50 * 1024 * 1024


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(elem, name: str):
    return [c for c in elem.iter() if _local(c.tag) == name]


def _parse(zf: zipfile.ZipFile, name: str):
    name = name.lstrip("/")
    info = zf.getinfo(name)
    if info.file_size > MAX_XML_BYTES:
        raise ExtractionError("bomb", "OFD 文件中的内容体积异常巨大，已拒绝处理。")
    return ET.fromstring(zf.read(name))


def _resolve(base_dir: str, loc: str) -> str:
    loc = loc.strip()
    if loc.startswith("/"):
        return posixpath.normpath(loc.lstrip("/"))
    return posixpath.normpath(posixpath.join(base_dir, loc))


def _page_items(root) -> list[tuple[float, float, str]]:
    items = []
    for obj in _children(root, "TextObject"):
        box = (obj.get("Boundary") or "0 0 0 0").split()
        try:
            bx, by = float(box[0]), float(box[1])
        except (ValueError, IndexError):
            bx = by = 0.0
        for code in _children(obj, "TextCode"):
            if not code.text:
                continue
            try:
                x, y = bx + float(code.get("X") or 0), by + float(code.get("Y") or 0)
            except ValueError:
                x, y = bx, by
            items.append((y, x, code.text))
    return items


def _layout(items: list[tuple[float, float, str]]) -> str:
    """Group text by baseline into lines, left to right."""
    lines: list[list[tuple[float, float, str]]] = []
    for item in sorted(items):
        if lines and abs(lines[-1][0][0] - item[0]) <= LINE_TOLERANCE_MM:
            lines[-1].append(item)
        else:
            lines.append([item])
    return "\n".join(" ".join(t for _, _, t in sorted(line, key=lambda i: i[1])) for line in lines)


def read_ofd(path: Path, limits: Limits) -> RawDocument:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise corrupt("OFD 文件", exc) from exc
    with zf:
        try:
            ofd = _parse(zf, "OFD.xml")
            doc_roots = [e.text for e in _children(ofd, "DocRoot") if e.text]
            if not doc_roots:
                raise corrupt("OFD 文件", what="找不到文档正文的入口")
            pages: list[str] = []
            for doc_root in doc_roots:
                doc_path = _resolve("", doc_root)
                doc_dir = posixpath.dirname(doc_path)
                document = _parse(zf, doc_path)
                templates = {t.get("ID"): _resolve(doc_dir, t.get("BaseLoc") or "")
                             for t in _children(document, "TemplatePage")}
                for page in _children(document, "Page"):
                    if not page.get("BaseLoc"):
                        continue
                    content_path = _resolve(doc_dir, page.get("BaseLoc"))
                    content = _parse(zf, content_path)
                    items = []
                    # Fixed labels of forms (invoices) live in the template page.
                    for tpl in _children(content, "Template"):
                        tpl_path = templates.get(tpl.get("TemplateID"))
                        if tpl_path and tpl_path in zf.namelist():
                            items += _page_items(_parse(zf, tpl_path))
                    items += _page_items(content)
                    pages.append(_layout(items))
                    if len(pages) > limits.max_pages:
                        raise ExtractionError("too_large", f"文档超过 {limits.max_pages} 页上限。")
        except KeyError as exc:
            raise corrupt("OFD 文件", exc, what="缺少必要的组成部分") from exc
        except ET.ParseError as exc:
            raise corrupt("OFD 文件", exc) from exc
    if not pages:
        raise ExtractionError("empty", "OFD 文件没有任何页面。")
    return RawDocument(format="ofd", pages=pages)
