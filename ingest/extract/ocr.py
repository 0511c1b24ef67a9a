"""Tesseract OCR through its command line (no Python binding to crash the worker)."""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ingest.clean import CJK, CJK_PUNCT
from ingest.extract.types import ExtractionError, corrupt
from ingest.sandbox import helper_popen_kwargs

MAX_RENDER_PIXELS = 40_000_000
_SPACE_IN_CJK = re.compile(f"(?<=[{CJK}{CJK_PUNCT}])[ \t]+(?=[{CJK}{CJK_PUNCT}])")


@functools.lru_cache(maxsize=8)
def tesseract_available(languages: str = "chi_sim+eng") -> bool:
    exe = shutil.which("tesseract")
    if not exe:
        return False
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    have = set(out.split())
    return all(lang in have for lang in languages.split("+"))


_ASCII_PUNCT_AFTER_CJK = re.compile(f"(?<=[{CJK}])[ \\t]*([,:;!?])[ \\t]*")
_SPACE_BEFORE_PUNCT = re.compile(r"(?<=\d) +(?=[.、．])")
_FULL = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？"}


def strip_cjk_spaces(text: str) -> str:
    """Undo tesseract's spacing inside Chinese text and its ASCII punctuation after Chinese."""
    text = _SPACE_IN_CJK.sub("", text)
    text = _ASCII_PUNCT_AFTER_CJK.sub(lambda m: _FULL[m.group(1)], text)
    text = _SPACE_BEFORE_PUNCT.sub("", text)
    return _SPACE_IN_CJK.sub("", text)


def ocr_image_file(image: Path, *, languages: str = "chi_sim+eng", dpi: int | None = None,
                   timeout_s: float = 120) -> list[str]:
    """OCR an image file; a multi-page TIFF gives one string per page."""
    exe = shutil.which("tesseract")
    if not exe:
        raise ExtractionError("needs_ocr", "服务器暂时无法识别图片中的文字（缺少文字识别组件，已记入服务器日志）。"
                              "请上传含文字层的 PDF 或 Word 文件。", detail="tesseract not found")
    cmd = [exe, str(image), "stdout", "-l", languages, "--psm", "3"]
    if dpi:
        cmd += ["--dpi", str(dpi)]
    try:
        # One OpenMP thread: on a shared 2-core host tesseract's thread pool spins and runs 2× slower.
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, env=env, **helper_popen_kwargs())
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError("timeout", f"文字识别超时（超过 {timeout_s:.0f} 秒）。") from exc
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise corrupt("图片", RuntimeError(f"tesseract: {detail[0]}"), what="无法识别其中的文字")
    text = proc.stdout.decode("utf-8", "replace")
    pages = text.split("\f")
    if len(pages) > 1 and not pages[-1].strip():
        pages = pages[:-1]
    return [strip_cjk_spaces(p) for p in pages]


def write_pgm(path: Path, width: int, height: int, stride: int, buffer: bytes) -> None:
    """Grayscale bitmap → PGM, which tesseract reads without Pillow."""
    with open(path, "wb") as fh:
        fh.write(f"P5\n{width} {height}\n255\n".encode())
        if stride == width:
            fh.write(buffer[: width * height])
        else:
            mv = memoryview(buffer)
            for row in range(height):
                fh.write(mv[row * stride: row * stride + width])


def ocr_pdf_page(pdf_path: Path, page_index: int, *, languages: str, dpi: int, timeout_s: float,
                 password: str | None = None) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf_path), password=password)
    try:
        page = doc[page_index]
        width_pt, height_pt = page.get_size()
        # Posters and engineering drawings at 300 dpi would be gigapixel bitmaps: cap the pixel count.
        scale = min(dpi / 72, (MAX_RENDER_PIXELS / max(1.0, width_pt * height_pt)) ** 0.5)
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            with tempfile.TemporaryDirectory(prefix="kaoping-ocr-") as tmp:
                img = Path(tmp) / "page.pgm"
                write_pgm(img, bitmap.width, bitmap.height, bitmap.stride, bytes(bitmap.buffer))
                return ocr_image_file(img, languages=languages, dpi=dpi, timeout_s=timeout_s)[0]
        finally:
            bitmap.close()
            page.close()
    finally:
        doc.close()
