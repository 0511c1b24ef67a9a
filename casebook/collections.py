"""Case collections (案例汇编) and briefings (简报): collecting, proposing, editing, exporting."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from evidence import audit
from review.document_meta import effective_metadata
from review.links import current_link_status, link_passage, links_of, refresh_link_status
from evidence.models import (Collection, CollectionEntry, CollectionSection, Document, DocumentVersion, EvidenceLink,
                     Passage, Rating, Unit, User, utcnow)

MAX_EXCERPT = 5000


EDITOR_ONLY = "只有协调小组办公室可以查看和编辑案例汇编。"
COLLECTORS_ONLY = "只有协调小组办公室和评审专家可以向案例汇编推荐段落。"
ENTRY_STATUSES = {"candidate": "候选", "included": "编入"}


class CollectionError(ValueError):
    pass


def is_editor(user: User) -> bool:
    """Compiling is the office's work: a collection holds excerpts from every unit."""
    return user.role == "office"


def is_collector(user: User) -> bool:
    """Reviewers may propose passages they can see; they do not see the collection itself."""
    return user.role in ("office", "reviewer")


def _editor(user: User) -> None:
    if not is_editor(user):
        raise CollectionError(EDITOR_ONLY)


def _collector(user: User) -> None:
    if not is_collector(user):
        raise CollectionError(COLLECTORS_ONLY)


def get_collection(session: Session, collection_id: int) -> Collection:
    c = session.get(Collection, collection_id) if 0 < collection_id < 2 ** 62 else None
    if c is None:
        raise CollectionError("汇编不存在。")
    return c


def all_collections(session: Session) -> list[Collection]:
    return list(session.exec(select(Collection).order_by(Collection.year.desc(), Collection.id.desc())))


def create_collection(session: Session, user: User, title: str, year: int, kind: str = "collection",
                      preface: str = "", issue_no: int | None = None) -> Collection:
    _editor(user)
    if not title.strip():
        raise CollectionError("标题不能为空。")
    if kind not in ("collection", "briefing"):
        raise CollectionError("类型应为案例汇编或简报。")
    if kind == "briefing" and issue_no is None:
        last = session.exec(select(Collection.issue_no).where(Collection.kind == "briefing", Collection.year == year)
                            .order_by(Collection.issue_no.desc())).first()
        issue_no = (last or 0) + 1
    c = Collection(kind=kind, title=title.strip(), year=year, preface=preface, issue_no=issue_no, created_by=user.id)
    session.add(c)
    session.flush()
    audit.record(session, "collection", user=user, object_type="collection", object_id=c.id,
                 detail={"created": title, "kind": kind})
    return c


STALE = "该汇编已被其他人修改（现为第 {revision} 版），您的修改未保存。"


def touch(session: Session, user: User, c: Collection, expected_revision: int | None, what: dict) -> None:
    """Several editors: an edit names the revision it started from; a stale one is refused."""
    if expected_revision is not None and expected_revision != c.revision:
        raise StaleRevision(STALE.format(revision=c.revision))
    c.revision += 1
    c.updated_at = utcnow()
    audit.record(session, "collection", user=user, object_type="collection", object_id=c.id,
                 detail={"revision": c.revision, **what})


class StaleRevision(CollectionError):
    """Someone saved the collection after this editor opened it."""


def add_section(session: Session, user: User, c: Collection, title: str, indicator_nos: list[int] = ()) -> CollectionSection:
    _editor(user)
    if not title.strip():
        raise CollectionError("栏目标题不能为空。")
    position = len(sections_of(session, c))
    s = CollectionSection(collection_id=c.id, title=title.strip(), indicator_nos=list(indicator_nos), position=position)
    session.add(s)
    session.flush()
    touch(session, user, c, None, {"section_added": title})
    return s


def sections_of(session: Session, c: Collection) -> list[CollectionSection]:
    return list(session.exec(select(CollectionSection).where(CollectionSection.collection_id == c.id)
                             .order_by(CollectionSection.position, CollectionSection.id)))


def entries_of(session: Session, c: Collection) -> list[CollectionEntry]:
    """The collection's entries in their order; deleted ones are kept aside (deleted_entries_of)."""
    return list(session.exec(select(CollectionEntry).where(CollectionEntry.collection_id == c.id,
                                                           CollectionEntry.deleted_at == None)  # noqa: E711
                             .order_by(CollectionEntry.position, CollectionEntry.id)))


