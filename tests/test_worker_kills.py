"""Hard kills and concurrent workers never lose or corrupt evidence.

Each kill is a real SIGKILL of a real process at a chosen point of a job (a subprocess that patches
the stage to kill itself there); then the same work is run again, and both the database and the
index are checked: every file stored once, indexed, and found by its own quoted phrase.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from sqlmodel import func, select

from evidence.db import session_scope
from evidence.models import Document, DocumentVersion, Job, Passage
from index.feed import open_index
from ingest.check import check
from ingest.queue import claim_next, drain
from ingest.submit import submit

REPO = Path(__file__).resolve().parents[1]


def _text(i: int) -> str:
    return (f"关于第{i}批产改工作的通知\n\n本单位成立产业工人队伍建设改革协调小组，独特编号甲{i:03d}乙。\n\n"
            + "职工技能培训持续推进，劳模工匠学院建设取得进展。" * (3 + i % 5) + f"\n\n结尾标记丙{i:03d}丁。")


def _submit(settings, i: int) -> int:
    with session_scope(settings.database_url) as session:
        result = submit(session, settings, io.BytesIO(_text(i).encode()), f"通知{i}.txt", unit_code="JS", year=2023)
        session.commit()
        return result.document.id


def assert_every_file_stored_once_and_found(settings, count: int) -> None:
    index = open_index(settings)
    with session_scope(settings.database_url) as session:
        documents = session.exec(select(Document)).all()
        assert len(documents) == count
        for document in documents:
            version = session.get(DocumentVersion, document.current_version_id)
            assert version.state == "indexed", (document.filename, version.state, version.error)
            passages = session.exec(select(Passage).where(Passage.version_id == version.id)).all()
            assert passages and len({p.seq for p in passages}) == len(passages)
            assert all(version.text[p.start:p.end] == p.text for p in passages)
        duplicates = session.exec(select(Passage.version_id, Passage.seq, func.count()).group_by(
            Passage.version_id, Passage.seq).having(func.count() > 1)).all()
        assert duplicates == []
        total_passages = session.exec(select(func.count(Passage.id))).one()
    for document in documents:
        i = int(document.filename[2:-4])
        for phrase in (f"甲{i:03d}乙", f"丙{i:03d}丁"):
            hits = index.search(f'"{phrase}"', per_page=20, facets=False).hits
            assert [h.document_id for h in hits] == [str(document.id)], (phrase, hits)
    assert index.doc_count() == total_passages
    report = check(settings, index)
    assert report.problems == 0, report.lines()


# Where the worker process kills itself: (module, attribute, when) — "before" the call or "after" it.
KILL_POINTS = {
    "claimed, before any stage": ("ingest.queue", "process_job", "before"),
    "while the sandboxed parser runs": ("ingest.sandbox", "_write_owner", "after"),
    "extracted, before splitting": ("ingest.stages", "split_passages", "before"),
    "inside tagging": ("ingest.stages", "tagger_for", "before"),
    "inside the store transaction": ("ingest.stages", "_store_extraction", "after"),
    "stored, before the near-duplicate check": ("ingest.stages", "_check_near_duplicate", "before"),
    "inside the index write": ("index.evidence_index.EvidenceIndex", "replace_document", "before"),
    "indexed, before the final state": ("index.evidence_index.EvidenceIndex", "replace_document", "after"),
    "inside the final transaction": ("ingest.stages", "move_job", "before"),
}

KILLER = textwrap.dedent("""
    import importlib, os, signal, sys
    from evidence.config import Settings
    from ingest.queue import drain
    target, attribute, when, skip = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    if target.endswith(".EvidenceIndex"):
        module_name, cls = target.rsplit(".", 1)
        owner = getattr(importlib.import_module(module_name), cls)
    else:
        owner = importlib.import_module(target)
    original = getattr(owner, attribute)
    calls = []

    def killing(*args, **kwargs):
        calls.append(1)
        if len(calls) > skip and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if len(calls) > skip and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, attribute, killing)
    drain(Settings.load(sys.argv[1]))
""")


def _kill_run(settings, point: str, skip: int, tmp: Path) -> int:
    module, attribute, when = KILL_POINTS[point]
    env = {**os.environ, "TMPDIR": str(tmp), "KAOPING_DATABASE_URL": settings.database_url}
    proc = subprocess.run([sys.executable, "-c", KILLER, str(settings.data_dir), module, attribute, when, str(skip)],
                          cwd=REPO, env=env, capture_output=True, timeout=300)
    return proc.returncode


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_hard_kill_inside_any_stage_then_a_rerun_loses_nothing(settings, point, tmp_path, monkeypatch):
    for i in range(3):
        _submit(settings, i)
    sandbox_tmp = tmp_path / "tmp"
    sandbox_tmp.mkdir()
    # the second job dies at that point (the first one finished before it)
    assert _kill_run(settings, point, 1, sandbox_tmp) == -signal.SIGKILL, point
    with session_scope(settings.database_url) as session:
        assert session.exec(select(func.count(Job.id)).where(Job.state == "running")).one() == 1
    monkeypatch.setattr(tempfile, "tempdir", str(sandbox_tmp))  # the rerun sweeps the killed run's sandbox
    drain(settings)
    assert_every_file_stored_once_and_found(settings, 3)
    assert not list(sandbox_tmp.glob("kaoping-sandbox-*")), "the killed run's sandbox folder was left behind"
    with session_scope(settings.database_url) as session:
        assert sorted(session.exec(select(Job.attempts)).all()) == [1, 1, 2]  # only the killed job ran twice


def test_a_live_workers_job_is_not_taken_but_a_dead_ones_is_at_once(settings):
    _submit(settings, 1)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from evidence.config import Settings
        from ingest.queue import claim_next
        print(claim_next(Settings.load(sys.argv[1])), flush=True)
        time.sleep(600)
        """), str(settings.data_dir)], cwd=REPO, env={**os.environ, "KAOPING_DATABASE_URL": settings.database_url},
        stdout=subprocess.PIPE, text=True)
    try:
        job_id = int(holder.stdout.readline())
        assert drain(settings) == 0  # e.g. `kaoping ingest` run while `serve` holds the job
        with session_scope(settings.database_url) as session:
            job = session.get(Job, job_id)
            assert job.state == "running" and job.attempts == 1
            assert not session.exec(select(Passage)).all()
    finally:
        holder.kill()
        holder.wait()
    assert drain(settings) == 1  # its process is gone: taken back without waiting for the lease
    assert_every_file_stored_once_and_found(settings, 1)


