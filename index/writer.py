"""Writing the index: one writer at a time, chunked rebuilds that resume.

Whoosh allows one writer per index. Inside a process a lock per index
directory serialises our own threads; across processes Whoosh's file lock is
retried with backoff rather than failing the first time another process
(the worker, a reindex) holds it.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from whoosh.index import LockError

from index.schema import to_fields
from index.whoosh_format import SegmentsWriter, write_segment

from index.permissions import make_private

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
                  commit_merge: bool = True, writer_class=None, **writer_kwargs):
    """Yield a Whoosh writer; commit on success, cancel on error."""
    with process_lock(index_dir):
        writer = _acquire_writer(ix, attempts=attempts, first_wait=first_wait, writer_class=writer_class,
                                 **writer_kwargs)
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise
        else:
            writer.commit(merge=commit_merge)
            make_private(index_dir)


def _acquire_writer(ix, *, attempts: int = 8, first_wait: float = 0.1, writer_class=None, **writer_kwargs):
    """A writer holding Whoosh's cross-process lock, retried with backoff."""
    wait = first_wait
    for attempt in range(attempts):
        try:
            return writer_class(ix, **writer_kwargs) if writer_class else ix.writer(**writer_kwargs)
        except LockError:
            if attempt == attempts - 1:
                raise IndexBusyError("索引正被其他进程写入，请稍后重试") from None
            time.sleep(wait + random.uniform(0, wait))
            wait = min(wait * 2, 5.0)


class Checkpoint:
    """How many records of a rebuild are committed, beside the index."""

    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / CHECKPOINT_FILE

    def read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write(self, done: int, schema_version: str, last_id: str | None, after: list | None = None) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": done, "schema_version": schema_version,
                                   "last_passage_id": last_id, "after": after}), encoding="utf-8")
        os.replace(tmp, self.path)

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------- rebuild segments

def default_procs() -> int:
    """Worker processes for a rebuild: one per core, at most four (each holds
    its segment in memory: ~1.2 GB for 20,000 passages)."""
    return max(1, min(os.cpu_count() or 1, 4))


class SegmentBuilder:
    """Writes a rebuild's chunks as new segments, on ``procs`` processes.

    What is submitted at once is cut into ``procs`` contiguous parts; each
    part becomes one segment, analysed and written by its own worker process
    (``whoosh_format.write_segment``), and the parts' segments are committed
    together under the index's write lock. One submission is in flight while
    the caller reads the next one (from the database, say); ``submit`` first
    commits the previous one and then calls its ``on_commit``.
    """

    def __init__(self, ix, index_dir: Path, procs: int = 1):
        self.ix, self.index_dir, self.procs = ix, Path(index_dir), max(1, int(procs))
        self._pool = None
        if self.procs > 1:
            # not fork: a server or test process may have threads holding locks.
            # An executor, not a Pool: a worker that dies (out of memory, killed)
            # fails the rebuild with BrokenProcessPool instead of hanging it.
            self._pool = ProcessPoolExecutor(self.procs, mp_context=mp.get_context("forkserver"))
        self._pending = None

    def submit(self, records: list[dict], on_commit: Callable[[], None] | None = None) -> None:
        self.flush()
        lock = process_lock(self.index_dir)
        lock.acquire()
        try:
            writer = _acquire_writer(self.ix, writer_class=SegmentsWriter)
        except BaseException:
            lock.release()
            raise
        parts = _split(records, self.procs)
        jobs = [(str(self.index_dir), part) for part in parts]
        if self._pool is None:
            futures = [_Ready(_write_part(job)) for job in jobs]
        else:
            futures = [self._pool.submit(_write_part, job) for job in jobs]
        self._pending = (lock, writer, futures, on_commit)

    def flush(self) -> None:
        """Wait for the chunk in flight and commit its segments."""
        if self._pending is None:
            return
        lock, writer, futures, on_commit = self._pending
        self._pending = None
        try:
            try:
                writer.add_segments([f.result() for f in futures])
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
            make_private(self.index_dir)  # the segments were written with the workers' umask
        finally:
            lock.release()
        if on_commit:
            on_commit()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def abandon(self) -> None:
        """Drop the chunk in flight (an error elsewhere): nothing is committed."""
        if self._pending is not None:
            lock, writer, _, _ = self._pending
            self._pending = None
            try:
                writer.cancel()
            finally:
                lock.release()
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class _Ready:
    """A finished future: the chunk was written in this process."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _split(records: list, n: int) -> list[list]:
    size = -(-len(records) // n)
    return [records[i:i + size] for i in range(0, len(records), size)] or [[]]


def _write_part(job) -> object:
    index_dir, records = job
    return write_segment(index_dir, map(to_fields, records))  # one document's fields at a time