def deleted_entries_of(session: Session, c: Collection) -> list[CollectionEntry]:
    """Deleted entries, latest first: each can be restored."""
    return list(session.exec(select(CollectionEntry).where(CollectionEntry.collection_id == c.id,
                                                           CollectionEntry.deleted_at != None)  # noqa: E711
                             .order_by(CollectionEntry.deleted_at.desc(), CollectionEntry.id.desc())))


def _entry_of(session: Session, c: Collection, entry_id: int) -> CollectionEntry:
    entry = session.get(CollectionEntry, entry_id) if 0 < entry_id < 2 ** 62 else None
    if entry is None or entry.collection_id != c.id:
        raise CollectionError("条目不属于该汇编。")
    return entry


def entry_holding(session: Session, c: Collection, passage_id: int) -> tuple[int, CollectionEntry] | None:
    """(its number in the list, the entry) of the live entry quoting this passage, if there is one.
    Read from the evidence links, so entries made before entries recorded their passage count too."""
    quoting = set(session.exec(select(EvidenceLink.owner_id).where(
        EvidenceLink.owner_kind == "collection_entry", EvidenceLink.passage_id == passage_id)).all())
    for number, entry in enumerate(entries_of(session, c), 1):
        if entry.id in quoting or entry.passage_id == passage_id:
            return number, entry
    return None


def _refuse_duplicate(session: Session, c: Collection, passage_id: int, outcome: str) -> None:
    held = entry_holding(session, c, passage_id)
    if held is not None:
        number, entry = held
        raise CollectionError(f"该段落已在本汇编中：第 {number} 条“{entry.case_title}”，{outcome}。")


def add_passage(session: Session, user: User, c: Collection, passage_id: int, indicator_nos: list[int] = (),
                note: str = "", section_id: int | None = None) -> CollectionEntry:
    """A passage becomes a candidate case; its text is quoted, its source remembered. The same passage
    is in a collection at most once (the database refuses a second one as well)."""
    _collector(user)
    from review.tags import NOT_VISIBLE, EvidenceAccessError, visible_document
    passage = session.get(Passage, passage_id) if 0 < passage_id < 2 ** 62 else None
    version = session.get(DocumentVersion, passage.version_id) if passage is not None else None
    if version is None:  # the same answer as a passage of evidence one may not see: ids cannot be probed
        raise EvidenceAccessError(NOT_VISIBLE)
    document = visible_document(session, user, version.document_id)
    if document.status != "active":
        raise CollectionError("该证据已撤回，不能加入汇编。")
    _refuse_duplicate(session, c, passage.id, "未重复加入")
    if section_id is not None:
        section = session.get(CollectionSection, section_id)
        if section is None or section.collection_id != c.id:
            raise CollectionError("栏目不属于该汇编。")
    meta = effective_metadata(session, document, version)
    entry = CollectionEntry(collection_id=c.id, section_id=section_id, position=len(entries_of(session, c)),
                            case_title=(meta.title or document.filename)[:120], unit_code=document.unit_code,
                            note=note, indicator_nos=list(indicator_nos), passage_id=passage.id, created_by=user.id)
    session.add(entry)
    session.flush()
    link_passage(session, "collection_entry", entry.id, passage, user)
    touch(session, user, c, None, {"entry_added": entry.case_title, "unit": document.unit_code})
    return entry


@dataclass
class EntryEdit:
    """What the editor sent for one entry; None (or "keep" for the section) leaves a field as it is."""
    entry_id: int
    case_title: str | None = None
    summary: str | None = None
    section_id: int | None | str = "keep"
    status: str | None = None


def _apply(session: Session, c: Collection, entry: CollectionEntry, edit: EntryEdit) -> None:
    if edit.case_title is not None and edit.case_title.strip():
        entry.case_title = edit.case_title.strip()[:200]
    if edit.summary is not None:
        entry.summary = edit.summary[:20000]
    if edit.section_id != "keep":
        if edit.section_id is not None:
            section = session.get(CollectionSection, int(edit.section_id))
            if section is None or section.collection_id != c.id:
                raise CollectionError("栏目不属于该汇编。")
        entry.section_id = edit.section_id
    if edit.status is not None:
        if edit.status not in ENTRY_STATUSES:
            raise CollectionError("未知状态。")
        entry.status = edit.status


