"""Decide a file's real type from its bytes; the extension only breaks ties."""
from __future__ import annotations

import zipfile
from pathlib import Path

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
    (b"BM", "bmp"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
)
OTHER_ARCHIVES = ((b"Rar!\x1a\x07", "RAR"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"\x1f\x8b", "gzip"))
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta ", b"<div", b"<p>", b"<title")


def sniff(path: Path, filename: str | None = None) -> str:
    """One of: pdf docx doc wps rtf odt xlsx html txt ofd image zip, or 'unknown:<what>'."""
    ext = Path(filename or path.name).suffix.lower().lstrip(".")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if not head:
        return "empty"
    # Some generators prepend junk before %PDF-; readers accept it within 1 KB.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return sniff_zip(path, ext)
    if head.startswith(OLE_MAGIC):
        return _sniff_ole(path, ext)
    if head.lstrip().startswith(b"{\\rtf"):
        return "rtf"
    for magic, _kind in IMAGE_MAGIC:
        if head.startswith(magic):
            return "image"
    for magic, name in OTHER_ARCHIVES:
        if head.startswith(magic):
            return f"unknown:{name}"
    if _looks_like_html(head):
        return "html"
    if _looks_like_text(head):
        return "txt"
    return "unknown:binary"


def _ole_stream_names(path: Path) -> set[str]:
    """Which well-known streams an OLE compound file holds (directory entries are UTF-16 names)."""
    import mmap
    wanted = {"Root Entry": "root", "EncryptedPackage": "encrypted", "WordDocument": "word", "Workbook": "excel",
              "Book": "excel", "PowerPoint Document": "powerpoint"}
    found: set[str] = set()
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        for name, label in wanted.items():
            if mm.find(name.encode("utf-16-le") + b"\x00\x00") != -1:
                found.add(label)
    return found


def _sniff_ole(path: Path, ext: str) -> str:
    streams = _ole_stream_names(path)
    if not streams:
        return "corrupt_ole"  # no "Root Entry" (every compound file has one), no known stream: noise
    if "encrypted" in streams:
        return "encrypted_office"  # a password-protected DOCX/XLSX is stored inside an OLE container
    if "word" not in streams and "excel" in streams:
        return "unknown:xls"  # only LibreOffice Writer is installed: Calc could not convert it
    if "word" not in streams and "powerpoint" in streams:
        return "unknown:PowerPoint"
    return "wps" if ext == "wps" else "doc"


def sniff_zip(path: Path, ext: str = "") -> str:
    """What a ZIP holds: docx, ofd, odt, xlsx, 'zip' (anything else), 'unknown:…' or 'corrupt_zip'."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "OFD.xml" in names:
                return "ofd"
            if "mimetype" in names:
                with zf.open("mimetype") as part:  # its first bytes only: the upload's checks run in the web process
                    mime = part.read(100)
                if b"opendocument.text" in mime:
                    return "odt"
                if b"opendocument" in mime:
                    return "unknown:OpenDocument 表格/演示"
            if "xl/workbook.xml" in names:
                return "xlsx"
            if any(n.startswith("ppt/") for n in names):
                return "unknown:PowerPoint"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, EOFError, NotImplementedError, RuntimeError):
        # A docx whose central directory is gone is "corrupt", not an archive.
        return "docx" if ext == "docx" else ("corrupt_zip")
    return "zip"


def _looks_like_html(head: bytes) -> bool:
    sample = head[:4096].lower()
    for bom in (b"\xef\xbb\xbf",):
        if sample.startswith(bom):
            sample = sample[len(bom):]
    if sample.startswith(b"\xff\xfe") or sample.startswith(b"\xfe\xff"):
        sample = sample.replace(b"\x00", b"")
    stripped = sample.lstrip()
    if stripped.startswith(b"<!doctype html") or stripped.startswith(b"<html"):
        return True
    return stripped.startswith(b"<") and sum(m in sample for m in HTML_MARKERS) >= 2


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return True
    # UTF-16 without BOM: every other byte is NUL for ASCII-heavy text.
    if len(head) >= 4 and (head[1::2].count(0) > len(head) * 0.3 or head[0::2].count(0) > len(head) * 0.3):
        return True
    # A stray NUL or control character (a paste from another program) does not make text binary.
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    if controls <= len(head) * 0.02 and head.count(0) <= max(2, len(head) // 200):
        return True
    from ingest.extract.text import utf16_without_bom
    return utf16_without_bom(head) is not None  # Chinese UTF-16 has no NULs but many "control" bytes
