"""Keeping ingest workers alive: each worker runs in its own process, restarted when it dies.

`kaoping serve` and `kaoping worker` run a Supervisor. A worker process that ends — a crash, the
kernel's OOM killer, the watchdog ending a job that overran its time budget (ingest.queue) — is
started again after a back-off (1 s, doubling to a minute; reset once a worker has run a while),
and the lease of the job it held is taken back at once by its successor (its process is gone). A
worker process dies with its supervisor (PR_SET_PDEATHSIG), so a supervisor killed hard leaves no
worker behind; one stopped normally (SIGTERM, Ctrl+C) gives its workers SIGTERM and a grace period.

    python -m ingest.supervisor --worker      # one worker process (what the supervisor starts)
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from evidence.config import Settings

log = logging.getLogger("kaoping.ingest")

RESTART_FIRST_S, RESTART_MAX_S = 1.0, 60.0
HEALTHY_AFTER_S = 60.0  # a worker that ran this long before dying restarts without delay
STOP_GRACE_S = 10.0


class Supervisor:
    def __init__(self, settings: Settings, processes: int = 1):
        self.settings = settings
        self.processes = max(1, processes)
        self.stop = threading.Event()
        self.restarts = 0
        self._children: list[subprocess.Popen | None] = [None] * self.processes
        self._thread: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen:
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, KAOPING_DATA_DIR=str(self.settings.data_dir),
                   KAOPING_DATABASE_URL=self.settings.database_url,
                   PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        return subprocess.Popen([sys.executable, "-m", "ingest.supervisor", "--worker", "--parent", str(os.getpid())],
                                cwd=root, env=env)

    def run(self) -> None:
        """Keep the workers running until `stop` is set."""
        started = [0.0] * self.processes
        wait_until = [0.0] * self.processes
        delay = [RESTART_FIRST_S] * self.processes
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                for slot, child in enumerate(self._children):
                    if child is not None and child.poll() is None:
                        continue
                    if child is not None:  # it ended: say so once, schedule the restart
                        ran = now - started[slot]
                        log.error("ingest worker process %s ended (exit %s after %.0f s); restarting",
                                  child.pid, child.returncode, ran)
                        delay[slot] = RESTART_FIRST_S if ran > HEALTHY_AFTER_S else min(RESTART_MAX_S, delay[slot] * 2)
                        wait_until[slot] = now + delay[slot]
                        self._children[slot] = None
                        self.restarts += 1
                    if now >= wait_until[slot]:
                        self._children[slot] = self._spawn()
                        started[slot] = now
                self.stop.wait(0.5)
        finally:
            self._stop_children()

    def _stop_children(self) -> None:
        live = [c for c in self._children if c is not None and c.poll() is None]
        for child in live:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in live:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()  # its job's lease is taken back by the next worker of this machine
                child.wait()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="kaoping-supervisor", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = STOP_GRACE_S + 5) -> None:
        self.stop.set()
        if self._thread:
            self._thread.join(timeout)

    def pids(self) -> list[int]:
        return [c.pid for c in self._children if c is not None and c.poll() is None]


def _worker_main(parent: int | None) -> int:
    """One worker process: drains the queue until SIGTERM; dies with its supervisor."""
    from ingest.queue import Worker
    from ingest.sandbox import die_with_parent
    die_with_parent(parent)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s 入库进程 %(process)d %(levelname)s %(message)s")
    worker = Worker(Settings.load(), hard_budget=True)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stop.set())
    worker.run()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Kaoping ingest worker process")
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--parent", type=int, default=None)
    args = parser.parse_args()
    sys.exit(_worker_main(args.parent) if args.worker else 2)
