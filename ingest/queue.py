"""The persistent job queue and the worker that drains it.

The worker claims jobs one at a time; whatever it was doing when killed is re-queued at the
next start, and every stage rewrites its own output, so re-running a job is safe.
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import update
from sqlmodel import select

from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import DocumentVersion, Job, utcnow
from index.feed import open_index
from ingest.stages import process_job

log = logging.getLogger(__name__)


def requeue_interrupted(settings: Settings) -> int:
    """Jobs left running by a killed worker go back to the queue."""
    with session_scope(settings.database_url) as session:
        jobs = session.exec(select(Job).where(Job.state == "running")).all()
        for job in jobs:
            job.state = "queued"
            version = session.get(DocumentVersion, job.version_id)
            if version and version.state not in ("failed", "indexed"):
                version.state = "queued"
        session.commit()
        return len(jobs)


def claim_next(settings: Settings) -> int | None:
    with session_scope(settings.database_url) as session:
        job = session.exec(select(Job).where(Job.state == "queued").order_by(Job.id)).first()
        if job is None:
            return None
        claimed = session.exec(
            update(Job).where(Job.id == job.id, Job.state == "queued")
            .values(state="running", started_at=utcnow(), attempts=Job.attempts + 1)
        )
        session.commit()
        return job.id if claimed.rowcount == 1 else None


class Worker:
    """Processes the queue until stopped; safe to run in a thread of the web app."""

    def __init__(self, settings: Settings, poll_s: float = 1.0):
        self.settings = settings
        self.poll_s = poll_s
        self.stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, once: bool = False, on_done=None) -> int:
        """Process jobs; with once=True stop when the queue is empty. on_done(1) is called per job."""
        requeue_interrupted(self.settings)
        index = open_index(self.settings)
        done = 0
        while not self.stop.is_set():
            try:
                job_id = claim_next(self.settings)
            except Exception:  # a busy or unreachable database must not end the worker for good
                log.exception("claiming the next ingest job failed; retrying")
                self.stop.wait(self.poll_s)
                continue
            if job_id is None:
                if once:
                    break
                self.stop.wait(self.poll_s)
                continue
            process_job(self.settings, job_id, index)
            done += 1
            if on_done:
                on_done(1)
        return done

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="kaoping-worker", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 10) -> None:
        self.stop.set()
        if self._thread:
            self._thread.join(timeout)


def drain(settings: Settings) -> int:
    """Process everything queued now (CLI ingest and tests)."""
    return Worker(settings).run(once=True)


def wait_for(settings: Settings, version_ids: list[int], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            states = session.exec(select(DocumentVersion.state).where(DocumentVersion.id.in_(version_ids))).all()
        if all(s in ("indexed", "failed") for s in states):
            return
        time.sleep(0.2)
