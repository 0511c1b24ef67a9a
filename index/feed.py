"""Feeding the search index from the records: the only module of `index/` that reads the database.

The database is the source of truth; everything here can be rebuilt from it.
"""
from __future__ import annotations

from typing import Iterable

from sqlmodel import Session, select

from casebook.collections import entries_of
from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import Collection, Document, DocumentVersion, Passage, TagSuggestion, Unit
from review.document_meta import effective_metadata
from review.links import links_of
from review.tags import Verdicts


# Document fields are copied onto every passage record and analysed each time: bounded, so a
# document's indexing cost is linear in its text whatever an old row's title holds.
INDEXED_FIELD_MAX = 200


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
    verdicts = Verdicts.load(session, [document.id])
    meta = effective_metadata(session, document, version)  # people's corrections of the 文号, date… count
    records = []
    for p in session.exec(select(Passage).where(Passage.version_id == version_id).order_by(Passage.seq)):
        p_confirmed = verdicts.confirmed(document.id, p.id)
        tags = verdicts.effective(document.id, p.id, suggested.get(p.id, set()))
        records.append({
            "passage_id": p.id, "document_id": document.id, "version_id": version_id,
            "unit": document.unit_code, "year": document.year, "kind": meta.doc_kind,
            "indicators": sorted(tags), "confirmed": sorted(p_confirmed),
            "doc_number": meta.doc_number[:INDEXED_FIELD_MAX], "issuer": meta.issuer[:INDEXED_FIELD_MAX],
            "date": meta.doc_date or "", "title": (meta.title or document.filename)[:INDEXED_FIELD_MAX],
            "filename": document.filename,
            "page": p.page_no, "start": p.start, "end": p.end, "text": p.text,
        })
    return records


def update_index(settings: Settings, index, version_id: int) -> None:
    """The index entry of this version's document becomes what the database says, in one commit."""
    with session_scope(settings.database_url) as session:
        version = session.get(DocumentVersion, version_id)
        records = index_records(session, version_id)
        document_id = version.document_id
    index.replace_document(document_id, records)


def refresh_document(settings: Settings, index, document_id: str) -> None:
    """Re-feed one document (or collection) from the database: its current version, or nothing."""
    if str(document_id).startswith("collection-"):
        with session_scope(settings.database_url) as session:
            collection = session.get(Collection, int(str(document_id).split("-", 1)[1]))
            records = collection_records(session, collection) if collection else []
        index.replace_document(document_id, records)
        return
    with session_scope(settings.database_url) as session:
        document = session.get(Document, int(document_id))
        version_id = document.current_version_id if document else None
    if version_id is None:
        index.replace_document(document_id, [])
    else:
        update_index(settings, index, version_id)


def all_index_records(settings: Settings, after: list | None = None,
                      failures: list[tuple[int, str]] | None = None) -> Iterable[dict]:
    """Every record the index should hold, in a stable order: documents by current version id
    (passages by position), then collections. Each carries `_resume_key`; with `after`, only the
    records after that key come (a resumed rebuild). A version whose records cannot be read is
    noted in `failures` as (version id, reason) and skipped: the others go on."""
    after = tuple(after) if after else (-1,)
    with session_scope(settings.database_url) as session:
        query = select(Document.current_version_id).where(
            Document.status == "active", Document.current_version_id != None)  # noqa: E711
        if after[0] == 0:
            query = query.where(Document.current_version_id >= after[1])
        ids = session.exec(query.order_by(Document.current_version_id)).all() if after[0] <= 0 else []
    for vid in ids:
        try:
            with session_scope(settings.database_url) as session:
                records = index_records(session, vid)
        except Exception as exc:  # one broken row must not stop a rebuild
            if failures is None:
                raise
            failures.append((vid, f"读取该文件的段落时出错（{type(exc).__name__}）"))
            continue
        for position, record in enumerate(records):
            key = (0, vid, position)
            if key > after:
                record["_resume_key"] = list(key)
                yield record
    with session_scope(settings.database_url) as session:
        for collection in session.exec(select(Collection).order_by(Collection.id)):
            for position, record in enumerate(collection_records(session, collection)):
                key = (1, collection.id, position)
                if key > after:
                    record["_resume_key"] = list(key)
                    yield record


def rebuild_index(settings: Settings, index, *, fresh: bool = False, total: int | None = None,
                  progress=None, procs: int = 1) -> list[tuple[int, str]]:
    """Rebuild the index from the database, resuming an interrupted rebuild unless `fresh`.
    Documents written while it ran are re-fed at the end. Returns the versions that failed."""
    failures: list[tuple[int, str]] = []
    index.rebuild(lambda after: all_index_records(settings, after, failures), total=total,
                  progress=progress, resume=not fresh, procs=procs)
    for document_id in index.take_touched():
        refresh_document(settings, index, document_id)
    return failures


def open_index(settings: Settings):
    from index import EvidenceIndex
    return EvidenceIndex(settings.index_dir)


# ── A published collection is itself evidence (indicator 19) ───────────────

OFFICE_UNIT = "OFFICE"  # not one of the 32 units: only the office (which sees all units) finds these
PUBLICATION_INDICATOR = 19  # 编发简报、专报、案例汇编


def collection_records(session: Session, c: Collection) -> list[dict]:
    """One index record per entry, so the office can later find what it has already published."""
    records = []
    units = {u.code: u.name for u in session.exec(select(Unit))}
    for entry in entries_of(session, c):
        quotes = [link.quote for link in links_of(session, "collection_entry", entry.id)]
        text = "\n".join(part for part in [entry.case_title, units.get(entry.unit_code, ""), entry.summary, *quotes] if part)
        records.append({
            "passage_id": f"collection-entry-{entry.id}", "document_id": f"collection-{c.id}", "version_id": "",
            "unit": OFFICE_UNIT, "year": c.year, "kind": c.kind,
            "indicators": sorted({PUBLICATION_INDICATOR, *entry.indicator_nos}), "confirmed": [PUBLICATION_INDICATOR],
            "doc_number": f"第{c.issue_no}期" if c.issue_no else "", "issuer": "协调小组办公室",
            "date": c.updated_at.date().isoformat(), "title": c.title, "filename": f"{c.title}.docx",
            "page": 1, "start": 0, "end": len(text), "text": text})
    return records


def publish_collection(session: Session, index, c: Collection) -> int:
    return index.replace_document(f"collection-{c.id}", collection_records(session, c))
