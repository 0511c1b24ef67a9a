"""Evidence links: a judgement pointing at an exact place in a document version."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from evidence.models import Document, DocumentVersion, EvidenceLink, Passage, User

CONTEXT_CHARS = 30


def citable_passage(session: Session, passage_id: int, unit_code: str, year: int) -> Passage | None:
    """The passage if it may be cited for this unit and year: in the current version of an active
    document of that unit and year (the one rule for ratings, self-assessments and collections)."""
    passage = session.get(Passage, passage_id)
    version = session.get(DocumentVersion, passage.version_id) if passage else None
    document = session.get(Document, version.document_id) if version else None
    if (document is None or document.unit_code != unit_code or document.year != year
            or document.status != "active" or document.current_version_id != version.id):
        return None
    return passage


@dataclass
class PassageChoice:
    """A passage a unit may cite, as a picker lists it: the document's title, the page and the text."""
    passage: Passage
    document: Document
    title: str


CHOICES_SHOWN = 20


def passage_choices(session: Session, unit_code: str, year: int, query: str = "", *, indicator_no: int | None = None,
                    index=None, limit: int = CHOICES_SHOWN) -> tuple[list[PassageChoice], str]:
    """Passages of the unit's own current evidence of the year, for a person choosing what to cite.

    With a query: the search index (`index`, an index.EvidenceIndex handed in by the web layer,
    restricted to this unit and year) or, when it is unavailable or cannot read the query, every word
    in the passage text from the database. Without one: the passages the tagger found for the
    indicator, then the unit's passages in document order. Returns the choices and a note for the
    reader (why the list is what it is), in Chinese.
    """
    query = (query or "").strip()[:200]
    note = ""
    ids: list[int] = []
    if query and index is not None:
        try:
            result = index.search(query, allowed_units=[unit_code], unit=unit_code, year=year,
                                  per_page=limit, facets=False)
            if not result.query_error:
                ids = [int(h.passage_id) for h in result.hits
                       if h.unit == unit_code and str(h.year) == str(year) and str(h.passage_id).isdigit()]
        except Exception:  # the database below still answers
            ids = []
    rows = _current_passages(session, unit_code, year)
    if query and ids:
        by_id = {p.id: (p, d, v) for p, d, v in session.exec(rows.where(Passage.id.in_(ids)))}
        found = [by_id[i] for i in ids if i in by_id]
    elif query:
        for word in query.split()[:8]:
            rows = rows.where(Passage.text.contains(word, autoescape=True))
        found = list(session.exec(rows.order_by(Document.id, Passage.seq).limit(limit)))
    else:
        found = []
        if indicator_no is not None:
            from review.ratings import candidate_passages
            found = [(c.passage, c.document, session.get(DocumentVersion, c.passage.version_id))
                     for c in candidate_passages(session, year, unit_code, indicator_no)[:limit]]
            note = "系统为本指标找到的段落：" if found else ""
        if not found:
            found = list(session.exec(rows.order_by(Document.id, Passage.seq).limit(limit)))
            note = "本单位本年度证据（按文件顺序）：" if found else ""
    if query and not found:
        note = f"本单位 {year} 年度证据中没有找到“{query}”。"
    elif not found:
        note = f"本单位 {year} 年度还没有已处理完成的证据，请先上传证据。"
    choices = [PassageChoice(p, d, (v.title if v is not None and v.title else d.filename)) for p, d, v in found]
    return choices, note


def _current_passages(session: Session, unit_code: str, year: int):
    """A query over the passages of the current versions of the unit's active documents of the year."""
    return (select(Passage, Document, DocumentVersion)
            .join(DocumentVersion, DocumentVersion.id == Passage.version_id)
            .join(Document, Document.current_version_id == DocumentVersion.id)
            .where(Document.unit_code == unit_code, Document.year == year, Document.status == "active"))


def link_passage(session: Session, owner_kind: str, owner_id: int, passage: Passage, user: User | None,
                 start: int | None = None, end: int | None = None) -> EvidenceLink:
    """Link a whole passage, or a span inside it; the quote and its context are copied."""
    version = session.get(DocumentVersion, passage.version_id)
    start = passage.start if start is None else max(passage.start, start)
    end = passage.end if end is None else min(passage.end, end)
    if end <= start:
        raise ValueError("引用范围为空。")
    text = version.text
    link = EvidenceLink(
        owner_kind=owner_kind, owner_id=owner_id, document_id=version.document_id, version_id=version.id,
        passage_id=passage.id, page_no=passage.page_no, start=start, end=end, quote=text[start:end],
        prefix=text[max(0, start - CONTEXT_CHARS):start], suffix=text[end:end + CONTEXT_CHARS],
        created_by=user.id if user else None)
    session.add(link)
    return link


def links_of(session: Session, owner_kind: str, owner_id: int) -> list[EvidenceLink]:
    return list(session.exec(select(EvidenceLink).where(
        EvidenceLink.owner_kind == owner_kind, EvidenceLink.owner_id == owner_id).order_by(EvidenceLink.id)))


def current_link_status(session: Session, link: EvidenceLink) -> str:
    """'ok', or 'needs_attention' once the link's document was withdrawn or re-ingested with other text.
    Reads only: pages compute it on the fly; refresh_link_status stores it."""
    document = session.get(Document, link.document_id)
    if document is None or document.status != "active":
        return "needs_attention"
    if document.current_version_id != link.version_id:
        current = session.get(DocumentVersion, document.current_version_id)
        if current is None or current.text[link.start:link.end] != link.quote:
            return "needs_attention"
    return "ok"


def refresh_link_status(session: Session, link: EvidenceLink) -> str:
    """A link whose document was withdrawn or re-ingested needs a person's attention; it is never dropped."""
    link.status = current_link_status(session, link)
    return link.status


def refresh_links_to(session: Session, document_id: int) -> None:
    """After a document was withdrawn or replaced: its links say so (stored, for the exports)."""
    for link in session.exec(select(EvidenceLink).where(EvidenceLink.document_id == document_id)):
        refresh_link_status(session, link)
