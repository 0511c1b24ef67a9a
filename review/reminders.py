"""Deadline reminders by e-mail: the 工作台's reminders, mailed to people who gave an address.

`kaoping remind` runs this from cron or a systemd timer, as often as one likes: a reminder goes out
when a deadline is 7, 3, 1 and 0 days away and once more when it has passed unmet, and each
(user, deadline, threshold) is recorded in ReminderSent before the mail leaves, so no run sends it
twice. A run that misses a day catches up with one mail for the nearest threshold, not several.
What a reminder says is what the 工作台 says (review.worklist.reminder_line).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from evidence import audit
from evidence.models import ReminderSent, User
from review.worklist import Task, reminder_line, today_in_china, worklist

THRESHOLDS = (0, 1, 3, 7)  # days before a deadline; the largest is the 工作台's REMIND_WITHIN_DAYS
OVERDUE = -1

Send = Callable[[str, str, str], None]  # (to, subject, body)


def threshold_for(days_left: int) -> int | None:
    """The reminder a deadline this far away is owed: the nearest threshold at or above it."""
    if days_left < 0:
        return OVERDUE
    return next((t for t in THRESHOLDS if days_left <= t), None)


@dataclass
class Reminder:
    user: User
    year: int
    tasks: list[Task]
    marks: list[tuple[str, date, int]]  # (deadline, due, threshold) to record

    def message(self, link: str = "") -> tuple[str, str]:
        subject = f"【考评】{self.year} 年度截止提醒（{len(self.tasks)} 项）"
        lines = [f"{self.user.display_name or self.user.username}，您好：", "",
                 f"您在考评系统中有以下 {self.year} 年度事项临近或已过截止日期：", ""]
        lines += [f"· {reminder_line(t)}" for t in self.tasks]
        lines += ["", f"请登录考评系统处理：{link}" if link else "请登录考评系统，在“工作台”查看和处理。", "",
                  "本邮件由考评系统自动发送，请勿直接回复。截止日期均按北京时间计算。"]
        return subject, "\n".join(lines)


@dataclass
class Outcome:
    sent: list[Reminder] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (who, address, Chinese reason)


def _sent(session: Session, user: User) -> set[tuple[str, date, int]]:
    return {(r.deadline, r.due, r.threshold) for r in session.exec(
        select(ReminderSent).where(ReminderSent.user_id == user.id))}


def pending(session: Session, today: date | None = None) -> list[Reminder]:
    """Who is owed which reminders today: active users with an address, dated tasks not done."""
    today = today or today_in_china()
    owed = []
    for user in session.exec(select(User).where(User.active == True, User.email != "").order_by(User.id)):  # noqa: E712
        work = worklist(session, user, today)
        if work.year is None:
            continue
        done_before = _sent(session, user)
        tasks, marks = [], []
        for task in work.tasks:
            if task.done or task.due is None or not task.key:
                continue
            threshold = threshold_for(task.days_left)
            mark = (f"{work.year}:{task.key}", task.due, threshold)
            if threshold is None or mark in done_before:
                continue
            tasks.append(task)
            marks.append(mark)
        if tasks:
            owed.append(Reminder(user, work.year, sorted(tasks, key=lambda t: t.days_left), marks))
    return owed


def send_reminders(session: Session, send: Send, today: date | None = None, link: str = "") -> Outcome:
    """Mail every reminder owed. Each user's is recorded first and committed only once the mail was
    handed over: a failed mail is tried again next run, a concurrent run finds the record and skips."""
    outcome = Outcome()
    for reminder in pending(session, today):
        user = reminder.user
        for deadline, due, threshold in reminder.marks:
            session.add(ReminderSent(user_id=user.id, deadline=deadline, due=due, threshold=threshold,
                                     email=user.email))
        try:
            session.flush()
        except IntegrityError:  # another run is sending (or has sent) this reminder
            session.rollback()
            continue
        subject, body = reminder.message(link)
        who, address = user.display_name or user.username, user.email
        try:
            send(address, subject, body)
        except Exception as exc:  # the server refused or is unreachable: nothing recorded, next run retries
            session.rollback()
            outcome.failed.append((who, address, str(exc) or "发送失败"))
            continue
        audit.record(session, "remind", object_type="user", object_id=user.id,
                     detail={"username": user.username, "deadlines": len(reminder.marks)})
        session.commit()
        outcome.sent.append(reminder)
    return outcome
