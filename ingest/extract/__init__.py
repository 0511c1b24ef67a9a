"""Extraction: any evidence file → clean page texts, one canonical text, official metadata.

    extract_file(path)            in this process
    extract_file_sandboxed(path)  in a child process with memory and wall-time limits
    unpack_sandboxed(path, out_dir, limits)  ZIP upload → member files on disk (each then extracted on its own)
    split_passages(extraction)    paragraphs/chunks with exact offsets into extraction.text

Stages: size check → sniff real type from bytes → format reader (raw page texts,
OCR for pages without a text layer) → clean (ingest.clean) → metadata
(ingest.metadata). Every failure is an ExtractionError with a Chinese `reason`.
"""
from __future__ import annotations

import time
from pathlib import Path

from ingest.clean import clean_pages
from ingest.extract.archive import UnpackedMember, ZipKind, is_archive, unpack_archive, zip_kind
from ingest.extract.detect import sniff
from ingest.extract.types import FORMATS, Extraction, ExtractionError, Limits, PageText, RawDocument
from ingest.metadata import DOC_KINDS, Metadata, read_metadata
from zhtext.passages import PassageSpan, split_passages

__all__ = ["extract_file", "extract_file_sandboxed", "Extraction", "PageText", "Metadata", "Limits",
           "ExtractionError", "UnpackedMember", "unpack_archive", "unpack_sandboxed", "is_archive", "zip_kind", "ZipKind",
           "split_passages",
           "PassageSpan", "DOC_KINDS", "FORMATS", "detect_format", "build_extraction"]

_EXT_FORMAT = {"pdf": "pdf", "docx": "docx", "doc": "doc", "wps": "wps", "rtf": "rtf", "odt": "odt",
               "xlsx": "xlsx", "html": "html", "htm": "html", "shtml": "html", "txt": "txt",
               "ofd": "ofd", "png": "image",
               "jpg": "image", "jpeg": "image", "tif": "image", "tiff": "image", "bmp": "image", "gif": "image"}
_LABELS = {"pdf": "PDF", "docx": "Word", "doc": "Word", "wps": "WPS", "rtf": "RTF", "odt": "ODT", "xlsx": "Excel",
           "html": "HTML",
           "txt": "文本", "ofd": "OFD", "image": "图片"}


# What a file's bytes are when ingest cannot read them (detect.sniff's verdicts), in the uploader's words,
# and what to do about it. A name that promised something else (“报告.pdf”) is said first: then the
# uploader knows the file is not what its name says, not merely that it is broken.
_UNREADABLE = {
    "zip": ("archive", "一个 ZIP 压缩包", "请以 .zip 为扩展名上传，系统会逐个处理其中的文件。"),
    "corrupt_zip": ("corrupt", "一个已损坏的压缩包或 Office 文件（目录无法读取）", "请用原来的软件重新导出或重新打包后上传。"),
    "corrupt_ole": ("corrupt", "一个已损坏的 Word/WPS 文件（文件结构无法读取）", "请用原来的软件重新打开并另存后上传。"),
    "encrypted_office": ("encrypted", "一个加密的 Office 文件（需要密码才能打开）", "请取消密码后另存一份再上传。"),
    "unknown:xls": ("unsupported", "旧版 Excel 表格（.xls）", "暂不支持这种格式，请另存为 .xlsx 或 PDF 后上传。"),
    "unknown:PowerPoint": ("unsupported", "PowerPoint 演示文稿", "暂不支持这种格式，请另存为 PDF 后上传。"),
    "unknown:OpenDocument 表格/演示": ("unsupported", "OpenDocument 表格或演示文稿", "暂不支持这种格式，请另存为 PDF 后上传。"),
    "unknown:RAR": ("unsupported", "RAR 压缩包", "暂不支持这种压缩包，请改用 ZIP 格式重新打包后上传。"),
    "unknown:7z": ("unsupported", "7z 压缩包", "暂不支持这种压缩包，请改用 ZIP 格式重新打包后上传。"),
    "unknown:gzip": ("unsupported", "gzip 压缩包", "暂不支持这种压缩包，请改用 ZIP 格式重新打包后上传。"),
}
_UNKNOWN = ("unsupported", "无法识别的格式（不是文档、表格、网页、文本或图片）",
            "可能文件已损坏，或扩展名被改过。支持 PDF、Word（DOCX/DOC/WPS/RTF/ODT）、Excel（XLSX）、OFD、网页、文本和图片，"
            "请用原来的软件另存为其中一种后上传。")


def detect_format(path: Path, filename: str | None = None) -> str:
    """The real format, or an ExtractionError saying what the file actually is and what to do."""
    kind = sniff(path, filename)
    if kind in FORMATS:
        return kind
    if kind == "empty":
        raise ExtractionError("empty", "文件为空（0 字节）。")
    code, actual, advice = _UNREADABLE.get(kind, _UNKNOWN)
    ext = Path(filename or path.name).suffix.lower().lstrip(".")
    claimed = _EXT_FORMAT.get(ext)
    if claimed:
        said = f"文件扩展名为 .{ext}，但内容不是{_spaced(_LABELS[claimed])}文件，实际是{_lead(actual)}。"
    else:
        said = f"文件内容是{_lead(actual)}。"
    raise ExtractionError(code, said + advice, detail=f"sniffed {kind}")


