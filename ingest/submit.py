"""Taking an upload in: check it, store the bytes, then queue a job.

An upload is durable as soon as `submit` returns: the bytes are in the content-addressed
store and a Job row exists. Every file — a top-level upload, each member of a ZIP, a file
given to `kaoping ingest` — passes the same rules first (evidence/file_policy.py: type by
content, extension, size, and the uploader's daily quota). Archives are unpacked to disk by a
sandboxed child and become one document per member; the archive itself is not kept.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable

from sqlmodel import Session, select

from evidence import audit
from evidence.config import Settings
from evidence.file_policy import DailyQuota, daily_quota, file_refusal, safe_name, too_large
from evidence.models import Document, DocumentVersion, Job, StoredFile, User, utcnow
from evidence.states import JobState, VersionState
from evidence.store import FileStore, FileTooLarge, Incoming, private_dir
from ingest.extract import ExtractionError, Limits, unpack_sandboxed, zip_kind
from ingest.moves import move_job, move_version


@dataclass
class SubmitResult:
    filename: str
    document: Document | None = None
    duplicate_of: Document | None = None
    error: str = ""
    notices: list[str] = field(default_factory=list)
    members: list["SubmitResult"] = field(default_factory=list)

    @property
    def taken(self) -> int:
        """An archive's members now stored as documents of their own."""
        return sum(1 for m in self.members if m.document is not None)


def limits_for(settings: Settings, timeout_s: float | None = None) -> Limits:
    """The sandbox limits of one parse; `timeout_s` shortens it to what a job's budget has left."""
    return Limits(max_bytes=settings.max_upload_bytes, timeout_s=timeout_s or settings.parse_timeout_s,
                  memory_mb=settings.parse_memory_mb)


def quota_for(session: Session, settings: Settings, user: User | None) -> DailyQuota | None:
    """The uploader's daily allowance; operators at the command line (no user) have none."""
    if user is None or user.id is None:
        return None
    return daily_quota(session, user.id, settings.daily_upload_files, settings.daily_upload_bytes)


def submit(session: Session, settings: Settings, stream: BinaryIO, filename: str, *, unit_code: str,
           year: int, user: User | None = None, kind_hint: str | None = None,
           indicator_hints: Iterable[int] = (), archive_name: str | None = None,
           quota: DailyQuota | None = None) -> SubmitResult:
    """Check, store and queue one upload. Archives become one document per member."""
    filename = display_name(filename)
    if quota is None:
        quota = quota_for(session, settings, user)
    store = FileStore(settings.files_dir)
    try:
        with store.receive(stream, settings.max_upload_bytes) as incoming:
            if incoming.size == 0:
                return refused(session, user, filename, "文件为空（0 字节），未保存。", archive_name)
            refusal = file_refusal(filename, incoming.head, incoming.size, settings.max_upload_bytes)
            if refusal:
                return refused(session, user, filename, refusal, archive_name)
            container = zip_kind(incoming.path, filename)
            if container.kind == "refused":
                return refused(session, user, filename, container.reason, archive_name)
            if container.kind == "archive":
                if archive_name is not None:  # the sandbox unpacks inner archives; one it left is too deep
                    return refused(session, user, filename, f"“{filename}”是压缩包中的压缩包，未展开，未保存。",
                                   archive_name)
                return submit_archive(session, settings, incoming, filename, unit_code=unit_code, year=year,
                                      user=user, kind_hint=kind_hint, indicator_hints=indicator_hints, quota=quota)
            return register(session, store, incoming, filename, unit_code=unit_code, year=year, user=user,
                            kind_hint=kind_hint, indicator_hints=indicator_hints, archive_name=archive_name,
                            quota=quota)
    except FileTooLarge:
        return refused(session, user, filename, too_large(settings.max_upload_bytes), archive_name)


def display_name(filename: str) -> str:
    """A file's name as it is stored, listed, audited and downloaded (evidence/file_policy.safe_name:
    no folders — a ZIP member's path included — no invisible characters, no trailing dots or spaces)."""
    return safe_name(filename)


def refused(session: Session, user: User | None, filename: str, reason: str, archive_name: str | None) -> SubmitResult:
    """A file the rules kept out (a whole archive included): nothing stored, the attempt on record for the office."""
    filename = display_name(filename)
    audit.record(session, "upload_refused", user=user, object_type="document",
                 detail={"filename": filename, "archive": archive_name, "reason": reason})
    return SubmitResult(filename=filename, error=reason)


