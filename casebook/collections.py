"""Case collections (案例汇编) and briefings (简报): collecting, proposing, editing, exporting."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlmodel import Session, select

from evidence import audit
from review.links import link_passage, links_of, refresh_link_status
from evidence.models import (Collection, CollectionEntry, CollectionSection, Document, DocumentVersion, EvidenceLink,
                     Passage, Rating, Unit, User, utcnow)

MAX_EXCERPT = 5000


class CollectionError(ValueError):
    pass


def _editor(user: User) -> None:
    """Compiling is the office's work: a collection holds excerpts from every unit."""
    if user.role != "office":
        raise CollectionError("只有协调小组办公室可以编辑案例汇编。")


def _collector(user: User) -> None:
    """Reviewers may propose passages they can see; they do not see the collection itself."""
    if user.role not in ("office", "reviewer"):
        raise CollectionError("只有协调小组办公室和评审专家可以向案例汇编推荐段落。")


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


def touch(session: Session, user: User, c: Collection, expected_revision: int | None, what: dict) -> None:
    """Several editors: an edit names the revision it started from; a stale one is refused."""
    if expected_revision is not None and expected_revision != c.revision:
        raise CollectionError("该汇编已被其他人修改，请刷新后再改。")
    c.revision += 1
    c.updated_at = utcnow()
    audit.record(session, "collection", user=user, object_type="collection", object_id=c.id,
                 detail={"revision": c.revision, **what})


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
    return list(session.exec(select(CollectionEntry).where(CollectionEntry.collection_id == c.id)
                             .order_by(CollectionEntry.position, CollectionEntry.id)))


def add_passage(session: Session, user: User, c: Collection, passage_id: int, indicator_nos: list[int] = (),
                note: str = "", section_id: int | None = None) -> CollectionEntry:
    """A passage becomes a candidate case; its text is quoted, its source remembered."""
    _collector(user)
    from review.tags import visible_document
    passage = session.get(Passage, passage_id)
    if passage is None:
        raise CollectionError("段落不存在。")
    version = session.get(DocumentVersion, passage.version_id)
    document = visible_document(session, user, version.document_id)
    if document.status != "active":
        raise CollectionError("该证据已撤回，不能加入汇编。")
    if section_id is not None:
        section = session.get(CollectionSection, section_id)
        if section is None or section.collection_id != c.id:
            raise CollectionError("栏目不属于该汇编。")
    unit = session.get(Unit, document.unit_code)
    entry = CollectionEntry(collection_id=c.id, section_id=section_id, position=len(entries_of(session, c)),
                            case_title=(version.title or document.filename)[:120], unit_code=document.unit_code,
                            note=note, indicator_nos=list(indicator_nos), created_by=user.id)
    session.add(entry)
    session.flush()
    link_passage(session, "collection_entry", entry.id, passage, user)
    touch(session, user, c, None, {"entry_added": entry.id, "passage": passage_id, "unit": unit.code if unit else None})
    return entry


def update_entry(session: Session, user: User, entry: CollectionEntry, *, case_title: str | None = None,
                 summary: str | None = None, section_id: int | None | str = "keep", status: str | None = None,
                 expected_revision: int | None = None) -> CollectionEntry:
    _editor(user)
    c = session.get(Collection, entry.collection_id)
    before = _entry_fields(entry)
    if case_title is not None:
        entry.case_title = case_title.strip()[:200]
    if summary is not None:
        entry.summary = summary[:20000]
    if section_id != "keep":
        if section_id is not None:
            section = session.get(CollectionSection, int(section_id))
            if section is None or section.collection_id != c.id:
                raise CollectionError("栏目不属于该汇编。")
        entry.section_id = section_id
    if status is not None:
        if status not in ("candidate", "included"):
            raise CollectionError("未知状态。")
        entry.status = status
    touch(session, user, c, expected_revision, {"entry_updated": entry.id, **_changes(before, _entry_fields(entry))})
    return entry


def update_meta(session: Session, user: User, c: Collection, *, title: str, preface: str,
                expected_revision: int | None) -> Collection:
    """A collection's title and preface; the audit keeps what they were."""
    _editor(user)
    before = {"title": c.title, "preface": c.preface}
    c.title = title.strip()[:200] or c.title
    c.preface = preface[:20000]
    touch(session, user, c, expected_revision, {"meta": True, **_changes(before, {"title": c.title, "preface": c.preface})})
    return c


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
    touch(session, user, c, None, {"reordered": entry_ids})


# ── The finder ──────────────────────────────────────────────────────────────

def propose(session: Session, year: int, indicator_no: int | None = None, limit: int = 10) -> list[dict]:
    """Passages behind the highest ratings, spread over units, not used in earlier collections."""
    used = set(session.exec(select(EvidenceLink.passage_id).where(EvidenceLink.owner_kind == "collection_entry")).all())
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
    from rubrics.indicators import load_system
    system = load_system()
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
            excerpts.append(Excerpt(
                text=link.quote[:MAX_EXCERPT] if len(link.quote) > MAX_EXCERPT else link.quote,
                citation=Citation(unit_name=units.get(document.unit_code, document.unit_code),
                                  document_title=version.title or document.filename, doc_number=version.doc_number,
                                  date=version.doc_date, page=link.page_no, filename=document.filename),
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
