"""Which files may be stored, and how much one person may store in a day.

One rule for every way a file comes in: a top-level upload, each member of a ZIP (at any
depth), and `kaoping ingest`. `ingest/submit.py` applies it to every file before it reaches
the store, so an executable inside an archive is refused exactly like one uploaded on its own;
the parts inside an office file or OFD are checked by `member_refusal`. Every rule looks at the
name as `safe_name` normalises it, and that normalised name is the one stored and shown.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath

from sqlalchemy import func
from sqlmodel import Session, select

from evidence.models import Document, DocumentVersion, StoredFile

# What ingest reads as evidence (ingest/extract: sniffed by content, the extension only breaks ties),
# and ZIP archives of it. Anything else is refused by name: a denylist of dangerous types always
# misses one (.jse, .wsc, .xll, .docm, .svg, .url …), an allowlist cannot.
# HTML stays in: saved policy pages are evidence, ingest reads them, and a download is always an
# attachment of an opaque type with nosniff and a sandboxing CSP (review_ui/routes/evidence.py), so a
# stored page never runs in the app's origin. SVG (script-capable) is not read by ingest and is refused
# here; inside a DOCX, where Word keeps SVG pictures, it is a picture part like any other.
EVIDENCE_EXTENSIONS = frozenset({
    ".pdf", ".doc", ".docx", ".wps", ".rtf", ".odt", ".txt", ".htm", ".html", ".xlsx", ".ofd",
    ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".zip",
})
ALLOWED_LABEL = "PDF、Word（DOCX/DOC/WPS/RTF/ODT）、Excel（XLSX）、OFD、网页（HTML）、文本（TXT）、图片和 ZIP 压缩包"
# Executables, scripts, macro documents and shortcuts: named in their own message, and refused as
# members of any container — office files and OFD included — where the allowlist does not apply.
EXECUTABLE_EXTENSIONS = frozenset({
    ".exe", ".bat", ".cmd", ".com", ".js", ".jse", ".mjs", ".vbs", ".vbe", ".wsf", ".wsh", ".wsc", ".sct",
    ".ps1", ".psm1", ".psd1", ".sh", ".bash", ".zsh", ".csh", ".ksh", ".command", ".dll", ".so", ".dylib",
    ".msi", ".msp", ".mst", ".msc", ".scr", ".pif", ".cpl", ".jar", ".apk", ".app", ".bin", ".elf", ".lnk",
    ".reg", ".hta", ".chm", ".inf", ".ins", ".scf", ".url", ".gadget", ".iso", ".img", ".vhd", ".vhdx",
    ".py", ".pyc", ".pyw", ".pl", ".rb", ".php", ".jsp", ".asp", ".aspx", ".cgi", ".dmg", ".deb", ".rpm",
    ".xll", ".xlam", ".docm", ".dotm", ".xlsm", ".xltm", ".pptm", ".potm", ".ppam",
})
# Inside a DOCX, an embedded object is word/embeddings/oleObjectN.bin (an OLE compound file, checked by
# its first bytes like every member); a macro project is code whatever it is called.
CONTAINER_BIN_OK = ".bin"
MACRO_PARTS = ("vbaproject.bin", "vbadata.xml")
FORBIDDEN_MAGIC = (
    b"MZ",  # Windows PE
    b"\x7fELF",
    b"#!",  # scripts with an interpreter line
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",  # Mach-O
    b"\xca\xfe\xba\xbe",  # Mach-O fat binary / Java class
)
MAGIC_BYTES = max(len(m) for m in FORBIDDEN_MAGIC)
CHINA_TIME = timezone(timedelta(hours=8))  # the quota's day is a Beijing day
MAX_NAME = 255
UNNAMED = "未命名"
# Control and format characters (Cc, Cf: bidi overrides U+202A–U+202E and isolates U+2066–U+2069, zero
# widths) and lone surrogates make a name read differently from what it is: "报告\u202excod.exe".
_INVISIBLE = {"Cc", "Cf", "Cs"}


def safe_name(filename: str | None) -> str:
    """The one name a file is known by — stored, listed, audited and offered for download — and the name
    every rule looks at: no folders, no invisible or direction-changing characters, nothing from a ':'
    on (an NTFS stream, "run.cmd::$DATA"), no trailing dots or spaces (Windows drops them, so "run.bat."
    would be saved as run.bat)."""
    text = "".join(ch for ch in str(filename or "") if unicodedata.category(ch) not in _INVISIBLE)
    text = unicodedata.normalize("NFC", text).replace("\\", "/").rsplit("/", 1)[-1]
    text = _trim(text.split(":", 1)[0])
    if len(text) > MAX_NAME:
        suffix = PurePosixPath(text).suffix[:16]
        text = _trim(text[:MAX_NAME - len(suffix)] + suffix)
    return text if text.strip(".") else UNNAMED


def _trim(text: str) -> str:
    """Without the spaces around it and the dots and spaces Windows drops from its end."""
    return text.strip().rstrip(". ").strip()


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def human_size(n: float) -> str:
    """A size as Chinese office software writes it: 字节 for small files, no trailing “.0”."""
    for unit in ("字节", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            if unit == "字节":
                return f"{n:.0f} 字节"
            text = f"{n:.1f}".removesuffix(".0")
            return f"{text} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover - the loop always returns


def file_refusal(filename: str, head: bytes, size: int | None, limit: int) -> str:
    """Why a file is refused before it is stored, or '' if it may go on: by its (normalised) name —
    an executable, or anything that is not an evidence format — by what its first bytes say it is
    (whatever its name), and by its size."""
    suffix = _suffix(safe_name(filename))
    if suffix in EXECUTABLE_EXTENSIONS:
        return f"不允许上传可执行文件或脚本（{suffix}），未保存。"
    if suffix not in EVIDENCE_EXTENSIONS:
        kind = f"（{suffix}）" if suffix else "（没有扩展名）"
        return f"不支持此类文件{kind}，未保存。可以上传：{ALLOWED_LABEL}。"
    if head.startswith(FORBIDDEN_MAGIC):
        return "文件内容是可执行程序或脚本，不允许上传，未保存。"
    if size is not None and size > limit:
        return too_large(limit)
    return ""


def member_refusal(member: str, head: bytes) -> str:
    """Why a part inside an office file or OFD (a ZIP of parts whose names are not evidence formats)
    makes the whole file unacceptable, or '': an executable, script or macro by name, or by its first bytes."""
    name = safe_name(member)
    suffix = _suffix(name)
    if name.lower() in MACRO_PARTS:
        return f"含有宏代码（{name}）"
    if suffix in EXECUTABLE_EXTENSIONS and suffix != CONTAINER_BIN_OK:
        return f"含有可执行文件或脚本（{name}）"
    if head.startswith(FORBIDDEN_MAGIC):
        return f"含有可执行程序（{name}）"
    return ""


def too_large(limit: int) -> str:
    """The one answer to a file over the size limit, however its size came to be known."""
    return f"文件超过大小上限，未保存。单个文件上限 {human_size(limit)}，超过上限的文件请压缩或拆分后再上传。"


@dataclass
class DailyQuota:
    """What a user has stored today (Beijing day) against the per-day limits; one upload
    request carries it from file to file (ZIP members included) and spends as it stores."""
    files: int
    bytes: int
    max_files: int
    max_bytes: int

    def spend(self, size: int) -> None:
        self.files += 1
        self.bytes += size

    def refusal(self, filename: str, size: int) -> str:
        """Why one more file of this size would break the quota, or ''."""
        if self.files + 1 > self.max_files or self.bytes + size > self.max_bytes:
            return (f"您今天已上传 {self.files} 个文件、共 {human_size(self.bytes)}，每人每天最多 {self.max_files} 个文件、"
                    f"{human_size(self.max_bytes)}；“{filename}”未保存。请明天再上传，或联系协调小组办公室。")
        return ""


def start_of_day(now: datetime | None = None) -> datetime:
    now = now or datetime.now(timezone.utc)
    local = now.astimezone(CHINA_TIME)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


def daily_quota(session: Session, user_id: int, max_files: int, max_bytes: int,
                now: datetime | None = None) -> DailyQuota:
    """Documents this user queued since Beijing midnight, and the bytes of their files.
    A duplicate that was not stored again costs nothing."""
    files, stored = session.exec(
        select(func.count(Document.id), func.coalesce(func.sum(StoredFile.size), 0))
        .join(DocumentVersion, DocumentVersion.document_id == Document.id)
        .join(StoredFile, StoredFile.sha256 == DocumentVersion.file_sha256)
        .where(Document.uploaded_by == user_id, Document.created_at >= start_of_day(now),
               DocumentVersion.version_no == 1)).one()
    return DailyQuota(int(files), int(stored), max_files, max_bytes)
