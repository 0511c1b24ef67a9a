"""Writing the index: one writer at a time, chunked rebuilds that resume.

Whoosh allows one writer per index. Inside a process a lock per index
directory serialises our own threads; across processes Whoosh's file lock is
retried with backoff rather than failing the first time another process
(the worker, a reindex) holds it.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from whoosh.index import LockError

_PROCESS_LOCKS: dict[str, threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()

CHECKPOINT_FILE = "rebuild_checkpoint.json"


class IndexBusyError(RuntimeError):
    """Another process kept the index writer lock for the whole retry period."""


def process_lock(index_dir: Path) -> threading.Lock:
    key = str(Path(index_dir).resolve())
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(key, threading.Lock())


@contextmanager
def locked_writer(ix, index_dir: Path, *, attempts: int = 8, first_wait: float = 0.1,
                  commit_merge: bool = True, **writer_kwargs):
    """Yield a Whoosh writer; commit on success, cancel on error."""
    with process_lock(index_dir):
        wait = first_wait
        for attempt in range(attempts):
            try:
                writer = ix.writer(**writer_kwargs)
                break
            except LockError:
                if attempt == attempts - 1:
                    raise IndexBusyError("索引正被其他进程写入，请稍后重试") from None
                time.sleep(wait + random.uniform(0, wait))
                wait = min(wait * 2, 5.0)
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise
        else:
            writer.commit(merge=commit_merge)


class Checkpoint:
    """How many records of a rebuild are committed, beside the index."""

    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / CHECKPOINT_FILE

    def read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write(self, done: int, schema_version: str, last_id: str | None) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": done, "schema_version": schema_version,
                                   "last_passage_id": last_id}), encoding="utf-8")
        os.replace(tmp, self.path)

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
