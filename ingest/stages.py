"""The ingest stages of one job: extract → split → tag → store, then feed the index.

Stages, each visible on the document version as its `state` (evidence.states):
  queued → extracting → tagging → indexed      (or → failed, with a Chinese reason)

Every stage rewrites its own output, so re-running a job is safe; stored passages are never
rewritten (reviewers may link them already).
"""
from __future__ import annotations

import logging

from rapidfuzz import fuzz
from sqlalchemy import update
from sqlmodel import Session, delete, select

from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import Document, DocumentVersion, Job, Page, Passage, TagSuggestion, utcnow
from evidence.store import FileStore
from index.feed import update_index
from ingest.extract import ExtractionError, extract_file_sandboxed, split_passages
from ingest.submit import limits_for

log = logging.getLogger("kaoping.ingest")

EXTRACTOR_VERSION = "1"
NEAR_DUPLICATE_RATIO = 92


def _set_state(settings: Settings, version_id: int, state: str) -> None:
    with session_scope(settings.database_url) as session:
        session.exec(update(DocumentVersion).where(DocumentVersion.id == version_id).values(state=state))
        session.commit()


def process_job(settings: Settings, job_id: int, index=None) -> str:
    """Run one job to its end state; returns 'indexed' or 'failed'."""
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
            extraction = extract_file_sandboxed(path, filename=filename, limits=limits_for(settings))
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
                f"与“{other_doc.filename}”内容高度相似，可能为同一文件的不同格式。"]  # the page links to it
            return
