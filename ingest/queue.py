"""The persistent job queue and the worker that drains it, correct with any number of workers.

A worker claims a job atomically (on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`, on SQLite a
conditional UPDATE inside SQLite's single writer) and holds it with a lease: its owner (host, boot,
process, start time, a nonce), an expiry, and a heartbeat thread that keeps moving the expiry. Only
an expired lease — or one whose owner is provably gone (a process of this machine that no longer
exists, a worker of this process that stopped) — is taken back; the version then resumes from its
stored state, and every stage rewrites only its own output, so a resumed job ends in the same rows
as an uninterrupted one. A worker whose lease was taken over can no longer write (ingest.moves).

Each job has a time budget (Settings.job_timeout_s) for its whole run: checked between stages, and
in a worker that owns its process (`hard_budget`, see ingest.supervisor) enforced by the heartbeat
thread, which fails the job with a Chinese reason and ends the process for its supervisor to restart.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Callable

from sqlalchemy import or_, update
from sqlmodel import select

from evidence.config import Settings
from evidence.db import session_scope
from evidence.jobs import aware
from evidence.models import DocumentVersion, Job, utcnow
from evidence.states import UNFINISHED, JobState, VersionState
from ingest.moves import Lease, LeaseLost, move_job, move_version
from ingest.stages import process_job
from zhtext.sentences import clause

log = logging.getLogger("kaoping.ingest")

# A job taken back this many times without finishing (its worker died, or a passing failure kept
# recurring) fails with a reason instead of looping: the file itself is likely what kills workers.
MAX_CLAIMS = 6
BACKOFF_FIRST_S, BACKOFF_MAX_S = 30, 600
EXIT_OVER_BUDGET = 75  # a process worker ends with this after failing a job that overran its budget

_LIVE_OWNERS: set[str] = set()  # owners (workers) running in this process now
_LIVE_GUARD = threading.Lock()


# ---------------------------------------------------------------- owners

@lru_cache(maxsize=1)
def _machine() -> str:
    """This machine and boot: a pid means nothing across machines or reboots."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = "noboot"
    return f"{socket.gethostname()[:60]}/{boot}"


