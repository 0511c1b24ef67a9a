"""Several processes on one index (``kaoping serve --workers N``): freshness and writes.

Each web process keeps its own cached searcher; a commit by any process
(the ingest worker, a tag decision in another web process) is seen by the
next search everywhere, and writers from several processes queue on
Whoosh's lock instead of failing or losing postings.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index import EvidenceIndex

ROOT = Path(__file__).resolve().parents[1]


def passage(i: int, word: str) -> dict:
    return dict(passage_id=f"p{i}", document_id=f"d{i}", version_id=f"v{i}", unit="JS", year=2022,
                kind="report", indicators=["4"], page=1, text=f"第{i}段：{word}稳步推进，编号{i}。")


def _write(index_dir: str, first: int, count: int, word: str) -> None:
    ix = EvidenceIndex(Path(index_dir))
    for i in range(first, first + count):
        ix.add([passage(i, word)])  # one commit each: many lock hand-overs


def _in_process(target, *args) -> mp.Process:
    p = mp.get_context("spawn").Process(target=target, args=args)
    p.start()
    return p


def test_a_commit_by_another_process_is_found_by_the_next_search(tmp_path):
    reader = EvidenceIndex(tmp_path / "ix")
    reader.add([passage(0, "劳动竞赛")])
    assert reader.search("劳动竞赛").total == 1  # the reader now holds a cached searcher
    writer = _in_process(_write, str(tmp_path / "ix"), 1, 1, "首席技师工作室")
    writer.join(60)
    assert writer.exitcode == 0
    assert reader.search("首席技师工作室").total == 1
    assert reader.search("劳动竞赛").total == 1


def test_writers_in_several_processes_queue_and_lose_nothing(tmp_path):
    EvidenceIndex(tmp_path / "ix").add([passage(0, "起始")])
    writers = [_in_process(_write, str(tmp_path / "ix"), 1 + 100 * n, 15, f"并发写入{'甲乙丙'[n]}") for n in range(3)]
    for w in writers:
        w.join(120)
    assert [w.exitcode for w in writers] == [0, 0, 0]
    ix = EvidenceIndex(tmp_path / "ix")
    assert ix.doc_count() == 1 + 3 * 15
    for n in range(3):
        assert ix.search(f"并发写入{'甲乙丙'[n]}").total == 15


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_with_several_workers_answers_from_each_process(settings):
    port = _free_port()
    env = dict(os.environ, KAOPING_DATA_DIR=str(settings.data_dir))
    env.pop("KAOPING_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "review_ui.cli", "serve", "--port", str(port), "--workers", "2"],
                            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline, pages = time.monotonic() + 60, []
        while time.monotonic() < deadline and len(pages) < 20:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
                pages.append(r.status_code)
            except httpx.HTTPError:
                if proc.poll() is not None:
                    pytest.fail(proc.stderr.read().decode("utf-8", "replace"))
                time.sleep(0.3)
        assert pages and set(pages) == {200}
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2, "one web process per --workers"
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
