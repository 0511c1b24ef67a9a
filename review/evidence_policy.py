"""Who may put evidence in and take it out, and until when: the rules behind the upload and
withdraw screens, kept out of the route handlers so the web, the CLI and the tests share one answer.

Every refusal is a complete Chinese sentence naming the deadline it applies, because the
submitter's next step (ask the office, or give up) depends on which deadline it was.
Which files may be stored at all (executables, sizes, the daily quota) is evidence/file_policy.py,
applied by ingest/submit.py to every file, archive members included.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from evidence import audit
from evidence.file_policy import human_size  # noqa: F401 - screens format sizes with it
from evidence.models import Document, Round, User, utcnow
from review.links import refresh_links_to
from review.year_lock import closed_notice


UNSET = "未设置（按自评截止日期）"  # what a settings page or a list says of a round without its own evidence deadline


@dataclass(frozen=True)
class Deadline:
    """The last day a province may add or withdraw evidence for a year, and what that day is called."""
    due: date
    label: str  # 证据提交截止日期, or 自评截止日期 when the round sets no separate evidence deadline
    own: bool = True  # False: the round sets none, so the self-assessment deadline applies

    def passed(self, today: date | None = None) -> bool:
        return (today or date.today()) > self.due

    def describe(self) -> str:
        return f"{self.label}（{self.due.year}年{self.due.month}月{self.due.day}日）"


def deadline_of(rnd: Round) -> Deadline:
    """The one rule: a round without its own evidence deadline takes evidence until its self-assessment is
    due. Lists and settings show it through this too (templates: `evidence_deadline_of`)."""
    if rnd.upload_due is not None:
        return Deadline(rnd.upload_due, "证据提交截止日期")
    return Deadline(rnd.self_assessment_due, "自评截止日期", own=False)


def evidence_deadline(session: Session, year: int) -> Deadline | None:
    rnd = session.exec(select(Round).where(Round.year == year)).first()
    return deadline_of(rnd) if rnd is not None else None


def upload_refusal(session: Session, user: User, year: int, today: date | None = None) -> str:
    """Why this user may not upload evidence for this year now, or '' if they may.
    The office may always upload (late corrections go through it)."""
    if user.role not in ("province", "office"):
        return "只有省级填报人员和协调小组办公室可以上传证据。"
    if not 2000 <= year <= 2100:
        return "评价年度应为 2000–2100 之间的年份。"
    closed = closed_notice(session, year, "各项记录已定稿，不能再上传该年度的证据。")
    if closed:  # the office too: the year's scores rest on the evidence as it was
        return closed
    deadline = evidence_deadline(session, year)
    if user.role == "province" and deadline is not None and deadline.passed(today):
        return (f"{year} 年度的{deadline.describe()}已过，不能再上传证据。"
                "如确需补交，请联系协调小组办公室。")
    return ""


def withdraw_refusal(session: Session, user: User, document: Document, today: date | None = None) -> str:
    """Why this user may not withdraw this document now, or '' if they may."""
    if user.role != "province" or user.unit_code != document.unit_code:
        return "只有提交该证据的省级单位可以撤回。"
    if document.status == "withdrawn":
        return "该证据已撤回。"
    closed = closed_notice(session, document.year, "各项记录已定稿，不能再撤回该年度的证据。")
    if closed:
        return closed
    deadline = evidence_deadline(session, document.year)
    if deadline is not None and deadline.passed(today):
        return f"{document.year} 年度的{deadline.describe()}已过，不能再撤回证据。"
    return ""


class WithdrawRefused(PermissionError):
    """This user may not withdraw this document now (withdraw_refusal says why)."""


class WithdrawInvalid(ValueError):
    """The withdrawal itself is incomplete (no reason given)."""


def withdraw_document(session: Session, user: User, document: Document, reason: str, *, ip: str = "",
                      today: date | None = None) -> None:
    """Withdraw a document. It stays in the database for the record; only the search index forgets it
    (the caller removes it there once this is committed)."""
    refusal = withdraw_refusal(session, user, document, today)
    if refusal:
        raise WithdrawRefused(refusal)
    reason = reason.strip()
    if not reason:
        raise WithdrawInvalid("请填写撤回原因。")
    document.status, document.withdrawn_at, document.withdrawn_by = "withdrawn", utcnow(), user.id
    document.withdraw_reason = reason[:1000]
    audit.record(session, "withdraw", user=user, object_type="document", object_id=document.id,
                 detail={"filename": document.filename, "reason": document.withdraw_reason}, ip=ip)
    refresh_links_to(session, document.id)  # ratings and collections quoting it now say 需核实
