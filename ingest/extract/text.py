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
    """(text, encoding); see decode_with_notes."""
    text, encoding, _ = decode_with_notes(data)
    return text, encoding


def decode_with_notes(data: bytes) -> tuple[str, str, list[str]]:
    """(text, encoding, warnings for the uploader). GB18030 is tried before statistical guessing:
    it is a superset of GBK/GB2312 and guessers often mistake short GBK text for Big5 or Latin-1.
    A decoding that had to replace bytes or guess says so: nothing is garbled quietly."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            text = data[len(bom):].decode(enc, errors="replace")
            return text, enc, _replacement_notes(text, enc)
    if len(data) >= 4 and data[1::2].count(0) > len(data) * 0.3:
        text = data.decode("utf-16-le", errors="replace")
        return text, "utf-16-le", _replacement_notes(text, "utf-16-le")
    if len(data) >= 4 and data[0::2].count(0) > len(data) * 0.3:
        text = data.decode("utf-16-be", errors="replace")
        return text, "utf-16-be", _replacement_notes(text, "utf-16-be")
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    utf16 = utf16_without_bom(data)
    if utf16 is not None:
        return utf16[0], utf16[1], _replacement_notes(utf16[0], utf16[1])
    gb = gb18030_resynchronised(data)
    bad = gb.count("\ufffd")
    if _plausible_share(gb) > 0.9 and bad <= max(3, len(gb) // 100):
        # Chinese text with a few stray bytes (a truncated copy, a damaged sector): keep it, say where
        return gb, "gb18030", _replacement_notes(gb, "gb18030")
    from charset_normalizer import from_bytes
    best = from_bytes(data).best()
    if best is not None:
        text = str(best)
        notes = [] if _plausible_share(text) > 0.9 else [
            f"无法确定文本文件的编码，已按 {best.encoding} 读取，部分文字可能是乱码。请核对，必要时另存为 UTF-8 后重新上传。"]
        return text, best.encoding, notes
    return gb, "gb18030", _replacement_notes(gb, "gb18030")


def _replacement_notes(text: str, encoding: str) -> list[str]:
    bad = text.count("\ufffd")
    if not bad:
        return []
    return [f"文本中有 {bad} 处无法按 {encoding.upper()} 编码读取的字节，已替换为“\ufffd”。其余文字已正常读取，请核对这些位置。"]


_PLAUSIBLE = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2000-\u206f\x20-\x7e\s\u00b7\u00d7\ufffd]")


def _plausible_share(text: str) -> float:
    """The share of characters a Chinese or English document is made of (a garbled decoding scores low)."""
    sample = text[:20000]
    return len(_PLAUSIBLE.findall(sample)) / len(sample) if sample else 1.0


# What a two-byte GBK character of a Chinese document is: a stray byte shifts the pairing, and the
# pairs it makes decode to private-use code points, box drawing or kana instead.
_GB_CHAR = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2010-\u203b\u2460-\u24ff\u2160-\u217f"
                      r"\u3220-\u324f\u0391-\u03c9\u00b7\u00d7\u00f7\u2103\u2116\u25a0-\u25ff\u2600-\u2642]")


def gb18030_resynchronised(data: bytes) -> str:
    """GB18030 that survives stray bytes: where Python's decoder would pair a stray byte with the
    next character's lead byte and garble the rest of the line, each stray byte becomes one U+FFFD
    and decoding picks up at the next real character."""
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    out, i, n = [], 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.append(chr(b))
            i += 1
            continue
        width = 4 if i + 1 < n and 0x30 <= data[i + 1] <= 0x39 else 2
        try:
            ch = data[i:i + width].decode("gb18030")
        except UnicodeDecodeError:
            ch = ""
        if len(ch) == 1 and (width == 4 or _GB_CHAR.match(ch)):
            out.append(ch)
            i += width
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)


def utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """Chinese text saved as UTF-16 without a byte-order mark (some Windows tools do): its bytes hold
    no NULs, so only decoding it shows what it is."""
    if len(data) < 4:
        return None
    even = data[: len(data) - len(data) % 2]
    best = None
    for enc in ("utf-16-le", "utf-16-be"):
        text = even.decode(enc, errors="replace")  # a lone surrogate becomes U+FFFD, and is counted
        if text.count("\ufffd") > max(2, len(text) // 100):
            continue
        share = _plausible_share(text)
        cjk = len(_CJK.findall(text[:20000]))
        if share > 0.95 and cjk > len(text[:20000]) * 0.3 and (best is None or share > best[2]):
            best = (text, enc, share)
    return (best[0], best[1]) if best else None


def read_text(path: Path, limits: Limits) -> RawDocument:
    data = path.read_bytes()
    text, encoding, notes = decode_with_notes(data)
    if "\ufffd" in text and text.count("\ufffd") > max(5, len(text) // 100):
        raise ExtractionError("corrupt", "文本文件编码无法识别（大量乱码）。请另存为 UTF-8 后上传。")
    # A form feed is the only page boundary plain text has.
    pages = text.split("\f") if "\f" in text else [text]
    raw = RawDocument(format="txt", pages=pages, warnings=notes)
    raw.hints["encoding"] = encoding
    return raw
