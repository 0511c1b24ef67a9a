"""Evidence links: a judgement pointing at an exact place in a document version."""
from __future__ import annotations

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


def unit_passages(session: Session, unit_code: str, year: int, limit: int = 300) -> list[tuple[Passage, Document]]:
    """The passages a unit may cite for a year (current versions of its active documents), in document order."""
    return list(session.exec(
        select(Passage, Document).join(DocumentVersion, DocumentVersion.id == Passage.version_id)
        .join(Document, Document.current_version_id == DocumentVersion.id)
        .where(Document.unit_code == unit_code, Document.year == year, Document.status == "active")
        .order_by(Document.id, Passage.seq).limit(limit)).all())


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


def refresh_link_status(session: Session, link: EvidenceLink) -> str:
    """A link whose document was withdrawn or re-ingested needs a person's attention; it is never dropped."""
    document = session.get(Document, link.document_id)
    status = "ok"
    if document is None or document.status != "active":
        status = "needs_attention"
    elif document.current_version_id != link.version_id:
        current = session.get(DocumentVersion, document.current_version_id)
        if current is None or current.text[link.start:link.end] != link.quote:
            status = "needs_attention"
    link.status = status
    return status