def register(session: Session, store: FileStore, incoming: Incoming, filename: str, *, unit_code: str, year: int,
             user: User | None, kind_hint: str | None, indicator_hints: Iterable[int], archive_name: str | None,
             quota: DailyQuota | None) -> SubmitResult:
    """Keep a checked file in the store and queue it, unless the unit already has the same bytes."""
    sha, size = incoming.sha256, incoming.size
    existing = session.exec(
        select(Document).join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
        .where(Document.unit_code == unit_code, Document.year == year, Document.status == "active",
               DocumentVersion.file_sha256 == sha)
    ).first()
    if existing is not None:
        return SubmitResult(filename=filename, duplicate_of=existing, notices=[
            f"与本单位已上传的“{existing.filename}”内容完全相同，未重复保存。"])  # the page links to it; no id to read
    if quota is not None:
        over = quota.refusal(filename, size)
        if over:
            return refused(session, user, filename, over, archive_name)
        quota.spend(size)
    store.keep(incoming)
    if session.get(StoredFile, sha) is None:
        session.add(StoredFile(sha256=sha, size=size))
        session.flush()
    document = Document(unit_code=unit_code, year=year, filename=filename, kind_hint=kind_hint,
                        indicator_hints=sorted(set(int(n) for n in indicator_hints)),
                        archive_name=archive_name, uploaded_by=user.id if user else None)
    session.add(document)
    session.flush()
    version = DocumentVersion(document_id=document.id, version_no=1, file_sha256=sha, state=VersionState.QUEUED)
    session.add(version)
    session.flush()
    document.current_version_id = version.id
    session.add(Job(version_id=version.id, state=JobState.QUEUED))
    audit.record(session, "upload", user=user, object_type="document", object_id=document.id,
                 detail={"filename": filename, "sha256": sha, "size": size, "unit": unit_code, "year": year,
                         "archive": archive_name})
    return SubmitResult(filename=filename, document=document)


def submit_archive(session: Session, settings: Settings, incoming: Incoming, filename: str, *, unit_code: str,
                   year: int, user: User | None, kind_hint: str | None, indicator_hints: Iterable[int],
                   quota: DailyQuota | None) -> SubmitResult:
    """Unpack in the sandbox to a private folder, then submit each member as a file of its own."""
    result = SubmitResult(filename=filename)
    with tempfile.TemporaryDirectory(dir=private_dir(settings.work_dir), prefix="unpack-") as tmp:
        try:
            members = unpack_sandboxed(incoming.path, Path(tmp) / "members", limits_for(settings))
        except ExtractionError as exc:  # the whole archive refused: traversal, too many members, a bomb…
            return refused(session, user, filename, f"压缩包无法展开：{exc.reason}", None)
        for member in members:
            if member.error:
                result.members.append(refused(session, user, member.name, member.error, filename))
            elif member.file is None:  # never written: too large to unpack
                reason = file_refusal(member.name, b"", member.size, settings.max_upload_bytes)
                result.members.append(refused(session, user, member.name, reason, filename))
            else:
                with open(Path(tmp) / "members" / member.file, "rb") as fh:
                    result.members.append(submit(
                        session, settings, fh, member.name, unit_code=unit_code, year=year, user=user,
                        kind_hint=kind_hint, indicator_hints=indicator_hints, archive_name=filename, quota=quota))
    result.notices.append(archive_summary(result))
    return result


def archive_summary(result: SubmitResult) -> str:
    """What an archive's own line says: how many of its files were taken and how many were not."""
    total, taken = len(result.members), result.taken
    duplicates = sum(1 for m in result.members if m.duplicate_of is not None)
    refused = total - taken - duplicates
    if total == 0:
        return "压缩包中没有文件。"
    if taken == total:
        return f"压缩包含 {total} 个文件，已全部接收，逐个处理。"
    parts = [f"已接收 {taken} 个"]
    if duplicates:
        parts.append(f"{duplicates} 个与已上传的文件相同（未重复保存）")
    if refused:
        parts.append(f"未保存 {refused} 个")
    return f"压缩包含 {total} 个文件：{'，'.join(parts)}（详见各文件一行）。"


def retry(session: Session, version_id: int, user: User | None = None) -> bool:
    """A failed version goes back to the queue (its job too, with a fresh count of attempts)."""
    job = session.exec(select(Job).where(Job.version_id == version_id).order_by(Job.id.desc())).first()
    version = session.get(DocumentVersion, version_id)
    if version is None or version.state != VersionState.FAILED:
        return False
    if job is not None and job.state == JobState.FAILED:
        move_job(session, job.id, JobState.QUEUED, error="", attempts=0, owner="", lease_until=None,
                 available_at=utcnow(), finished_at=None)
    else:
        session.add(Job(version_id=version_id, state=JobState.QUEUED))
    move_version(session, version_id, VersionState.QUEUED, error="", error_code="")
    session.expire(version)
    audit.record(session, "retry", user=user, object_type="version", object_id=version_id)
    return True


def retry_all_failed(session: Session, user: User | None = None) -> int:
    failed = session.exec(select(DocumentVersion.id).where(DocumentVersion.state == VersionState.FAILED)).all()
    return sum(retry(session, vid, user) for vid in failed)
