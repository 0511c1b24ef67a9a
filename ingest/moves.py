"""Guarded state changes of versions and jobs: every move is checked against evidence.states.

A move is one UPDATE whose WHERE names the states it may start from, so the database itself checks
it, atomically, however many workers run: a row in any other state is left alone and the move
raises IllegalMove. A job move made for a lease names its owner too, so a worker whose lease was
taken over (LeaseLost) can no longer write for that job — the fencing that keeps two workers from
both storing one document.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import DocumentVersion, Job, utcnow
from evidence.states import JOB_TRANSITIONS, IllegalMove, JobState, VersionState, sources_of


class LeaseLost(RuntimeError):
    """Another worker holds this job now (our lease expired): stop working on it, write nothing."""


def move_version(session: Session, version_id: int, new: VersionState, **values) -> None:
    result = session.exec(update(DocumentVersion).where(
        DocumentVersion.id == version_id, DocumentVersion.state.in_(sources_of(new)))
        .values(state=new, **values))
    if result.rowcount != 1:
        current = session.exec(select(DocumentVersion.state).where(DocumentVersion.id == version_id)).first()
        raise IllegalMove(f"文档版本 {version_id} 不能从“{current}”变为“{new}”")


def move_job(session: Session, job_id: int, new: JobState, *, held_by: str | None = None, **values) -> None:
    """Move a job; with `held_by`, only while that owner still holds it running (else LeaseLost)."""
    where = [Job.id == job_id, Job.state.in_(sources_of(new, JOB_TRANSITIONS))]
    if held_by is not None:
        where += [Job.owner == held_by, Job.state == JobState.RUNNING]
    result = session.exec(update(Job).where(*where).values(state=new, **values))
    if result.rowcount == 1:
        return
    row = session.exec(select(Job.state, Job.owner).where(Job.id == job_id)).first()
    if held_by is not None and row is not None and (row[1] != held_by or row[0] != JobState.RUNNING):
        raise LeaseLost(f"任务 {job_id} 已由其他处理进程接管")
    raise IllegalMove(f"任务 {job_id} 不能从“{row[0] if row else None}”变为“{new}”")


@dataclass
class Lease:
    """What a worker holds while it works on a job; the stages fence their writes with it."""
    settings: Settings
    job_id: int
    owner: str
    started: float = field(default_factory=lambda: time.monotonic())
    lost: threading.Event = field(default_factory=threading.Event)
    renewed: float = 0.0  # monotonic time of the last heartbeat

    @property
    def deadline(self) -> float:
        return self.started + self.settings.job_timeout_s

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"任务 {self.job_id} 已由其他处理进程接管")

    def fence(self, session) -> None:
        """Inside a write transaction: prove this worker still holds the job (else LeaseLost)."""
        move_job(session, self.job_id, JobState.RUNNING, held_by=self.owner, heartbeat_at=utcnow())

    def renew(self) -> bool:
        """The heartbeat: move the expiry on; a lease found taken over is marked lost."""
        now = utcnow()
        with session_scope(self.settings.database_url) as session:
            try:
                move_job(session, self.job_id, JobState.RUNNING, held_by=self.owner, heartbeat_at=now,
                         lease_until=now + timedelta(seconds=self.settings.job_lease_s))
            except LeaseLost:
                self.lost.set()
                return False
            session.commit()
        self.renewed = time.monotonic()
        return True

    @classmethod
    def of_current_owner(cls, settings: Settings, job_id: int) -> "Lease":
        """The lease as the job row has it now: for callers that claimed it themselves (tests)."""
        with session_scope(settings.database_url) as session:
            owner = session.exec(select(Job.owner).where(Job.id == job_id)).first() or ""
        return cls(settings, job_id, owner)
