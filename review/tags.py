"""Reviewers' decisions on indicator tags, and the permission rules around evidence."""
from __future__ import annotations

from sqlmodel import Session, select

from evidence import audit
from evidence.accounts import can_see_unit
from evidence.models import Document, DocumentVersion, Passage, TagDecision, User

DECISIONS = {"confirm": "确认", "reject": "否决"}


class EvidenceAccessError(PermissionError):
    pass


def visible_document(session: Session, user: User, document_id: int) -> Document:
    """The document, if this user may see it; the same error whether it is missing or forbidden."""
    document = session.get(Document, document_id)
    if document is None or not can_see_unit(session, user, document.unit_code):
        raise EvidenceAccessError("证据不存在或您无权查看。")
    if document.status == "withdrawn" and user.role == "reviewer":
        raise EvidenceAccessError("该证据已被撤回。")
    return document


def decide(session: Session, user: User, document_id: int, indicator_no: int, decision: str,
           passage_id: int | None = None) -> TagDecision:
    if user.role not in ("reviewer", "office"):
        raise EvidenceAccessError("只有评审专家和协调小组办公室可以确认或否决指标标注。")
    if decision not in DECISIONS:
        raise ValueError(f"未知操作：{decision}")
    document = visible_document(session, user, document_id)
    quote = ""
    if passage_id is not None:
        passage = session.get(Passage, passage_id)
        version = session.get(DocumentVersion, passage.version_id) if passage else None
        if passage is None or version is None or version.document_id != document.id:
            raise EvidenceAccessError("段落不属于该证据。")
        quote = passage.text[:500]
    row = TagDecision(document_id=document.id, passage_id=passage_id, indicator_no=indicator_no,
                      decision=decision, quote=quote, user_id=user.id)
    session.add(row)
    audit.record(session, f"tag_{decision}", user=user, object_type="document", object_id=document.id,
                 detail={"indicator": indicator_no, "passage": passage_id})
    return row


def feedback_records(session: Session, year: int | None = None) -> list[tuple[str, int, bool]]:
    """(passage text, indicator, confirmed) for training the learned tagger."""
    query = select(TagDecision, Passage).join(Passage, Passage.id == TagDecision.passage_id)
    if year is not None:
        query = query.join(Document, Document.id == TagDecision.document_id).where(Document.year == year)
    latest: dict[tuple[int, int], tuple[str, int, bool]] = {}
    for decision, passage in session.exec(query.order_by(TagDecision.id)):
        latest[(passage.id, decision.indicator_no)] = (passage.text, decision.indicator_no,
                                                       decision.decision == "confirm")
    return list(latest.values())


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
