"""Taking an upload in: store the bytes first, then queue a job.

An upload is durable as soon as `submit` returns: the bytes are in the content-addressed
store and a Job row exists. Archives become one document per member.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable

from sqlmodel import Session, select

from evidence import audit
from evidence.config import Settings
from evidence.models import Document, DocumentVersion, Job, StoredFile, User, utcnow
from evidence.states import JobState, VersionState
from evidence.store import FileStore, FileTooLarge
from ingest.extract import ExtractionError, Limits, expand_archive, is_archive
from ingest.moves import move_job, move_version


@dataclass
class SubmitResult:
    filename: str
    document: Document | None = None
    duplicate_of: Document | None = None
    error: str = ""
    notices: list[str] = field(default_factory=list)
    members: list["SubmitResult"] = field(default_factory=list)


def limits_for(settings: Settings, timeout_s: float | None = None) -> Limits:
    """The sandbox limits of one parse; `timeout_s` shortens it to what a job's budget has left."""
    return Limits(max_bytes=settings.max_upload_bytes, timeout_s=timeout_s or settings.parse_timeout_s,
                  memory_mb=settings.parse_memory_mb)


def submit(session: Session, settings: Settings, stream: BinaryIO, filename: str, *, unit_code: str,
           year: int, user: User | None = None, kind_hint: str | None = None,
           indicator_hints: Iterable[int] = (), archive_name: str | None = None) -> SubmitResult:
    """Store an upload and queue it. Archives become one document per member."""
    filename = Path(filename or "未命名").name[:255]
    store = FileStore(settings.files_dir)
    try:
        sha, size = store.put_stream(stream, settings.max_upload_bytes)
    except FileTooLarge as exc:
        return SubmitResult(filename=filename, error=str(exc))
    if size == 0:
        return SubmitResult(filename=filename, error="文件为空（0 字节），未保存。")
    if session.get(StoredFile, sha) is None:
        session.add(StoredFile(sha256=sha, size=size))
        session.flush()

    path = store.path_for(sha)
    if archive_name is None and is_archive(path):
        result = SubmitResult(filename=filename)
        try:
            members = expand_archive(path, limits_for(settings))
        except ExtractionError as exc:
            result.error = f"压缩包无法展开：{exc.reason}"
            return result
        for member in members:
            result.members.append(submit(
                session, settings, io.BytesIO(member.data), member.name, unit_code=unit_code, year=year,
                user=user, kind_hint=kind_hint, indicator_hints=indicator_hints, archive_name=filename))
        result.notices.append(f"压缩包 {filename} 含 {len(members)} 个文件，已分别登记。")
        return result

    existing = session.exec(
        select(Document).join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
        .where(Document.unit_code == unit_code, Document.year == year, Document.status == "active",
               DocumentVersion.file_sha256 == sha)
    ).first()
    if existing is not None:
        return SubmitResult(filename=filename, duplicate_of=existing, notices=[
            f"与已上传的“{existing.filename}”（编号 {existing.id}）内容完全相同，未重复保存。"])

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
