"""Reviewers' decisions on indicator tags, the tag chips shown beside passages, and the permission rules around evidence."""
from __future__ import annotations

from sqlmodel import Session, select

from evidence import audit
from evidence.accounts import can_see_unit, visible_units
from evidence.models import Document, DocumentVersion, Passage, TagDecision, TagSuggestion, User

DECISIONS = {"confirm": "确认", "reject": "否决"}
NOT_VISIBLE = "证据不存在或您无权查看。"  # one answer for missing and forbidden alike


class EvidenceAccessError(PermissionError):
    pass


def visible_document(session: Session, user: User, document_id: int) -> Document:
    """The document, if this user may see it; the same error whether it is missing or forbidden."""
    document = session.get(Document, document_id)
    if document is None or not can_see_unit(session, user, document.unit_code):
        raise EvidenceAccessError(NOT_VISIBLE)
    if document.status == "withdrawn" and not sees_withdrawn(user):
        raise EvidenceAccessError("该证据已被撤回。")
    return document


def sees_withdrawn(user: User) -> bool:
    """Withdrawn evidence is out of the review: reviewers never see it; its unit and the office keep the record."""
    return user.role != "reviewer"


def visible_documents(session: Session, user: User, query):
    """A query over Document narrowed to what this user may see (the list-form of visible_document)."""
    allowed = visible_units(session, user)
    if allowed is not None:
        query = query.where(Document.unit_code.in_(allowed))
    if not sees_withdrawn(user):
        query = query.where(Document.status == "active")
    return query


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


class Verdicts:
    """Reviewers' tag decisions as they stand: the rule every screen, the index and the scores use.

    The latest decision per (document, passage, indicator) counts. A decision on a passage is the
    most specific and wins for that passage; a decision on the whole document (passage None)
    applies to every passage of the document that has no decision of its own for that indicator.
    """

    def __init__(self, latest: dict[tuple[int, int | None, int], str]):
        self.latest = latest

    @classmethod
    def load(cls, session: Session, document_ids, indicator_no: int | None = None) -> "Verdicts":
        ids = list(document_ids)
        latest: dict[tuple[int, int | None, int], str] = {}
        if ids:
            query = select(TagDecision).where(TagDecision.document_id.in_(ids))
            if indicator_no is not None:
                query = query.where(TagDecision.indicator_no == indicator_no)
            for d in session.exec(query.order_by(TagDecision.id)):
                latest[(d.document_id, d.passage_id, d.indicator_no)] = d.decision
        return cls(latest)

    def of(self, document_id: int, passage_id: int | None, indicator_no: int) -> str | None:
        """'confirm', 'reject' or None (nobody decided) for a passage, or the document when passage_id is None."""
        own = self.latest.get((document_id, passage_id, indicator_no))
        if own is not None or passage_id is None:
            return own
        return self.latest.get((document_id, None, indicator_no))

    def decided(self, document_id: int, passage_id: int | None) -> dict[int, str]:
        """indicator -> decision for one passage (document-level decisions included)."""
        out = {no: d for (doc, pid, no), d in self.latest.items() if doc == document_id and pid is None}
        if passage_id is not None:
            out.update({no: d for (doc, pid, no), d in self.latest.items()
                        if doc == document_id and pid == passage_id})
        return out

    def confirmed(self, document_id: int, passage_id: int | None) -> set[int]:
        return {no for no, d in self.decided(document_id, passage_id).items() if d == "confirm"}

    def rejected(self, document_id: int, passage_id: int | None) -> set[int]:
        return {no for no, d in self.decided(document_id, passage_id).items() if d != "confirm"}

    def effective(self, document_id: int, passage_id: int | None, suggested: set[int]) -> set[int]:
        """The indicators a passage stands for: the tagger's suggestions less rejections, plus confirmations."""
        decided = self.decided(document_id, passage_id)
        return {no for no in suggested if decided.get(no, "confirm") == "confirm"} | {
            no for no, d in decided.items() if d == "confirm"}

    def items(self):
        return self.latest.items()


def sees_verdicts(user: User) -> bool:
    """Reviewers' confirmations and rejections are part of the review: reviewers and the office see them;
    a province sees the machine's suggestions on its own evidence, never how reviewers judged them."""
    return user.role in ("reviewer", "office")


def passage_tags(session: Session, user: User, document: Document, version: DocumentVersion | None,
                 passage_ids: list[int], names: dict[int, str]) -> dict[int | None, list[dict]]:
    """Tag chips per passage (None = the whole document): machine suggestions merged with
    the latest human decision, plus indicators people confirmed that the machine missed —
    the decisions only for those who may see them (sees_verdicts)."""
    if version is None:
        return {}
    wanted = set(passage_ids) | {None}
    chips: dict[int | None, dict[int, dict]] = {}
    for s in session.exec(select(TagSuggestion).where(TagSuggestion.version_id == version.id)
                          .order_by(TagSuggestion.score.desc())):
        if s.passage_id not in wanted or s.indicator_no in chips.get(s.passage_id, {}):
            continue
        chips.setdefault(s.passage_id, {})[s.indicator_no] = {
            "no": s.indicator_no, "name": names.get(s.indicator_no, ""), "reason": s.reason,
            "terms": list(s.matched_terms), "status": "suggested" if s.suggested else "candidate",
            "passage_id": s.passage_id, "score": s.score}
    verdicts = Verdicts.load(session, [document.id]) if sees_verdicts(user) else Verdicts({})
    for (_doc, passage_id, no), decision in verdicts.items():
        if passage_id not in wanted:
            continue
        chip = chips.setdefault(passage_id, {}).setdefault(no, {
            "no": no, "name": names.get(no, ""), "reason": "人工添加", "terms": [],
            "passage_id": passage_id, "score": 0})
        chip["status"] = "confirmed" if decision == "confirm" else "rejected"
    return {pid: sorted(by_no.values(), key=lambda c: c["no"]) for pid, by_no in chips.items()}
