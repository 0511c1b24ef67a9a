"""PDF: the text layer per page via pypdf; pages without a usable layer go to OCR."""
from __future__ import annotations

import logging
import re
import time
import unicodedata
from pathlib import Path

from ingest.extract.ocr import ocr_pdf_page, tesseract_available
from ingest.extract.types import ExtractionError, Limits, RawDocument, corrupt, describe, encrypted

log = logging.getLogger("kaoping.ingest.pdf")
logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns loudly about harmless damage

MIN_TEXT_CHARS = 20  # fewer meaningful characters than this: treat the page as a scan


def text_layer_is_usable(text: str) -> bool:
    """False for scans and for fonts without a Unicode map (garbage or control characters)."""
    chars = [c for c in text if not c.isspace()]
    if len(chars) < MIN_TEXT_CHARS:
        return False
    bad = 0
    latin1_symbols = 0
    for c in chars:
        cat = unicodedata.category(c)
        if cat in ("Cc", "Co", "Cs", "Cn") or c == "\ufffd":
            bad += 1
        elif 0x80 <= ord(c) <= 0x2ff and not c.isalpha():
            latin1_symbols += 1
    if bad / len(chars) > 0.05:
        return False
    # Unmapped CJK fonts often come out as Latin-1 symbol soup (¸ÄÔ¸…).
    if latin1_symbols / len(chars) > 0.2:
        return False
    cjk = sum(1 for c in chars if "\u4e00" <= c <= "\u9fff")
    accented = sum(1 for c in chars if 0xc0 <= ord(c) <= 0x2ff)
    return not (cjk == 0 and accented / len(chars) > 0.3)


def read_pdf(path: Path, limits: Limits, deadline: float | None = None) -> RawDocument:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(str(path), strict=False)
    except (PdfReadError, ValueError, OSError, KeyError, TypeError, IndexError, AttributeError) as exc:
        # PDFium rebuilds broken cross-reference tables that pypdf gives up on (truncated uploads).
        return _read_with_pdfium(path, limits, deadline, exc)
    password = None
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except (DependencyError, NotImplementedError) as exc:
            # AES needs an optional crypto package in pypdf; PDFium decrypts it natively, and
            # owner-password-only files (print/copy restrictions, common in official PDFs) open with "".
            return _read_with_pdfium(path, limits, deadline, exc, repaired=False)
        if not ok:
            raise encrypted()
        password = ""
    try:
        pages = reader.pages
        count = len(pages)
    except FileNotDecryptedError as exc:
        raise encrypted() from exc
    except Exception as exc:  # pypdf raises many types for a broken page tree
        return _read_with_pdfium(path, limits, deadline, exc)
    if count == 0:
        raise ExtractionError("empty", "PDF 文件没有任何页面。")
    if count > limits.max_pages:
        raise ExtractionError("too_large", f"PDF 共 {count} 页，超过上限 {limits.max_pages} 页。请拆分后上传。")

    raw = RawDocument(format="pdf", pages=[], layout_lines=True)
    failed_pages: list[int] = []
    scan_pages: list[int] = []
    for i in range(count):
        try:
            text = pages[i].extract_text() or ""
        except Exception:  # one broken content stream must not lose the other pages
            text = ""
            failed_pages.append(i + 1)
        raw.pages.append(text)
        if not text_layer_is_usable(text):
            scan_pages.append(i)
    if failed_pages:
        raw.warnings.append(f"第 {_ranges(failed_pages)} 页的文字层无法解析。")
    _ocr_pages(path, raw, scan_pages, limits, deadline, password)
    return raw


def _read_with_pdfium(path: Path, limits: Limits, deadline: float | None, cause: Exception,
                      repaired: bool = True) -> RawDocument:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise encrypted() from exc
        raise corrupt("PDF 文件", cause) from exc
    try:
        count = len(doc)
        if count == 0:
            raise corrupt("PDF 文件", what="读不出任何页面")
        if count > limits.max_pages:
            raise ExtractionError("too_large", f"PDF 共 {count} 页，超过上限 {limits.max_pages} 页。请拆分后上传。")
        raw = RawDocument(format="pdf", pages=[], layout_lines=True,
                          warnings=["PDF 文件结构有损坏，已尽量修复读取，内容可能不完整。"] if repaired else [])
        scan_pages = []
        for i in range(count):
            page = doc[i]
            textpage = page.get_textpage()
            text = textpage.get_text_bounded() or ""
            textpage.close()
            page.close()
            raw.pages.append(text.replace("\r\n", "\n"))
            if not text_layer_is_usable(text):
                scan_pages.append(i)
    finally:
        doc.close()
    _ocr_pages(path, raw, scan_pages, limits, deadline, None)
    return raw


def _ocr_pages(path: Path, raw: RawDocument, scan_pages: list[int], limits: Limits,
               deadline: float | None, password: str | None) -> None:
    if not scan_pages:
        return
    if not limits.ocr or not tesseract_available(limits.ocr_languages):
        # Keep whatever little text the layer had; the caller decides whether to OCR later.
        raw.needs_ocr = True
        why = "未启用文字识别" if not limits.ocr else "服务器未安装 tesseract 中文识别组件"
        raw.warnings.append(f"第 {_ranges([i + 1 for i in scan_pages])} 页没有可用的文字层（可能是扫描件），{why}，需要 OCR。")
        return
    raw.hints["ocr_attempted"] = True
    skipped: list[int] = []
    for i in scan_pages:
        # Leave room to return what we have rather than being killed at the wall timeout.
        if deadline is not None and time.monotonic() > deadline:
            skipped.append(i + 1)
            continue
        try:
            text = ocr_pdf_page(path, i, languages=limits.ocr_languages, dpi=limits.ocr_dpi,
                                timeout_s=limits.timeout_s, password=password)
        except ExtractionError as exc:
            raw.warnings.append(f"第 {i + 1} 页文字识别失败：{exc.reason}")
            continue
        except Exception as exc:  # pdfium refuses some pages; keep the rest
            log.info("page %s of %s could not be rendered: %s", i + 1, path.name, describe(exc))
            raw.warnings.append(f"第 {i + 1} 页无法渲染为图像，未能识别文字，请人工查看原件该页。")
            continue
        if len(re.sub(r"\s", "", text)) > len(re.sub(r"\s", "", raw.pages[i])):
            raw.pages[i] = text
            raw.ocr_pages.append(i + 1)
    if skipped:
        raw.needs_ocr = True
        raw.warnings.append(f"处理时间不足，第 {_ranges(skipped)} 页未做文字识别。")


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    start = prev = numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
        if n is not None:
            start = prev = n
    return "、".join(parts)
