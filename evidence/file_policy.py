"""Which files may be stored, and how much one person may store in a day.

One rule for every way a file comes in: a top-level upload, each member of a ZIP (at any
depth), and `kaoping ingest`. `ingest/submit.py` applies it to every file before it reaches
the store, so an executable inside an archive is refused exactly like one uploaded on its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from evidence.models import Document, DocumentVersion, StoredFile

# Executables and scripts are never evidence; refusing them keeps the file store from
# becoming a distribution point for malware with an official-looking name.
FORBIDDEN_EXTENSIONS = frozenset({
    ".exe", ".bat", ".cmd", ".com", ".js", ".mjs", ".vbs", ".vbe", ".wsf", ".ps1", ".sh", ".bash", ".dll", ".so",
    ".dylib", ".msi", ".scr", ".pif", ".cpl", ".jar", ".apk", ".app", ".bin", ".elf", ".lnk", ".reg", ".hta",
    ".py", ".pl", ".php", ".jsp", ".asp", ".aspx", ".dmg", ".deb", ".rpm",
})
FORBIDDEN_MAGIC = (
    b"MZ",  # Windows PE
    b"\x7fELF",
    b"#!",  # scripts with an interpreter line
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",  # Mach-O
    b"\xca\xfe\xba\xbe",  # Mach-O fat binary / Java class
)
MAGIC_BYTES = max(len(m) for m in FORBIDDEN_MAGIC)
CHINA_TIME = timezone(timedelta(hours=8))  # the quota's day is a Beijing day


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
    """Why a file is refused before it is stored, or '' if it may go on: by its name, by what
    its first bytes say it is (whatever its name), and by its size."""
    suffix = Path(filename or "").suffix.lower()
    if suffix in FORBIDDEN_EXTENSIONS:
        return f"不允许上传可执行文件或脚本（{suffix}），未保存。"
    if head.startswith(FORBIDDEN_MAGIC):
        return "文件内容是可执行程序或脚本，不允许上传，未保存。"
    if size is not None and size > limit:
        return too_large(limit)
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
