"""The ingest stages of one job: extract → split → tag → store, then feed the index.

Stages, each visible on the document version as its `state` (evidence.states, every move checked):
  queued → extracting → tagging → indexed      (or → failed, with a Chinese reason)

Idempotent: extraction, splitting and tagging write nothing until one transaction stores all their
rows, so a job resumed at any point either finds nothing stored (and starts over) or everything
(and only indexes). Stored passages are never rewritten (reviewers may link them already). Every
write is fenced by the job's lease (ingest.moves), so a worker that lost its job writes nothing.
The version becomes `indexed` only after the index holds it: "indexed" means "found by search".
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlalchemy import func
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeout
from sqlmodel import Session, delete, select

from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import Document, DocumentVersion, Job, Page, Passage, TagSuggestion, utcnow
from evidence.states import JobState, VersionState
from evidence.store import FileStore
from index.evidence_index import IndexNeedsRebuild
from index.feed import open_index, update_index
from ingest.extract import ExtractionError, extract_file_sandboxed, split_passages
from ingest.extract.types import internal
from ingest.moves import Lease, LeaseLost, move_job, move_version
from ingest.submit import limits_for

log = logging.getLogger("kaoping.ingest")

EXTRACTOR_VERSION = "1"
NEAR_DUPLICATE_RATIO = 92
NEAR_DUPLICATE_PROBE = 4000  # characters (whitespace removed) compared between two documents
INDEX_RETRY_REASON = "已保存，检索索引暂时无法写入，稍后自动重试。"
INDEX_REBUILD_REASON = "已保存，检索索引正在重建或需要重建（kaoping reindex），完成后自动写入。"
# A database that is busy, restarting or out of connections: not the file's fault, retried later.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError, PoolTimeout)


class OverBudget(Exception):
    """The job ran past its time budget (Settings.job_timeout_s)."""

    def __init__(self, stage: str, budget_s: int):
        super().__init__(stage)
        self.reason = (f"处理超时：本文件的处理超过 {budget_s} 秒（{stage}时），已中止，其余文件照常处理。"
                       "文件可能过大或结构异常，可拆分后重新上传。")


def process_job(settings: Settings, job_id: int, index=None, lease: Lease | None = None) -> str | None:
    """Run one job to its end state: 'indexed' or 'failed', or None when it was given back for a
    later retry (the index could not be written). Raises LeaseLost when another worker took it."""
    lease = lease or Lease.of_current_owner(settings, job_id)
    index = index if index is not None else open_index(settings)
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        version = session.get(DocumentVersion, job.version_id)
        document = session.get(Document, version.document_id)
        filename, sha, version_id, year = document.filename, version.file_sha256, version.id, document.year
        stored = session.exec(select(Passage.id).where(Passage.version_id == version_id)).first() is not None
    try:
        if not stored:
            _extract_tag_store(settings, lease, version_id, filename, sha, year)
        else:
            # Everything was stored before an interruption: only the index and the final state remain.
            _move(settings, lease, version_id, VersionState.TAGGING)
            _check_near_duplicate(settings, lease, version_id)
        _within_budget(lease, "写入索引")
        try:
            update_index(settings, index, version_id)
        except IndexNeedsRebuild:  # waits for `kaoping reindex`, however long: not the file's fault
            return _give_back(settings, lease, INDEX_REBUILD_REASON, counted=False)
        except Exception:  # the database is the truth: a busy index is retried later
            log.exception("indexing version %s failed; the job will be retried", version_id)
            return _give_back(settings, lease, INDEX_RETRY_REASON)
        with session_scope(settings.database_url) as session:
            lease.fence(session)
            move_version(session, version_id, VersionState.INDEXED, indexed_at=utcnow(), error="", error_code="")
            move_job(session, job_id, JobState.DONE, held_by=lease.owner, finished_at=utcnow(), error="",
                     owner="", lease_until=None)
            session.commit()
        return VersionState.INDEXED
    except ExtractionError as exc:
        if exc.detail:  # what the library said stays here, for whoever reads the log; the user reads `reason`
            log.warning("version %s (%s) failed: %s (%s)", version_id, filename, exc.code, exc.detail)
        return _fail(settings, lease, version_id, exc.reason, exc.code)
    except OverBudget as exc:
        return _fail(settings, lease, version_id, exc.reason, "timeout")
    except (LeaseLost, *TRANSIENT_DATABASE_ERRORS):
        raise  # not the file's fault: the worker gives the job back or leaves it to its new owner
    except Exception as exc:  # the worker must survive anything one file does
        log.exception("job %s failed", job_id)
        failure = internal(exc)
        return _fail(settings, lease, version_id, failure.reason, failure.code)


def _extract_tag_store(settings: Settings, lease: Lease, version_id: int, filename: str, sha: str,
                       year: int) -> None:
    _move(settings, lease, version_id, VersionState.EXTRACTING)
    path = FileStore(settings.files_dir).path_for(sha)
    seconds = min(settings.parse_timeout_s, max(1.0, lease.deadline - time.monotonic()))
    extraction = extract_file_sandboxed(path, filename=filename, limits=limits_for(settings, timeout_s=seconds))
    _within_budget(lease, "提取文本")
    passages = split_passages(extraction)
    _move(settings, lease, version_id, VersionState.TAGGING)
    tagger = tagger_for(settings, year)
    tags = tagger.tag_passages(passages)
    _within_budget(lease, "指标标注")
    extraction.warnings.extend(navigation_warnings(extraction))
    with session_scope(settings.database_url) as session:
        lease.fence(session)
        _store_extraction(session, version_id, extraction, passages, tags, tagger.version)
        session.commit()
    _check_near_duplicate(settings, lease, version_id)


def _check_near_duplicate(settings: Settings, lease: Lease, version_id: int) -> None:
    """After the store, in its own short transaction: it reads other documents of the unit."""
    with session_scope(settings.database_url) as session:
        lease.fence(session)
        _flag_near_duplicate(session, version_id)
        session.commit()


def _move(settings: Settings, lease: Lease, version_id: int, state: VersionState) -> None:
    lease.check()
    with session_scope(settings.database_url) as session:
        lease.fence(session)
        move_version(session, version_id, state)
        session.commit()


def _within_budget(lease: Lease, stage: str) -> None:
    lease.check()
    if time.monotonic() > lease.deadline:
        raise OverBudget(stage, lease.settings.job_timeout_s)


def _fail(settings: Settings, lease: Lease, version_id: int, reason: str, code: str) -> str:
    with session_scope(settings.database_url) as session:
        lease.fence(session)
        move_version(session, version_id, VersionState.FAILED, error=reason, error_code=code)
        move_job(session, lease.job_id, JobState.FAILED, held_by=lease.owner, error=reason,
                 finished_at=utcnow(), owner="", lease_until=None)
        session.commit()
    return VersionState.FAILED


def fail_job(settings: Settings, lease: Lease, reason: str, code: str) -> None:
    """End a held job as failed from outside its stages (the watchdog, the retry limit)."""
    with session_scope(settings.database_url) as session:
        version_id = session.exec(select(Job.version_id).where(Job.id == lease.job_id)).one()
    try:
        _fail(settings, lease, version_id, reason, code)
    except LeaseLost:
        pass


def over_budget_reason(settings: Settings) -> str:
    return OverBudget("处理", settings.job_timeout_s).reason


def _give_back(settings: Settings, lease: Lease, reason: str, counted: bool = True) -> None:
    from ingest.queue import release
    with session_scope(settings.database_url) as session:
        attempts = session.exec(select(Job.attempts).where(Job.id == lease.job_id)).one()
    release(settings, lease.job_id, lease.owner, reason, attempts, counted=counted)
    return None


def tagger_for(settings: Settings, year: int):
    """The rules plus the year's learned model, if reviewers' feedback has trained one."""
    from tagging.tagger import default_tagger
    return default_tagger(year, settings.models_dir if settings.models_dir.exists() else None)


# Table rows joined by " | " come from our own DOCX/XLSX readers; a menu line of a web page looks alike.
_TABLE_FORMATS = {"docx", "doc", "wps", "odt", "rtf", "xlsx"}


def navigation_warnings(extraction) -> list[str]:
    """Lines of a table that the tagger will skip as site navigation: say so on the document."""
    if extraction.format not in _TABLE_FORMATS:
        return []
    from tagging.prepare import is_site_chrome
    skipped = [ln for ln in extraction.text.split("\n") if " | " in ln and is_site_chrome(ln)]
    if len(skipped) < 3:
        return []
    sample = skipped[0].strip()[:40]
    return [f"有 {len(skipped)} 行表格内容（如“{sample}”）像网站导航，未参与指标标注，请人工查看这些表格。"]


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


@dataclass
class RetagReport:
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (filename, Chinese reason)


def retag_year(settings: Settings, year: int, index=None, progress=None) -> RetagReport:
    """Re-run tagging for a year's current versions after a rubric or model change.

    Passages are kept as they are, so reviewers' confirmations and rejections (which
    point at passages) stay attached and keep overriding the new suggestions. One document
    that fails is reported with its reason; the others go on.
    """
    tagger = tagger_for(settings, year)
    report = RetagReport()
    with session_scope(settings.database_url) as session:
        rows = session.exec(select(Document.current_version_id, Document.filename).where(
            Document.year == year, Document.status == "active", Document.current_version_id != None)  # noqa: E711
            .order_by(Document.id)).all()
    for version_id, filename in rows:
        try:
            if _retag_one(settings, tagger, version_id) and index is not None:
                update_index(settings, index, version_id)
            report.done += 1
        except Exception as exc:  # one document must not stop the year
            log.exception("retagging version %s failed", version_id)
            report.failed.append((filename, "重新标注时程序出错（已记入服务器日志），该文件的标注保持不变。"))
        if progress:
            progress(1)
    return report


def _retag_one(settings: Settings, tagger, version_id: int) -> bool:
    with session_scope(settings.database_url) as session:
        version = session.get(DocumentVersion, version_id)
        if version is None or version.state != VersionState.INDEXED:
            return False
        rows = list(session.exec(select(Passage).where(Passage.version_id == version_id).order_by(Passage.seq)))
        tags = tagger.tag_passages(rows)
        session.exec(delete(TagSuggestion).where(TagSuggestion.version_id == version_id))
        _store_tags(session, version_id, rows, tags, tagger.version)
        version.tagger_version = tagger.version
        session.commit()
    return True


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


def _flag_near_duplicate(session: Session, version_id: int) -> None:
    """The same policy uploaded as PDF and DOCX: flag, never merge. Reads only the opening of each
    other indexed document of the unit (not their whole texts)."""
    version = session.get(DocumentVersion, version_id)
    document = session.get(Document, version.document_id)
    probe = "".join(version.text.split())[:NEAR_DUPLICATE_PROBE]
    if len(probe) < 200 or document.near_duplicate_of is not None:
        return
    opening = func.substr(DocumentVersion.text, 1, NEAR_DUPLICATE_PROBE * 2)
    others = session.exec(
        select(Document.id, Document.filename, opening)
        .join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
        .where(Document.unit_code == document.unit_code, Document.id != document.id,
               Document.status == "active", DocumentVersion.state == VersionState.INDEXED)
        .order_by(Document.id)
    ).all()
    for other_id, other_name, other_text in others:
        other = "".join((other_text or "").split())[:NEAR_DUPLICATE_PROBE]
        if other and fuzz.ratio(probe, other, score_cutoff=NEAR_DUPLICATE_RATIO):
            document.near_duplicate_of = other_id
            version.warnings = list(version.warnings) + [
                f"与“{other_name}”内容高度相似，可能为同一文件的不同格式。"]  # the page links to it
            return
