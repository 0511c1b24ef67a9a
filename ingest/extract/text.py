"""Plain text: decode UTF-8 / UTF-16 / GB18030 (Chinese government files are often GBK)."""
from __future__ import annotations

import codecs
import re
from pathlib import Path

from ingest.extract.types import ExtractionError, Limits, RawDocument

_CJK = re.compile(r"[\u4e00-\u9fff]")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding). GB18030 is tried before statistical guessing: it is a superset of
    GBK/GB2312 and guessers often mistake short GBK text for Big5 or Latin-1."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(enc, errors="replace"), enc
    if len(data) >= 4 and data[1::2].count(0) > len(data) * 0.3:
        return data.decode("utf-16-le", errors="replace"), "utf-16-le"
    if len(data) >= 4 and data[0::2].count(0) > len(data) * 0.3:
        return data.decode("utf-16-be", errors="replace"), "utf-16-be"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        non_ascii = [c for c in text if ord(c) > 127]
        if not non_ascii or sum(bool(_CJK.match(c)) for c in non_ascii) / len(non_ascii) > 0.6:
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes
    best = from_bytes(data).best()
    if best is not None:
        return str(best), best.encoding
    return data.decode("gb18030", errors="replace"), "gb18030"


def read_text(path: Path, limits: Limits) -> RawDocument:
    data = path.read_bytes()
    text, encoding = decode_bytes(data)
    if "\ufffd" in text and text.count("\ufffd") > max(5, len(text) // 100):
        raise ExtractionError("corrupt", "文本文件编码无法识别（大量乱码）。请另存为 UTF-8 后上传。")
    # A form feed is the only page boundary plain text has.
    pages = text.split("\f") if "\f" in text else [text]
    raw = RawDocument(format="txt", pages=pages)
    raw.hints["encoding"] = encoding
    return raw
