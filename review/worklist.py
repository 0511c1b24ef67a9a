"""What each person owes the current round, and by when: the 工作台 of every role.

Each task carries a count and the address of the list that shows exactly those items, so a
number on the home page is always one click from the work it counts. Days are counted in
Beijing time, the time every deadline in the system is meant in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

from sqlmodel import Session, func, select

from evidence.jobs import QueueHealth, queue_health
from evidence.models import Document, DocumentVersion, Round, SelfAssessment, SelfAssessmentItem, SpotCheck, User
from evidence.states import UNFINISHED
from review import ratings as R
from review.evidence_policy import evidence_deadline
from review.items import status_counts

CHINA = timezone(timedelta(hours=8))
REMIND_WITHIN_DAYS = 7  # a deadline this close (and not met) is shown as a reminder above the tasks
UNIT_COUNT = 32


def today_in_china() -> date:
    return datetime.now(CHINA).date()


@dataclass
class Task:
    what: str  # 上传证据, 待评分…
    count: int | None = None  # how many items it covers (None: not a countable task)
    unit: str = "项"
    href: str = ""  # the list showing exactly the counted items
    detail: str = ""
    due: date | None = None
    days_left: int | None = None
    done: bool = False
    info: bool = False  # a record of what is done (已提交 …), not something owed: no 已完成/待完成 state
    key: str = ""  # which deadline a dated task is about (upload, self_assessment, review…): e-mail reminders

    @property
    def state(self) -> str:
        """The badge: 已完成, 已逾期, 待完成 — or nothing for a record."""
        if self.info:
            return ""
        return "已完成" if self.done else "已逾期" if self.overdue else "待完成"

    @property
    def overdue(self) -> bool:
        return not self.done and not self.info and self.days_left is not None and self.days_left < 0

    @property
    def urgent(self) -> bool:
        return not self.done and not self.info and self.days_left is not None and 0 <= self.days_left <= REMIND_WITHIN_DAYS


@dataclass
class Worklist:
    year: int | None
    tasks: list[Task] = field(default_factory=list)
    queue: QueueHealth | None = None  # the office sees whether uploads are being processed

    @property
    def reminders(self) -> list[str]:
        """Sentences for the deadlines that are close or missed, most pressing first."""
        return [reminder_line(t) for t in sorted((t for t in self.tasks if t.due and (t.urgent or t.overdue)),
                                                  key=lambda t: t.days_left)]


def reminder_line(t: Task) -> str:
    """One dated task as a reminder sentence (the 工作台 and the e-mail say the same)."""
    if t.overdue:
        return f"“{t.what}”已于 {t.due.year}年{t.due.month}月{t.due.day}日截止，尚未完成。"
    if t.days_left == 0:
        return f"“{t.what}”今天截止。"
    return f"“{t.what}”还剩 {t.days_left} 天截止（{t.due.year}年{t.due.month}月{t.due.day}日）。"


def _dated(task: Task, due: date | None, today: date) -> Task:
    task.due = due
    task.days_left = (due - today).days if due else None
    return task


def _link(path: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def current_round(session: Session) -> Round | None:
    return session.exec(select(Round).order_by(Round.year.desc())).first()


def worklist(session: Session, user: User, today: date | None = None) -> Worklist:
    """The to-do of this user for the latest round."""
    today = today or today_in_china()
    rnd = current_round(session)
    queue = queue_health(session) if user.role == "office" else None
    if rnd is None:
        return Worklist(year=None, queue=queue)
    build = {"province": _province, "reviewer": _reviewer}.get(user.role, _office)
    return Worklist(year=rnd.year, tasks=build(session, user, rnd, today), queue=queue)


def _version_states(session: Session, year: int, unit_code: str | None) -> dict[str, int]:
    query = (select(DocumentVersion.state, func.count())
             .join(Document, Document.current_version_id == DocumentVersion.id)
             .where(Document.year == year, Document.status == "active"))
    if unit_code:
        query = query.where(Document.unit_code == unit_code)
    return dict(session.exec(query.group_by(DocumentVersion.state)).all())


def _province(session: Session, user: User, rnd: Round, today: date) -> list[Task]:
    states = _version_states(session, rnd.year, user.unit_code)
    # Evidence that is in counts: stored and searchable, or on its way there. A failed file is not
    # evidence yet (it has its own card below), so it neither counts nor makes the task done.
    indexed = states.get("indexed", 0)
    busy = sum(n for s, n in states.items() if s in UNFINISHED)
    failed = states.get("failed", 0)
    parts = [f"已入库 {indexed} 份" if indexed else "尚无入库的证据"] + ([f"正在处理 {busy} 份"] if busy else []) \
        + ([f"另有 {failed} 份处理失败"] if failed else [])
    deadline = evidence_deadline(session, rnd.year)
    tasks = [_dated(Task(f"上传 {rnd.year} 年度证据", indexed + busy, "份", _link("/evidence", year=rnd.year),
                         detail="，".join(parts), done=indexed > 0, key="upload"),
                    deadline.due if deadline else None, today)]
    sa = session.exec(select(SelfAssessment).where(SelfAssessment.year == rnd.year,
                                                   SelfAssessment.unit_code == user.unit_code)).first()
    system = R.system_for_year(rnd.year)
    total = sum(1 for i in system.indicators if i.self_assessed)  # as the form counts its progress
    filled = 0
    if sa is not None:
        items = session.exec(select(SelfAssessmentItem).where(SelfAssessmentItem.self_assessment_id == sa.id)).all()
        filled = sum(1 for item in items if system.get(item.indicator_no).answered(item.level_value, item.values))
    submitted = bool(sa and sa.status == "submitted")
    detail = ("已提交并锁定" if submitted else f"草稿：已填 {filled}/{total} 项，尚未提交" if sa else
              f"未开始（共 {total} 项）")
    tasks.append(_dated(Task(f"提交 {rnd.year} 年度自评报告和自评类别", filled, "项", "/self-assessment", detail=detail,
                             done=submitted, key="self_assessment"), rnd.self_assessment_due, today))
    if failed:
        tasks.append(Task("处理失败、需重新上传或重试的文件", failed, "份",
                          _link("/evidence", year=rnd.year, state="failed")))
    if busy:
        tasks.append(Task("正在处理的文件", busy, "份", _link("/evidence", year=rnd.year), done=True,
                          detail="处理完成后即可检索"))
    return tasks


def _reviewer(session: Session, user: User, rnd: Round, today: date) -> list[Task]:
    counts = status_counts(session, user, rnd.year)  # the same rule as the list each card links to
    total, open_items = counts["all"], counts["open"]
    if not total:
        return [_dated(Task("待评分", 0, "项", _link("/scoring", year=rnd.year), detail="尚未分配评审任务", info=True,
                            key="review"), rnd.review_due, today)]
    tasks = [_dated(Task("待评分", counts["todo"], "项", _link("/scoring", year=rnd.year, status="todo"),
                         detail=f"共分配 {total} 项", done=not open_items, key="review"), rnd.review_due, today)]
    if counts["draft"]:
        tasks.append(_dated(Task("草稿未提交", counts["draft"], "项", _link("/scoring", year=rnd.year, status="draft"),
                                 key="review_draft"),
                            rnd.review_due, today))
    if counts["disputed"]:
        tasks.append(Task("有分歧、等待合议", counts["disputed"], "项",
                          _link("/scoring", year=rnd.year, status="disputed"), info=True,
                          detail="由协调小组办公室组织合议"))
    parts = [f"其中{label} {counts[key]} 项" for key, label in (("disputed", "有分歧"), ("consensus", "已合议"))
             if counts[key]]
    tasks.append(Task("已提交", counts["done"], "项", _link("/scoring", year=rnd.year, status="done"), info=True,
                      detail="，".join(parts)))
    return tasks


def _office(session: Session, user: User, rnd: Round, today: date) -> list[Task]:
    counts = status_counts(session, user, rnd.year)
    disputed = counts["disputed"]
    tasks = [_dated(Task("有分歧、待合议的评审项", disputed, "项", _link("/scoring", year=rnd.year, status="disputed"),
                         done=not disputed, key="consensus"), rnd.review_due, today)]
    proposal = session.exec(select(SpotCheck).where(SpotCheck.year == rnd.year).order_by(SpotCheck.id.desc())).first()
    approved = session.exec(select(SpotCheck).where(SpotCheck.year == rnd.year, SpotCheck.status == "approved")).first()
    if approved is not None:
        spot = Task("抽查名单", None, href=f"/rounds/{rnd.year}/spotcheck", detail="已审批", done=True)
    elif proposal is not None:
        spot = Task("抽查名单待审批", 1, "份", f"/rounds/{rnd.year}/spotcheck", detail="已拟定，尚未审批")
    else:
        spot = Task("拟定抽查名单", None, href=f"/rounds/{rnd.year}/spotcheck", detail="尚未拟定")
    spot.key = "spotcheck"
    tasks.append(_dated(spot, rnd.spotcheck_due, today))
    failed = _version_states(session, rnd.year, None).get("failed", 0)
    tasks.append(Task("处理失败的文件", failed, "份", _link("/evidence", year=rnd.year, state="failed"),
                      done=not failed))
    submitted = session.exec(select(func.count(SelfAssessment.id)).where(
        SelfAssessment.year == rnd.year, SelfAssessment.status == "submitted")).one()
    tasks.append(_dated(Task("已提交自评的单位", submitted, "个", f"/rounds/{rnd.year}",
                             detail=f"{submitted}/{UNIT_COUNT} 个单位", done=submitted >= UNIT_COUNT,
                             key="self_assessments"),
                        rnd.self_assessment_due, today))
    unscored = counts["open"]
    tasks.append(Task("尚未提交评分的评审项", unscored, "项", _link("/scoring", year=rnd.year, status="open"),
                      done=not unscored))
    return tasks
