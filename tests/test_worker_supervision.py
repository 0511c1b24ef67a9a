"""A job has a time budget; a worker that hits an error backs off and goes on; a worker process that
dies is restarted by its supervisor."""
from __future__ import annotations

import dataclasses
import io
import os
import signal
import threading
import time

from sqlmodel import select

from evidence.db import session_scope
from evidence.models import DocumentVersion, Job
from ingest import moves, stages
from ingest.queue import EXIT_OVER_BUDGET, Worker, drain
from ingest.submit import submit

GOOD = "省总工会成立产改协调小组，独特编号{}号。"


def _submit(settings, name: str, text: str) -> int:
    with session_scope(settings.database_url) as session:
        result = submit(session, settings, io.BytesIO(text.encode()), name, unit_code="JS", year=2023)
        session.commit()
        return result.document.current_version_id


def _version(settings, version_id: int) -> DocumentVersion:
    with session_scope(settings.database_url) as session:
        return session.get(DocumentVersion, version_id)


class Clock:
    """time.monotonic, plus however long a simulated slow stage took."""

    sleep = staticmethod(time.sleep)

    def __init__(self):
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


def _slow_tagger_for(monkeypatch, clock: Clock, marker: str, seconds: float, block: threading.Event | None = None):
    real = stages.tagger_for

    class Slow:
        def __init__(self, tagger):
            self.tagger, self.version = tagger, tagger.version

        def tag_passages(self, passages):
            if any(marker in p.text for p in passages):
                clock.offset += seconds  # the stage "took" this long
                if block is not None:
                    block.wait(60)  # and does not return until released
            return self.tagger.tag_passages(passages)

    monkeypatch.setattr(stages, "tagger_for", lambda settings, year: Slow(real(settings, year)))
    monkeypatch.setattr(stages, "time", clock)
    monkeypatch.setattr(moves, "time", clock)


def test_a_job_over_its_budget_fails_with_a_reason_and_the_queue_goes_on(settings, monkeypatch):
    clock = Clock()
    _slow_tagger_for(monkeypatch, clock, "慢文件", settings.job_timeout_s + 1)
    slow = _submit(settings, "慢.txt", "慢文件：" + GOOD.format(1))
    fast = _submit(settings, "快.txt", GOOD.format(2))
    assert drain(settings) == 2
    failed = _version(settings, slow)
    assert failed.state == "failed" and failed.error_code == "timeout"
    assert "处理超时" in failed.error and f"{settings.job_timeout_s} 秒" in failed.error and "指标标注" in failed.error
    assert _version(settings, fast).state == "indexed"


def test_a_stage_that_never_returns_is_ended_by_the_watchdog(settings, monkeypatch):
    import ingest.queue as queue
    clock = Clock()
    block = threading.Event()
    settings = dataclasses.replace(settings, job_lease_s=5)
    _slow_tagger_for(monkeypatch, clock, "卡住", settings.job_timeout_s + queue.HARD_BUDGET_GRACE_S + 1, block)
    exits = []
    worker = Worker(settings, poll_s=0.1, hard_budget=True)

    def fake_exit(code):  # the real one ends the process for its supervisor to restart
        exits.append(code)
        worker.stop.set()
        block.set()
    monkeypatch.setattr(queue.os, "_exit", fake_exit)
    monkeypatch.setattr(queue, "time", clock)  # the watchdog reads the same clock
    stuck = _submit(settings, "卡住.txt", "卡住：" + GOOD.format(3))
    worker.run(once=True)
    assert exits == [EXIT_OVER_BUDGET]
    version = _version(settings, stuck)
    assert version.state == "failed" and "处理超时" in version.error
    with session_scope(settings.database_url) as session:
        assert session.exec(select(Job)).one().state == "failed"


def test_a_database_error_mid_job_backs_off_and_the_worker_goes_on(settings, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import ingest.queue as queue
    first = _submit(settings, "一.txt", GOOD.format(4))
    second = _submit(settings, "二.txt", GOOD.format(5))
    real = queue.process_job
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT …", {}, Exception("QueuePool limit of size 40 overflow 10 reached"))
        return real(*args, **kwargs)
    monkeypatch.setattr(queue, "process_job", flaky)
    worker = Worker(settings, poll_s=0.05)
    worker.start()
    deadline = time.monotonic() + 120
    while _version(settings, second).state != "indexed" and time.monotonic() < deadline:
        assert worker._thread.is_alive()
        time.sleep(0.1)
    worker.shutdown()
    assert _version(settings, second).state == "indexed"
    with session_scope(settings.database_url) as session:
        job = session.exec(select(Job).where(Job.version_id == first)).one()
        assert job.state == "queued" and job.available_at is not None and "稍后自动重试" in job.error
        job.available_at = None
        session.add(job)
        session.commit()
    drain(settings)
    assert _version(settings, first).state == "indexed"


def test_a_dead_worker_process_is_restarted(settings):
    from ingest.supervisor import Supervisor
    supervisor = Supervisor(settings)
    supervisor.start()
    try:
        deadline = time.monotonic() + 60
        while not supervisor.pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        [first] = supervisor.pids()
        os.kill(first, signal.SIGKILL)  # the OOM killer, a crash in a C library
        while (supervisor.restarts < 1 or not supervisor.pids()) and time.monotonic() < deadline + 60:
            time.sleep(0.1)
        [second] = supervisor.pids()
        assert second != first and supervisor.restarts == 1
        version_id = _submit(settings, "后来.txt", GOOD.format(6))
        while _version(settings, version_id).state != "indexed" and time.monotonic() < deadline + 180:
            time.sleep(0.2)
        assert _version(settings, version_id).state == "indexed"
    finally:
        supervisor.shutdown()
    assert supervisor.pids() == []
