"""The ingest pipeline: store first, then process from a persistent queue.

Stages, each visible on the document version as its `state`:
  queued → extracting → tagging → indexed      (or → failed, with a Chinese reason)

An upload is durable as soon as `submit` returns: the bytes are in the
content-addressed store and a Job row exists. The worker claims jobs one at a
time; whatever it was doing when killed is re-queued at the next start, and
every stage rewrites its own output, so re-running a job is safe.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable

from rapidfuzz import fuzz
from sqlalchemy import update
from sqlmodel import Session, delete, select

from evidence import audit
from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import (Document, DocumentVersion, Job, Page, Passage, StoredFile, TagDecision,
                             TagSuggestion, User, utcnow)
from evidence.store import FileStore, FileTooLarge

log = logging.getLogger("kaoping.ingest")

EXTRACTOR_VERSION = "1"
STATE_LABELS = {
    "queued": "排队中", "extracting": "提取文本", "ocr": "文字识别（OCR）", "tagging": "指标标注",
    "indexed": "已入库", "failed": "失败",
}
NEAR_DUPLICATE_RATIO = 92


@dataclass
class SubmitResult:
    filename: str
    document: Document | None = None
    duplicate_of: Document | None = None
    error: str = ""
    notices: list[str] = field(default_factory=list)
    members: list["SubmitResult"] = field(default_factory=list)


def _limits(settings: Settings):
    from ingest.extract import Limits
    return Limits(max_bytes=settings.max_upload_bytes, timeout_s=settings.parse_timeout_s,
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

    from ingest.extract import ExtractionError, expand_archive, is_archive
    path = store.path_for(sha)
    if archive_name is None and is_archive(path):
        result = SubmitResult(filename=filename)
        try:
            members = expand_archive(path, _limits(settings))
        except ExtractionError as exc:
            result.error = f"压缩包无法展开：{exc.reason}"
            return result
        import io
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
    version = DocumentVersion(document_id=document.id, version_no=1, file_sha256=sha)
    session.add(version)
    session.flush()
    document.current_version_id = version.id
    session.add(Job(version_id=version.id))
    audit.record(session, "upload", user=user, object_type="document", object_id=document.id,
                 detail={"filename": filename, "sha256": sha, "size": size, "unit": unit_code, "year": year,
                         "archive": archive_name})
    return SubmitResult(filename=filename, document=document)


def reingest(session: Session, document: Document, user: User | None = None) -> DocumentVersion:
    """A new immutable version from the same file (after a parser or rubric change)."""
    current = session.get(DocumentVersion, document.current_version_id)
    version = DocumentVersion(document_id=document.id, version_no=current.version_no + 1,
                              file_sha256=current.file_sha256)
    session.add(version)
    session.flush()
    session.add(Job(version_id=version.id))
    return version


def retry(session: Session, version_id: int, user: User | None = None) -> bool:
    job = session.exec(select(Job).where(Job.version_id == version_id).order_by(Job.id.desc())).first()
    version = session.get(DocumentVersion, version_id)
    if job is None or version is None or version.state != "failed":
        return False
    job.state, job.error = "queued", ""
    version.state, version.error, version.error_code = "queued", "", ""
    audit.record(session, "retry", user=user, object_type="version", object_id=version_id)
    return True


def retry_all_failed(session: Session, user: User | None = None) -> int:
    failed = session.exec(select(DocumentVersion.id).where(DocumentVersion.state == "failed")).all()
    return sum(retry(session, vid, user) for vid in failed)


# ── The worker ──────────────────────────────────────────────────────────────

def requeue_interrupted(settings: Settings) -> int:
    """Jobs left running by a killed worker go back to the queue."""
    with session_scope(settings.database_url) as session:
        jobs = session.exec(select(Job).where(Job.state == "running")).all()
        for job in jobs:
            job.state = "queued"
            version = session.get(DocumentVersion, job.version_id)
            if version and version.state not in ("failed", "indexed"):
                version.state = "queued"
        session.commit()
        return len(jobs)


def claim_next(settings: Settings) -> int | None:
    with session_scope(settings.database_url) as session:
        job = session.exec(select(Job).where(Job.state == "queued").order_by(Job.id)).first()
        if job is None:
            return None
        claimed = session.exec(
            update(Job).where(Job.id == job.id, Job.state == "queued")
            .values(state="running", started_at=utcnow(), attempts=Job.attempts + 1)
        )
        session.commit()
        return job.id if claimed.rowcount == 1 else None


def _set_state(settings: Settings, version_id: int, state: str) -> None:
    with session_scope(settings.database_url) as session:
        session.exec(update(DocumentVersion).where(DocumentVersion.id == version_id).values(state=state))
        session.commit()


def process_job(settings: Settings, job_id: int, index=None) -> str:
    """Run one job to its end state; returns 'indexed' or 'failed'."""
    from ingest.extract import ExtractionError, extract_file_sandboxed, split_passages

    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        version = session.get(DocumentVersion, job.version_id)
        document = session.get(Document, version.document_id)
        filename, sha, version_id, year = document.filename, version.file_sha256, version.id, document.year
        # Stored passages are never rewritten in place (reviewers may link them already): a job that
        # died after storing only has the indexing and its final state left to do.
        already_stored = session.exec(select(Passage.id).where(Passage.version_id == version_id)).first() is not None
    path = FileStore(settings.files_dir).path_for(sha)
    final, error, code = "indexed", "", ""
    if not already_stored:
        try:
            _set_state(settings, version_id, "extracting")
            extraction = extract_file_sandboxed(path, filename=filename, limits=_limits(settings))
            passages = split_passages(extraction)
            _set_state(settings, version_id, "tagging")
            tagger = tagger_for(settings, year)
            tags = tagger.tag_passages(passages)
            with session_scope(settings.database_url) as session:
                _store_extraction(session, version_id, extraction, passages, tags, tagger.version)
                session.commit()
        except ExtractionError as exc:
            final, error, code = "failed", exc.reason, exc.code
        except Exception as exc:  # the worker must survive anything one file does
            log.exception("job %s failed", job_id)
            final, error, code = "failed", f"处理时发生内部错误（{type(exc).__name__}），请重试或联系管理员。", "internal"
    if final == "indexed" and index is not None:
        # The database is the source of truth: an index hiccup (busy, rebuilding) must not fail a stored
        # document, whose passages may already be linked; `kaoping reindex` repairs the index.
        try:
            update_index(settings, index, version_id)
        except Exception:
            log.exception("indexing version %s failed; run kaoping reindex", version_id)
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        version = session.get(DocumentVersion, version_id)
        job.state = "done" if final == "indexed" else "failed"
        job.error, job.finished_at = error, utcnow()
        version.state, version.error, version.error_code = final, error, code
        if final == "indexed":
            version.indexed_at = utcnow()
        session.commit()
    return final


def tagger_for(settings: Settings, year: int):
    """The rules plus the year's learned model, if reviewers' feedback has trained one."""
    from tagging.tagger import default_tagger
    return default_tagger(year, settings.models_dir if settings.models_dir.exists() else None)


def _store_extraction(session: Session, version_id: int, extraction, passages, tags, tagger_version: str) -> None:
    version = session.get(DocumentVersion, version_id)
    for model in (TagSuggestion, Passage, Page):
        session.exec(delete(model).where(model.version_id == version_id))
    meta = extraction.metadata
    version.format = extraction.format
    version.text = extraction.text
    version.page_count = len(extraction.pages)
    version.ocr_pages = list(extraction.ocr_pages)
    version.title = meta.title or ""
    version.doc_number = meta.doc_number or ""
    version.issuer = meta.issuer or ""
    version.doc_date = meta.date
    document = session.get(Document, version.document_id)
    version.doc_kind = document.kind_hint or meta.kind or "other"
    version.about_unit = meta.unit_code
    version.meta_confidence = dict(meta.confidence or {})
    version.warnings = list(extraction.warnings)
    version.extractor_version = EXTRACTOR_VERSION
    version.tagger_version = tagger_version
    for no, start in enumerate(extraction.page_starts, start=1):
        page = extraction.pages[no - 1]
        session.add(Page(version_id=version_id, no=page.no, start=start, end=start + len(page.text), ocr=page.ocr))
    rows = []
    for span in passages:
        row = Passage(version_id=version_id, seq=span.seq, page_no=span.page_no, start=span.start,
                      end=span.end, text=span.text)
        session.add(row)
        rows.append(row)
    session.flush()
    _store_tags(session, version_id, rows, tags, tagger_version)
    _flag_near_duplicate(session, document, version)


def retag_year(settings: Settings, year: int, index=None, progress=None) -> int:
    """Re-run tagging for a year's current versions after a rubric or model change.

    Passages are kept as they are, so reviewers' confirmations and rejections (which
    point at passages) stay attached and keep overriding the new suggestions.
    """
    tagger = tagger_for(settings, year)
    with session_scope(settings.database_url) as session:
        version_ids = session.exec(select(Document.current_version_id).where(
            Document.year == year, Document.status == "active", Document.current_version_id != None)).all()  # noqa: E711
    done = 0
    for version_id in version_ids:
        with session_scope(settings.database_url) as session:
            version = session.get(DocumentVersion, version_id)
            if version is None or version.state != "indexed":
                continue
            rows = list(session.exec(select(Passage).where(Passage.version_id == version_id).order_by(Passage.seq)))
            tags = tagger.tag_passages(rows)
            session.exec(delete(TagSuggestion).where(TagSuggestion.version_id == version_id))
            _store_tags(session, version_id, rows, tags, tagger.version)
            version.tagger_version = tagger.version
            session.commit()
        if index is not None:
            update_index(settings, index, version_id)
        done += 1
        if progress:
            progress(1)
    return done


def _store_tags(session: Session, version_id: int, rows: list[Passage], tags, tagger_version: str) -> None:
    by_span = {(p.start, p.end): p for p in rows}

    def passage_for(hit) -> Passage | None:
        exact = by_span.get((hit.start, hit.end))
        if exact is not None:
            return exact
        return next((p for p in rows if p.start <= hit.start < p.end), None)

    for suggested, suggestions in ((True, tags.indicators), (False, tags.candidates)):
        for s in suggestions:
            session.add(TagSuggestion(version_id=version_id, passage_id=None, indicator_no=s.no, score=s.score,
                                      suggested=suggested, reason=s.reason, matched_terms=list(s.matched_terms),
                                      tagger_version=tagger_version))
            seen = set()
            for hit in s.passages:
                passage = passage_for(hit)
                if passage is None or passage.id in seen:
                    continue
                seen.add(passage.id)
                session.add(TagSuggestion(
                    version_id=version_id, passage_id=passage.id, indicator_no=s.no,
                    score=getattr(hit, "score", s.score), suggested=suggested, reason=s.reason,
                    matched_terms=list(getattr(hit, "matched_terms", None) or s.matched_terms),
                    tagger_version=tagger_version))


def _flag_near_duplicate(session: Session, document: Document, version: DocumentVersion) -> None:
    """The same policy uploaded as PDF and DOCX: flag, never merge."""
    probe = "".join(version.text.split())[:4000]
    if len(probe) < 200:
        return
    others = session.exec(
        select(Document, DocumentVersion).join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
        .where(Document.unit_code == document.unit_code, Document.id != document.id,
               Document.status == "active", DocumentVersion.state == "indexed")
    ).all()
    for other_doc, other_version in others:
        other = "".join(other_version.text.split())[:4000]
        if other and fuzz.ratio(probe, other) >= NEAR_DUPLICATE_RATIO:
            document.near_duplicate_of = other_doc.id
            version.warnings = list(version.warnings) + [
                f"与“{other_doc.filename}”（编号 {other_doc.id}）内容高度相似，可能为同一文件的不同格式。"]
            return


# ── Index feeding ───────────────────────────────────────────────────────────

def decided_indicators(session: Session, document_id: int) -> tuple[dict[int | None, set[int]], dict[int | None, set[int]]]:
    """Latest reviewer decision per (passage, indicator): confirmed and rejected sets per passage id."""
    confirmed: dict[int | None, set[int]] = {}
    rejected: dict[int | None, set[int]] = {}
    latest: dict[tuple[int | None, int], str] = {}
    for d in session.exec(select(TagDecision).where(TagDecision.document_id == document_id).order_by(TagDecision.id)):
        latest[(d.passage_id, d.indicator_no)] = d.decision
    for (pid, no), decision in latest.items():
        (confirmed if decision == "confirm" else rejected).setdefault(pid, set()).add(no)
    return confirmed, rejected


def index_records(session: Session, version_id: int) -> list[dict]:
    version = session.get(DocumentVersion, version_id)
    document = session.get(Document, version.document_id)
    if document.status != "active" or document.current_version_id != version_id or version.state not in (
            "tagging", "indexed"):
        return []
    suggested: dict[int, set[int]] = {}
    for s in session.exec(select(TagSuggestion).where(TagSuggestion.version_id == version_id,
                                                      TagSuggestion.suggested == True,  # noqa: E712
                                                      TagSuggestion.passage_id != None)):  # noqa: E711
        suggested.setdefault(s.passage_id, set()).add(s.indicator_no)
    confirmed, rejected = decided_indicators(session, document.id)
    doc_confirmed = confirmed.get(None, set())
    doc_rejected = rejected.get(None, set())
    records = []
    for p in session.exec(select(Passage).where(Passage.version_id == version_id).order_by(Passage.seq)):
        p_confirmed = confirmed.get(p.id, set()) | doc_confirmed
        p_rejected = rejected.get(p.id, set()) | doc_rejected
        tags = (suggested.get(p.id, set()) - p_rejected) | p_confirmed
        records.append({
            "passage_id": p.id, "document_id": document.id, "version_id": version_id,
            "unit": document.unit_code, "year": document.year, "kind": version.doc_kind,
            "indicators": sorted(tags), "confirmed": sorted(p_confirmed),
            "doc_number": version.doc_number, "issuer": version.issuer, "date": version.doc_date or "",
            "title": version.title or document.filename, "filename": document.filename,
            "page": p.page_no, "start": p.start, "end": p.end, "text": p.text,
        })
    return records


def update_index(settings: Settings, index, version_id: int) -> None:
    with session_scope(settings.database_url) as session:
        version = session.get(DocumentVersion, version_id)
        records = index_records(session, version_id)
        document_id = version.document_id
    index.delete_document(document_id)
    if records:
        index.add(records)


def all_index_records(settings: Settings) -> Iterable[dict]:
    with session_scope(settings.database_url) as session:
        ids = session.exec(select(Document.current_version_id).where(
            Document.status == "active", Document.current_version_id != None)).all()  # noqa: E711
    for vid in ids:
        with session_scope(settings.database_url) as session:
            yield from index_records(session, vid)
    from casebook.collections import index_records as collection_records
    from evidence.models import Collection
    with session_scope(settings.database_url) as session:
        for collection in session.exec(select(Collection).order_by(Collection.id)):
            yield from collection_records(session, collection)


def open_index(settings: Settings):
    from index import EvidenceIndex
    return EvidenceIndex(settings.index_dir)


class Worker:
    """Processes the queue until stopped; safe to run in a thread of the web app."""

    def __init__(self, settings: Settings, poll_s: float = 1.0):
        self.settings = settings
        self.poll_s = poll_s
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, once: bool = False, on_done=None) -> int:
        """Process jobs; with once=True stop when the queue is empty. on_done(1) is called per job."""
        requeue_interrupted(self.settings)
        index = open_index(self.settings)
        done = 0
        while not self.stop.is_set():
            job_id = claim_next(self.settings)
            if job_id is None:
                if once:
                    break
                self.stop.wait(self.poll_s)
                continue
            process_job(self.settings, job_id, index)
            done += 1
            if on_done:
                on_done(1)
        return done

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="kaoping-worker", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 10) -> None:
        self.stop.set()
        if self._thread:
            self._thread.join(timeout)


def drain(settings: Settings) -> int:
    """Process everything queued now (CLI ingest and tests)."""
    return Worker(settings).run(once=True)


def wait_for(settings: Settings, version_ids: list[int], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            states = session.exec(select(DocumentVersion.state).where(DocumentVersion.id.in_(version_ids))).all()
        if all(s in ("indexed", "failed") for s in states):
            return
        time.sleep(0.2)