def _lead(text: str) -> str:
    """Text put after a Chinese word: a space first when it starts with a Latin name (“是 RAR 压缩包”)."""
    return f" {text}" if text[:1].isascii() else text


def _spaced(label: str) -> str:
    """A format's name inside Chinese text: Latin names set off by spaces (“是 PDF 文件”), Chinese ones not."""
    return f" {label} " if label.isascii() else label


def _read(fmt: str, path: Path, limits: Limits, deadline: float | None) -> RawDocument:
    if fmt == "pdf":
        from ingest.extract.pdf import read_pdf
        return read_pdf(path, limits, deadline)
    if fmt == "docx":
        from ingest.extract.docx import read_docx
        return read_docx(path, limits)
    if fmt == "xlsx":
        from ingest.extract.xlsx import read_xlsx
        return read_xlsx(path, limits)
    if fmt in ("doc", "wps", "rtf", "odt"):
        from ingest.extract.office import read_office
        return read_office(path, limits, fmt)
    if fmt == "html":
        from ingest.extract.html import read_html
        return read_html(path, limits)
    if fmt == "txt":
        from ingest.extract.text import read_text
        return read_text(path, limits)
    if fmt == "ofd":
        from ingest.extract.ofd import read_ofd
        return read_ofd(path, limits)
    if fmt == "image":
        from ingest.extract.image import read_image
        return read_image(path, limits)
    raise ExtractionError("unsupported", f"不支持的格式：{fmt}")


def build_extraction(raw: RawDocument) -> Extraction:
    """Clean the raw pages and assemble the canonical text with its page offsets."""
    cleaned = clean_pages(raw.pages, layout_lines=raw.layout_lines)
    ocr = set(raw.ocr_pages)
    pages = [PageText(no=i + 1, text=t, ocr=(i + 1) in ocr) for i, t in enumerate(cleaned)]
    starts, pos = [], 0
    for page in pages:
        starts.append(pos)
        pos += len(page.text) + 2
    text = "\n\n".join(p.text for p in pages)
    metadata = read_metadata(text, pages, hints=raw.hints)
    return Extraction(format=raw.format, pages=pages, text=text, page_starts=starts, metadata=metadata,
                      ocr_pages=sorted(ocr), needs_ocr=raw.needs_ocr, warnings=list(raw.warnings))


def extract_file(path: Path, *, filename: str | None = None, limits: Limits | None = None) -> Extraction:
    limits = limits or Limits()
    path = Path(path)
    started = time.monotonic()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ExtractionError("missing", f"找不到文件或无法读取：{filename or path.name}") from exc
    if size == 0:
        raise ExtractionError("empty", "文件为空（0 字节）。")
    if size > limits.max_bytes:
        raise ExtractionError("too_large", f"文件大小 {size / 1048576:.1f} MB，超过上限 {limits.max_bytes / 1048576:.0f} MB。")
    fmt = detect_format(path, filename)
    warnings = []
    ext = Path(filename or path.name).suffix.lower().lstrip(".")
    claimed = _EXT_FORMAT.get(ext)
    same_family = {claimed, fmt} <= {"doc", "wps", "docx"}
    if claimed and claimed != fmt and not same_family:
        warnings.append(f"文件扩展名为 .{ext}，但内容实际是{_spaced(_LABELS[fmt])}格式，已按{_spaced(_LABELS[fmt])}文件处理。")
    # Stop starting OCR pages near the wall timeout so the sandbox returns partial text, not nothing.
    deadline = started + limits.timeout_s * 0.8 if limits.timeout_s else None
    try:
        raw = _read(fmt, path, limits, deadline)
    except MemoryError as exc:
        raise ExtractionError("memory", "文件解析所需内存超过上限。") from exc
    except RecursionError as exc:
        raise ExtractionError("corrupt", "文件结构嵌套过深，疑似损坏或恶意构造。") from exc
    raw.warnings = warnings + raw.warnings
    extraction = build_extraction(raw)
    if not extraction.text.strip() and not extraction.needs_ocr:
        if not raw.hints.get("ocr_attempted"):
            raise ExtractionError("empty", f"未能从该{_LABELS[fmt]}文件中读出任何文字。")
        # A photo is still evidence a reviewer can look at: keep it, say why there is no text.
        extraction.warnings.append("文字识别未识别出任何文字（可能是照片或空白页），请人工查看原件。")
    return extraction


def extract_file_sandboxed(path: Path, *, filename: str | None = None, limits: Limits | None = None) -> Extraction:
    from ingest.sandbox import run_sandboxed
    return run_sandboxed(Path(path), filename=filename, limits=limits or Limits())


def unpack_sandboxed(path: Path, out_dir: Path, limits: Limits | None = None) -> list[UnpackedMember]:
    """A ZIP's members written to files in out_dir by a sandboxed child (memory and wall-time limits)."""
    from ingest.sandbox import run_sandboxed
    manifest = run_sandboxed(Path(path), filename=None, limits=limits or Limits(), unpack_to=Path(out_dir))
    return [UnpackedMember(**m) for m in manifest]