def _process_start(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22: start time in clock ticks since boot


def new_owner() -> str:
    pid = os.getpid()
    return f"{_machine()}:{pid}:{_process_start(pid) or '0'}:{secrets.token_hex(4)}"


def owner_alive(owner: str) -> bool | None:
    """True/False when this machine can tell (its own processes); None for another machine."""
    try:
        machine, pid, start, _nonce = owner.rsplit(":", 3)
        pid = int(pid)
    except ValueError:
        return False  # no owner, or one written before leases: nothing holds it
    if machine != _machine():
        return None
    if pid == os.getpid():
        with _LIVE_GUARD:
            return owner in _LIVE_OWNERS
    if start == "0":
        return None
    return _process_start(pid) == start


# ---------------------------------------------------------------- claiming

def claim_next(settings: Settings, owner: str | None = None) -> int | None:
    """Claim the oldest available queued job for `owner`; None only when none is available."""
    owner = owner or new_owner()
    while True:
        now = utcnow()
        with session_scope(settings.database_url) as session:
            candidate = session.exec(
                select(Job.id).where(Job.state == JobState.QUEUED,
                                     or_(Job.available_at == None, Job.available_at <= now))  # noqa: E711
                .order_by(Job.id).limit(1).with_for_update(skip_locked=True)).first()
            if candidate is None:
                return None
            claimed = session.exec(
                update(Job).where(Job.id == candidate, Job.state == JobState.QUEUED)
                .values(state=JobState.RUNNING, owner=owner, lease_until=now + timedelta(seconds=settings.job_lease_s),
                        heartbeat_at=now, started_at=now, available_at=None, attempts=Job.attempts + 1))
            session.commit()
            if claimed.rowcount == 1:
                return candidate
        # another worker took that one between our read and our write: try the next


def reclaim_abandoned(settings: Settings) -> int:
    """Running jobs whose lease expired or whose owner is gone go back to the queue (or fail after
    MAX_CLAIMS); their versions resume from queued. Returns how many were taken back."""
    now = utcnow()
    taken = 0
    with session_scope(settings.database_url) as session:
        running = session.exec(select(Job.id, Job.owner, Job.lease_until, Job.attempts, Job.version_id)
                               .where(Job.state == JobState.RUNNING)).all()
        for job_id, owner, lease_until, attempts, version_id in running:
            alive = owner_alive(owner)
            expired = lease_until is None or aware(lease_until) <= now
            if alive or (alive is None and not expired):
                continue
            give_up = attempts >= MAX_CLAIMS
            try:
                if give_up:
                    move_job(session, job_id, JobState.FAILED, held_by=owner, owner="", lease_until=None,
                             finished_at=now, error=INTERRUPTED_REASON)
                else:
                    move_job(session, job_id, JobState.QUEUED, held_by=owner, owner="", lease_until=None,
                             available_at=now, error="处理中断，已重新排队。")
            except LeaseLost:
                continue  # another worker took it back first, or its owner finished it meanwhile
            state = session.exec(select(DocumentVersion.state).where(DocumentVersion.id == version_id)).first()
            if state in UNFINISHED:
                if give_up:
                    move_version(session, version_id, VersionState.FAILED, error=INTERRUPTED_REASON,
                                 error_code="interrupted")
                else:
                    move_version(session, version_id, VersionState.QUEUED)
            taken += 1
        session.commit()
    if taken:
        log.warning("took back %d ingest job(s) left by a stopped worker", taken)
    return taken


INTERRUPTED_REASON = (f"处理过程中断了 {MAX_CLAIMS} 次（处理进程崩溃或被终止），已停止自动重试。"
                      "文件可能导致处理进程崩溃，请检查文件后点“重新处理”。")


def release(settings: Settings, job_id: int, owner: str, reason: str, attempts: int, counted: bool = True) -> None:
    """Give a job back for later (a passing failure: busy database or index) with a back-off.
    An uncounted release (waiting for a rebuild of the index) does not use up the job's claims."""
    delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** max(0, attempts - 1)) if counted else BACKOFF_FIRST_S
    with session_scope(settings.database_url) as session:
        move_job(session, job_id, JobState.QUEUED, held_by=owner, owner="", lease_until=None, error=reason,
                 available_at=utcnow() + timedelta(seconds=delay),
                 attempts=Job.attempts if counted else Job.attempts - 1)
        session.commit()


# ---------------------------------------------------------------- the worker