def test_another_machines_lease_is_taken_back_only_when_it_expires(settings):
    from datetime import timedelta

    from evidence.models import utcnow
    _submit(settings, 1)
    job_id = claim_next(settings, owner="other-host/boot:4242:77:abcd")
    assert drain(settings) == 0
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        job.lease_until = utcnow() - timedelta(seconds=1)
        session.add(job)
        session.commit()
    assert drain(settings) == 1
    assert_every_file_stored_once_and_found(settings, 1)


def test_a_worker_that_lost_its_lease_writes_nothing(settings):
    from ingest.moves import Lease, LeaseLost
    from ingest.stages import process_job
    _submit(settings, 1)
    job_id = claim_next(settings, owner="this-host/x:1:1:slow")
    with session_scope(settings.database_url) as session:  # the lease ran out; another worker took it
        job = session.get(Job, job_id)
        job.owner = "this-host/x:2:2:fast"
        session.add(job)
        session.commit()
    with pytest.raises(LeaseLost):
        process_job(settings, job_id, lease=Lease(settings, job_id, "this-host/x:1:1:slow"))
    with session_scope(settings.database_url) as session:
        assert session.exec(select(Passage)).all() == []
        assert session.get(Job, job_id).owner == "this-host/x:2:2:fast"


def test_claims_are_exclusive_under_concurrency(settings):
    """Many workers claiming at once (threads here; processes below): each job goes to one."""
    import threading
    for i in range(30):
        _submit(settings, i)
    claimed: list[int] = []
    lock = threading.Lock()

    def claim_all(n: int):
        owner = f"test/x:{n}:{n}:t"
        while (job_id := claim_next(settings, owner=owner)) is not None:
            with lock:
                claimed.append(job_id)

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 30


def test_the_claim_locks_with_skip_locked_on_postgresql():
    from sqlalchemy.dialects import postgresql
    from sqlmodel import or_

    from evidence.models import utcnow
    query = (select(Job.id).where(Job.state == "queued", or_(Job.available_at == None, Job.available_at <= utcnow()))  # noqa: E711
             .order_by(Job.id).limit(1).with_for_update(skip_locked=True))
    assert "FOR UPDATE SKIP LOCKED" in str(query.compile(dialect=postgresql.dialect()))
    import inspect

    from ingest import queue
    assert "with_for_update(skip_locked=True)" in inspect.getsource(queue.claim_next)


def test_three_worker_processes_process_each_file_once(settings):
    count = int(os.environ.get("KAOPING_TEST_WORKER_FILES", "24"))
    for i in range(count):
        _submit(settings, i)
    env = {**os.environ, "KAOPING_DATA_DIR": str(settings.data_dir), "KAOPING_DATABASE_URL": settings.database_url}
    workers = [subprocess.Popen([sys.executable, "-m", "review_ui.cli", "worker"], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
               for _ in range(3)]
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with session_scope(settings.database_url) as session:
                left = session.exec(select(func.count(Job.id)).where(Job.state.in_(["queued", "running"]))).one()
            if not left:
                break
            time.sleep(0.5)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)
    assert_every_file_stored_once_and_found(settings, count)
    with session_scope(settings.database_url) as session:
        attempts = session.exec(select(Job.attempts)).all()
    assert attempts == [1] * count, "a file was claimed (and extracted) more than once"


def test_kaoping_ingest_killed_twice_then_rerun_stores_every_file_once(settings, tmp_path):
    """The bar as an operator meets it: SIGKILL the ingest command twice at different moments, run
    the same command again."""
    count = int(os.environ.get("KAOPING_TEST_KILL_FILES", "16"))
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(count):
        (folder / f"通知{i}.txt").write_text(_text(i), encoding="utf-8")
    env = {**os.environ, "KAOPING_DATABASE_URL": settings.database_url}
    command = [sys.executable, "-m", "review_ui.cli", "--data-dir", str(settings.data_dir), "ingest", str(folder),
               "--unit", "JS", "--year", "2023"]

    def indexed() -> int:
        with session_scope(settings.database_url) as session:
            return session.exec(select(func.count(DocumentVersion.id)).where(DocumentVersion.state == "indexed")).one()

    for kill_after in (2, 6):  # two different moments: early, and once more files are done
        run = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while indexed() < kill_after and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)
        run.wait(30)
    assert indexed() < count, "the runs were not interrupted: raise the file count"
    final = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stdout + final.stderr
    assert f"入库 {count} 个" in final.stdout and "失败 0 个" in final.stdout, final.stdout
    assert_every_file_stored_once_and_found(settings, count)