def save_editor(session: Session, user: User, c: Collection, expected_revision: int | None, *,
                title: str | None = None, preface: str | None = None, entries: list[EntryEdit] = ()) -> list[str]:
    """The editor's one save: title, preface and every entry at once, or nothing if someone saved in
    between (the revision it started from is stale). Returns what changed, for the message.

    The audit keeps every changed field's old and new value: one event for the title and preface,
    one per changed entry (named by its title, as people know it)."""
    _editor(user)
    if expected_revision is not None and expected_revision != c.revision:
        raise StaleRevision(STALE.format(revision=c.revision))
    changed, events = [], []
    before = {"title": c.title, "preface": c.preface}
    if title is not None and title.strip():
        c.title = title.strip()[:200]
    if preface is not None:
        c.preface = preface[:20000]
    meta = _changes(before, {"title": c.title, "preface": c.preface})
    if meta:
        changed += [{"title": "标题", "preface": "前言"}[k] for k in meta["new"]]
        events.append({"meta": True, **meta})
    live = {e.id: e for e in entries_of(session, c)}
    for edit in entries:
        entry = live.get(edit.entry_id)
        if entry is None:
            raise CollectionError("有条目已被删除或不属于该汇编，请刷新页面后再改。")
        before = _entry_fields(entry)
        _apply(session, c, entry, edit)
        fields = _changes(before, _entry_fields(entry))
        if fields:
            changed.append(f"条目“{entry.case_title}”")
            events.append({"entry_updated": entry.case_title, **fields})
    if events:
        touch(session, user, c, None, {"saved": changed})
        for detail in events:
            audit.record(session, "collection", user=user, object_type="collection", object_id=c.id,
                         detail={"revision": c.revision, **detail})
    return changed


def delete_entry(session: Session, user: User, c: Collection, entry_id: int) -> CollectionEntry:
    """Take an entry out of the collection; it is kept (with its quote) so the deletion can be undone."""
    _editor(user)
    entry = _entry_of(session, c, entry_id)
    if entry.deleted_at is not None:
        raise CollectionError(f"条目“{entry.case_title}”已删除。")
    entry.deleted_at, entry.deleted_by = utcnow(), user.id
    touch(session, user, c, None, {"entry_deleted": entry.case_title})
    return entry


def restore_entry(session: Session, user: User, c: Collection, entry_id: int) -> CollectionEntry:
    """Undo a deletion: the entry comes back at the end of the list, unless its passage is in the
    collection again by now."""
    _editor(user)
    entry = _entry_of(session, c, entry_id)
    if entry.deleted_at is None:
        raise CollectionError(f"条目“{entry.case_title}”未被删除。")
    quoted = [link.passage_id for link in links_of(session, "collection_entry", entry.id) if link.passage_id]
    for passage_id in quoted:
        _refuse_duplicate(session, c, passage_id, "不能恢复")
    entry.deleted_at, entry.deleted_by = None, None
    entry.position = len(entries_of(session, c))
    touch(session, user, c, None, {"entry_restored": entry.case_title})
    return entry


def _entry_fields(entry: CollectionEntry) -> dict:
    return {"case_title": entry.case_title, "summary": entry.summary, "section_id": entry.section_id,
            "status": entry.status}


def _changes(before: dict, after: dict) -> dict:
    """{"old": …, "new": …} over the fields that changed, for the audit log."""
    changed = [k for k in after if before.get(k) != after[k]]
    return {"old": {k: before.get(k) for k in changed}, "new": {k: after[k] for k in changed}} if changed else {}


def reorder(session: Session, user: User, c: Collection, entry_ids: list[int]) -> None:
    _editor(user)
    entries = {e.id: e for e in entries_of(session, c)}
    if set(entry_ids) - set(entries):
        raise CollectionError("排序中包含不属于该汇编的条目。")
    for position, eid in enumerate(entry_ids):
        entries[eid].position = position
    touch(session, user, c, None, {"reordered": len(entry_ids)})


@dataclass
class EditorView:
    """What the editor page shows, computed without writing anything."""
    sections: list[CollectionSection]
    entries: list[CollectionEntry]
    deleted: list[CollectionEntry]
    links: dict[int, list[EvidenceLink]]
    attention: set[int]  # links whose source was withdrawn or re-ingested


def editor_view(session: Session, user: User, c: Collection) -> EditorView:
    _editor(user)
    entries = entries_of(session, c)
    links = {e.id: links_of(session, "collection_entry", e.id) for e in entries}
    attention = {link.id for items in links.values() for link in items
                 if current_link_status(session, link) != "ok"}
    return EditorView(sections=sections_of(session, c), entries=entries, deleted=deleted_entries_of(session, c),
                      links=links, attention=attention)


# ── The finder ──────────────────────────────────────────────────────────────