class Worker:
    """Processes the queue until stopped; any number may run, in threads, processes or machines.

    An error outside a job's own processing (database unreachable, index busy) backs off and goes
    on; nothing but `stop` ends `run` unless `once` is given.
    """

    def __init__(self, settings: Settings, poll_s: float = 1.0, hard_budget: bool = False):
        self.settings = settings
        self.poll_s = poll_s
        self.hard_budget = hard_budget
        self.stop = threading.Event()
        self.owner = new_owner()
        self._lease: Lease | None = None
        self._thread: threading.Thread | None = None

    def run(self, once: bool = False, on_done: Callable[[int], None] | None = None,
            until: Callable[[], bool] | None = None) -> int:
        """Process jobs. With once=True stop when no job is available now (and `until()`, if given,
        says the work waited for is over). on_done(1) is called per finished job."""
        from index.feed import open_index
        from ingest.sandbox import clean_stale_sandboxes
        with _LIVE_GUARD:
            _LIVE_OWNERS.add(self.owner)
        beat = threading.Thread(target=self._heartbeat, name="kaoping-worker-heartbeat", daemon=True)
        beat.start()
        clean_stale_sandboxes()
        index = open_index(self.settings)
        done, failures = 0, 0
        try:
            while not self.stop.is_set():
                try:
                    reclaim_abandoned(self.settings)
                    job_id = claim_next(self.settings, self.owner)
                    failures = 0
                except Exception:  # a busy or unreachable database must not end the worker
                    failures += 1
                    log.exception("claiming the next ingest job failed; retrying")
                    self.stop.wait(min(60.0, self.poll_s * 2 ** min(failures, 6)))
                    continue
                if job_id is None:
                    if once and (until is None or until()):
                        break
                    self.stop.wait(self.poll_s)
                    continue
                if self._work(job_id, index):
                    done += 1
                    if on_done:
                        on_done(1)
        finally:
            self.stop.set()
            beat.join(5)
            with _LIVE_GUARD:
                _LIVE_OWNERS.discard(self.owner)
        return done

    def _work(self, job_id: int, index) -> bool:
        """Run one job; False when it did not finish here (given back or taken over)."""
        lease = Lease(self.settings, job_id, self.owner)
        self._lease = lease
        try:
            attempts, last_error = _attempts(self.settings, job_id)
            if attempts > MAX_CLAIMS:  # a passing failure that kept coming back
                from ingest.stages import fail_job
                fail_job(self.settings, lease, f"多次自动重试仍未成功（{clause(last_error) or '原因不明'}），已停止重试，"
                                               "请稍后点“重新处理”。", "retries")
                return True
            outcome = process_job(self.settings, job_id, index, lease=lease)
            return outcome in (VersionState.INDEXED, VersionState.FAILED)
        except LeaseLost:
            log.warning("job %s was taken over by another worker; dropped here", job_id)
            return False
        except Exception:  # the database went away mid-job: give the job back and go on
            log.exception("ingest job %s was interrupted; it goes back to the queue", job_id)
            try:
                attempts, _ = _attempts(self.settings, job_id)
                release(self.settings, job_id, self.owner, "处理时数据库暂不可用，稍后自动重试。", attempts)
            except Exception:
                log.exception("could not give job %s back; its lease will expire", job_id)
            self.stop.wait(self.poll_s)
            return False
        finally:
            self._lease = None

    def _heartbeat(self) -> None:
        every = max(1.0, self.settings.job_lease_s / 4)
        while not self.stop.wait(min(every, 1.0) if self.hard_budget else every):
            lease = self._lease
            if lease is None:
                continue
            if self.hard_budget and time.monotonic() > lease.deadline + HARD_BUDGET_GRACE_S:
                self._abandon_over_budget(lease)
            if time.monotonic() - lease.renewed < every:
                continue
            try:
                lease.renew()
            except Exception:  # the next beat tries again; fencing covers a lease lost meanwhile
                log.exception("renewing the lease of job %s failed", lease.job_id)

    def _abandon_over_budget(self, lease: Lease) -> None:
        """The job overran its budget and its stage does not return: fail it and end this process."""
        from ingest.stages import fail_job, over_budget_reason
        try:
            fail_job(self.settings, lease, over_budget_reason(self.settings), "timeout")
        finally:
            log.error("job %s overran its time budget; ending worker process %s", lease.job_id, os.getpid())
            os._exit(EXIT_OVER_BUDGET)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="kaoping-worker", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 10) -> None:
        self.stop.set()
        if self._thread:
            self._thread.join(timeout)


# Between the cooperative check after a stage and the watchdog's kill: a stage that is about to
# return gets this long.
HARD_BUDGET_GRACE_S = 30


def _attempts(settings: Settings, job_id: int) -> tuple[int, str]:
    with session_scope(settings.database_url) as session:
        row = session.exec(select(Job.attempts, Job.error).where(Job.id == job_id)).first()
    return (row[0], row[1]) if row else (1, "")


def drain(settings: Settings) -> int:
    """Process everything available now (CLI and tests)."""
    return Worker(settings).run(once=True)


def versions_settled(settings: Settings, version_ids: list[int]) -> bool:
    """True when none of these versions can progress now: each is final, or its job waits for a
    back-off (a passing failure) rather than for a worker."""
    if not version_ids:
        return True
    now = utcnow()
    with session_scope(settings.database_url) as session:
        rows = session.exec(select(DocumentVersion.state, Job.state, Job.available_at)
                            .join(Job, Job.version_id == DocumentVersion.id)
                            .where(DocumentVersion.id.in_(version_ids))).all()
    for version_state, job_state, available_at in rows:
        if version_state not in UNFINISHED:
            continue
        if job_state == JobState.QUEUED and available_at is not None and aware(available_at) > now:
            continue
        if job_state in (JobState.QUEUED, JobState.RUNNING):
            return False
    return True


def wait_for(settings: Settings, version_ids: list[int], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            states = session.exec(select(DocumentVersion.state).where(DocumentVersion.id.in_(version_ids))).all()
        if all(s not in UNFINISHED for s in states):
            return
        time.sleep(0.2)
