"""A document's life as its readers may know it: versions, corrections of its metadata, withdrawal,
reviewers' tag decisions and where it is cited, newest last; and find-in-document over the current version.

Who sees what follows the independence of the review: a province sees its document's versions and
withdrawal, not what reviewers decided about it; where a document is cited (ratings, collections)
is the office's overview, since a reviewer's draft citations are not for other reviewers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from evidence.models import Document, DocumentVersion, EvidenceLink, Passage, TagDecision, User
from review.tags import sees_verdicts
from evidence.states import VERSION_LABELS
from review.document_meta import FIELDS, correction_history

LINK_OWNERS = {"rating": "评分引用", "self_item": "自评引用", "collection_entry": "收入案例汇编"}
FIND_MAX_CHARS = 100


@dataclass(frozen=True)
class Event:
    at: datetime | None
    what: str
    who: str = ""
    detail: str = ""
    href: str = ""


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids.discard(None)
    if not ids:
        return {}
    return {u.id: u.display_name or u.username for u in session.exec(select(User).where(User.id.in_(ids)))}


def _sort_key(event: Event):
    at = event.at
    return (at.replace(tzinfo=None) if at is not None and at.tzinfo else at) or datetime.min


def _quoted(value: str | None) -> str:
    return f"“{value}”" if value else "（空）"


def history(session: Session, user: User, document: Document, kinds: dict[str, str] | None = None) -> list[Event]:
    versions = session.exec(select(DocumentVersion).where(DocumentVersion.document_id == document.id)
                            .order_by(DocumentVersion.version_no)).all()
    decisions = (session.exec(select(TagDecision).where(TagDecision.document_id == document.id)
                              .order_by(TagDecision.id)).all() if sees_verdicts(user) else [])
    links = (session.exec(select(EvidenceLink).where(EvidenceLink.document_id == document.id)
                          .order_by(EvidenceLink.id)).all() if user.role == "office" else [])
    corrections = correction_history(session, document)
    names = _names(session, {document.uploaded_by, document.withdrawn_by} | {d.user_id for d in decisions}
                   | {link.created_by for link in links} | {c.user_id for c in corrections})
    events = [Event(document.created_at, "上传", names.get(document.uploaded_by, ""),
                    f"来自压缩包 {document.archive_name}" if document.archive_name else "")]
    for v in versions:
        label = VERSION_LABELS.get(v.state, "处理中")
        events.append(Event(v.created_at, f"第 {v.version_no} 版", "",
                            label + (f"：{v.error}" if v.error else "")))
    for d in decisions:
        verb = "确认" if d.decision == "confirm" else "否决"
        events.append(Event(d.created_at, f"{verb}指标 {d.indicator_no} 的标注", names.get(d.user_id, ""),
                            "整份文件" if d.passage_id is None else "某一段落",
                            f"/evidence/{document.id}?passage={d.passage_id}#p-{d.passage_id}" if d.passage_id else ""))
    for link in links:
        quote = link.quote if len(link.quote) <= 40 else link.quote[:40] + "…"
        events.append(Event(link.created_at, LINK_OWNERS.get(link.owner_kind, "被引用"), names.get(link.created_by, ""),
                            f"第 {link.page_no} 页：“{quote}”" + ("（原文已变化，需核对）" if link.status != "ok" else "")))
    readable = (kinds or {}).get
    for c in corrections:
        shown = (lambda v: readable(v, v)) if c.field == "doc_kind" else (lambda v: v)
        extracted = getattr(session.get(DocumentVersion, c.version_id), c.field, "") or ""
        detail = (f"{_quoted(shown(c.previous))} 改为 {_quoted(shown(c.value))}（提取值 {_quoted(shown(extracted))}）"
                  if c.value is not None else f"{_quoted(shown(c.previous))} 恢复为提取值 {_quoted(shown(extracted))}")
        events.append(Event(c.at, f"更正{FIELDS.get(c.field, '文件信息')}", names.get(c.user_id, ""), detail))
    if document.status == "withdrawn":
        events.append(Event(document.withdrawn_at, "撤回", names.get(document.withdrawn_by, ""),
                            f"原因：{document.withdraw_reason}"))
    return sorted(events, key=_sort_key)


def find_in_document(session: Session, version_id: int, text: str) -> list[tuple[int, int]]:
    """(page, passages containing the text) for every page where it occurs, in page order."""
    needle = text.strip()[:FIND_MAX_CHARS]
    if not needle:
        return []
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.exec(select(Passage.page_no, func.count()).where(
        Passage.version_id == version_id, Passage.text.like(pattern, escape="\\"))
        .group_by(Passage.page_no).order_by(Passage.page_no)).all()
    return [(page, n) for page, n in rows]