def propose(session: Session, year: int, indicator_no: int | None = None, limit: int = 10) -> list[dict]:
    """Passages behind the highest ratings, spread over units, not used in earlier collections."""
    used = set(session.exec(select(EvidenceLink.passage_id).join(
        CollectionEntry, CollectionEntry.id == EvidenceLink.owner_id).where(
        EvidenceLink.owner_kind == "collection_entry", CollectionEntry.deleted_at == None)).all())  # noqa: E711
    query = select(Rating, EvidenceLink).join(EvidenceLink, (EvidenceLink.owner_kind == "rating") &
                                              (EvidenceLink.owner_id == Rating.id)).where(
        Rating.year == year, Rating.status == "submitted", Rating.level_value != None)  # noqa: E711
    if indicator_no is not None:
        query = query.where(Rating.indicator_no == indicator_no)
    by_unit: dict[str, list[tuple[Rating, EvidenceLink]]] = defaultdict(list)
    for rating, link in session.exec(query):
        if link.passage_id in used or link.status != "ok":
            continue
        document = session.get(Document, link.document_id)
        if document is None or document.status != "active":
            continue
        by_unit[rating.unit_code].append((rating, link))
    for items in by_unit.values():
        items.sort(key=lambda rl: (-(rl[0].kind == "consensus"), -rl[0].level_value))
    proposals, seen = [], set()
    # Round-robin over units so one province cannot fill the collection.
    while len(proposals) < limit and any(by_unit.values()):
        for unit in sorted(by_unit, key=lambda u: -max(r.level_value for r, _ in by_unit[u]) if by_unit[u] else 0):
            if not by_unit[unit] or len(proposals) >= limit:
                continue
            rating, link = by_unit[unit].pop(0)
            if link.passage_id in seen:
                continue
            seen.add(link.passage_id)
            kind = "合议" if rating.kind == "consensus" else "评审专家"
            proposals.append({
                "passage_id": link.passage_id, "unit": unit, "indicator_no": rating.indicator_no,
                "quote": link.quote, "page": link.page_no, "document_id": link.document_id,
                "reason": f"{kind}对指标{rating.indicator_no}评为{rating.level_value}级并引用此段；"
                          f"此前未编入汇编；按单位轮选以兼顾不同地区。"})
    return proposals


# ── Export ──────────────────────────────────────────────────────────────────

def to_report_model(session: Session, c: Collection):
    from reports.model import CaseEntry, Citation, Collection as Doc, CollectionSection as DocSection, Excerpt
    from rubrics.indicators import system_in_force
    system = system_in_force(c.year)
    units = {u.code: u.name for u in session.exec(select(Unit))}
    sections = sections_of(session, c)
    grouped: dict[int | None, list] = defaultdict(list)
    for entry in entries_of(session, c):
        if entry.status == "candidate" and c.kind == "collection" and any(e.status == "included" for e in entries_of(session, c)):
            continue  # once anything is marked included, candidates stay out of the export
        excerpts = []
        for link in links_of(session, "collection_entry", entry.id):
            refresh_link_status(session, link)
            document = session.get(Document, link.document_id)
            version = session.get(DocumentVersion, link.version_id)
            meta = effective_metadata(session, document, version)
            excerpts.append(Excerpt(
                text=link.quote[:MAX_EXCERPT] if len(link.quote) > MAX_EXCERPT else link.quote,
                citation=Citation(unit_name=units.get(document.unit_code, document.unit_code),
                                  document_title=meta.title or document.filename, doc_number=meta.doc_number,
                                  date=meta.doc_date, page=link.page_no, filename=document.filename),
                needs_attention=link.status != "ok",
                note="来源证据已撤回或重新入库，引文按原样保留，请核对。" if link.status != "ok" else ""))
        labels = []
        for no in entry.indicator_nos:
            try:
                labels.append(f"{no} {system.get(no).name}")
            except Exception:
                labels.append(str(no))
        grouped[entry.section_id].append(CaseEntry(case_title=entry.case_title, unit_name=units.get(entry.unit_code, ""),
                                                   summary=entry.summary, excerpts=excerpts, indicator_labels=labels))
    doc_sections = [DocSection(title=s.title, entries=grouped.get(s.id, [])) for s in sections]
    if grouped.get(None):
        doc_sections.append(DocSection(title="其他案例" if sections else "案例", entries=grouped[None]))
    return Doc(title=c.title, year=c.year, preface=c.preface, sections=doc_sections, kind=c.kind,
               issue_no=c.issue_no, date=c.updated_at.date())


def export_docx(session: Session, c: Collection, out: Path) -> Path:
    from reports.collection import write_collection_docx
    write_collection_docx(to_report_model(session, c), out)
    return out
