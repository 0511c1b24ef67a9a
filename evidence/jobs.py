"""The ingest queue's health, read from its rows: what the office's 工作台 and `kaoping check` show.

Read-only: the queue itself (claims, leases, retries) is ingest/queue.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, or_
from sqlmodel import Session, select

from evidence.models import Document, DocumentVersion, Job, utcnow
from evidence.states import JobState, VersionState

# A job waiting this long means no worker is draining the queue (or it is far behind).
STALE_WAIT = timedelta(minutes=10)


def aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    return moment


@dataclass
class QueueHealth:
    waiting: int = 0        # queued and available to a worker now
    delayed: int = 0        # queued, waiting for a back-off after a passing failure
    running: int = 0
    stalled: int = 0        # running, but the lease ran out: its worker stopped without a word
    failed: int = 0         # current versions of active documents that failed
    oldest_waiting_s: float | None = None

    @property
    def oldest_waiting_text(self) -> str:
        if self.oldest_waiting_s is None:
            return "无"
        minutes = int(self.oldest_waiting_s // 60)
        if minutes < 1:
            return "不到 1 分钟"
        if minutes < 120:
            return f"{minutes} 分钟"
        return f"{minutes // 60} 小时 {minutes % 60} 分钟"

    @property
    def alarms(self) -> list[str]:
        """Chinese sentences for what needs an operator, worst first."""
        out = []
        if self.oldest_waiting_s is not None and self.oldest_waiting_s > STALE_WAIT.total_seconds():
            out.append(f"最早排队的文件已等待 {self.oldest_waiting_text}：入库处理可能已停止，"
                       "请系统管理员确认网页服务或入库处理进程在运行。")
        if self.stalled:
            out.append(f"有 {self.stalled} 个文件的处理进程已无响应，将由其他处理进程接手；"
                       "如持续出现，请系统管理员检查入库处理。")
        return out

    def to_dict(self) -> dict:
        return {"waiting": self.waiting, "delayed": self.delayed, "running": self.running, "stalled": self.stalled,
                "failed": self.failed, "oldest_waiting_s": self.oldest_waiting_s, "alarms": self.alarms}


def queue_health(session: Session, now: datetime | None = None) -> QueueHealth:
    now = now or utcnow()
    health = QueueHealth()
    available = or_(Job.available_at == None, Job.available_at <= now)  # noqa: E711
    health.waiting = session.exec(select(func.count(Job.id)).where(Job.state == JobState.QUEUED, available)).one()
    health.delayed = session.exec(select(func.count(Job.id)).where(Job.state == JobState.QUEUED, ~available)).one()
    for lease_until in session.exec(select(Job.lease_until).where(Job.state == JobState.RUNNING)).all():
        health.running += 1
        if lease_until is None or aware(lease_until) <= now:
            health.stalled += 1
    health.failed = session.exec(
        select(func.count(DocumentVersion.id)).join(Document, Document.current_version_id == DocumentVersion.id)
        .where(Document.status == "active", DocumentVersion.state == VersionState.FAILED)).one()
    # available_at is when a retried or taken-back job was queued again; a fresh upload has none
    oldest = session.exec(select(func.min(func.coalesce(Job.available_at, Job.created_at)))
                          .where(Job.state == JobState.QUEUED, available)).one()
    if oldest is not None:
        if isinstance(oldest, str):  # SQLite returns COALESCE of datetimes as text
            oldest = datetime.fromisoformat(oldest)
        health.oldest_waiting_s = max(0.0, (now - aware(oldest)).total_seconds())
    return health
