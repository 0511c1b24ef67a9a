"""Images (PNG/JPEG/TIFF/BMP/GIF): OCR only."""
from __future__ import annotations

from pathlib import Path

from ingest.extract.ocr import ocr_image_file, tesseract_available
from ingest.extract.types import Limits, RawDocument


def read_image(path: Path, limits: Limits) -> RawDocument:
    if not limits.ocr or not tesseract_available(limits.ocr_languages):
        why = "未启用文字识别" if not limits.ocr else "服务器未安装 tesseract 中文识别组件"
        return RawDocument(format="image", pages=[""], needs_ocr=True,
                           warnings=[f"图片文件需要文字识别（OCR），但{why}。"])
    pages = ocr_image_file(path, languages=limits.ocr_languages, timeout_s=limits.timeout_s)
    if len(pages) > limits.max_pages:
        pages = pages[: limits.max_pages]
    return RawDocument(format="image", pages=pages, ocr_pages=list(range(1, len(pages) + 1)), layout_lines=True,
                       hints={"ocr_attempted": True})
