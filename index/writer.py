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

from whoosh.codec.whoosh3 import W3Codec
from whoosh.index import LockError
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

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
        wait = first_wait
        for attempt in range(attempts):
            try:
                writer = writer_class(ix, **writer_kwargs) if writer_class else ix.writer(**writer_kwargs)
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
            make_private(index_dir)


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


# ---------------------------------------------------------------- bulk segments

def bulk_codec() -> W3Codec:
    """Whoosh's W3 format with cheaper blocks for bulk segments: zlib level 1
    instead of 3 and 512 postings a block instead of 128 compress faster and
    come out no larger (fewer blocks, fewer per-block headers). Readers take
    both from each block, so segments of either kind mix in one index."""
    return W3Codec(blocklimit=512, compression=1)


class _RefusingPool:
    """Stands in for Whoosh's posting pool in ``BulkSegmentWriter``.

    Only merges (``add_reader``) would still feed the pool; failing loudly
    beats silently dropping the postings of merged segments.
    """

    def __init__(self, pool):
        self._pool = pool

    def add(self, item):
        raise RuntimeError("BulkSegmentWriter does not merge segments: commit with merge=False")

    def iter_postings(self):
        raise RuntimeError("BulkSegmentWriter keeps its postings itself")

    def cleanup(self):
        self._pool.cleanup()


class BulkSegmentWriter(SegmentWriter):
    """A SegmentWriter that writes the same postings, faster.

    Whoosh's writer puts every (field, term, doc) posting into a pool that is
    sorted as tuples, spilled to disk with one pickle call per posting, merged
    back with heapq, and then written one posting at a time, looking each
    document's field length up in the freshly written column file. At ~850
    postings a passage that was three quarters of indexing time.

    Here postings are grouped by term as documents arrive (documents come in
    docnum order, so each list is already sorted), only the term keys are
    sorted, and each term's postings are handed to the block writer a block
    at a time. Segments are built in memory (~100 bytes a posting), so the
    caller bounds how much goes into one writer. ``tests/test_index_writer.py``
    checks that the postings equal those of Whoosh's own writer; like the
    executor, this reads W3 internals, so rerun it when upgrading Whoosh.

    Adds only; commit with ``merge=False`` (a merge would go through the pool).
    """

    def __init__(self, ix, **kwargs):
        kwargs.setdefault("codec", bulk_codec())
        super().__init__(ix, **kwargs)
        self.pool = _RefusingPool(self.pool)
        self._terms: dict[str, dict[bytes, tuple[list, list, list]]] = {}
        self._lengths: dict[str, dict[int, int]] = {}

    def add_document(self, **fields):
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)

        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                if field.separate_spelling() or field.vector:
                    raise NotImplementedError(f"{fieldname}: spelling/vectors need Whoosh's writer")
                length = 0
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    terms = self._terms.get(fieldname)
                    if terms is None:
                        terms = self._terms[fieldname] = {}
                    get = terms.get
                    for tbytes, freq, weight, vbytes in field.index(value):
                        length += freq
                        entry = get(tbytes)
                        if entry is None:
                            terms[tbytes] = ([docnum], [weight * fieldboost], [vbytes])
                        else:
                            entry[0].append(docnum)
                            entry[1].append(weight * fieldboost)
                            entry[2].append(vbytes)
                    if not field.scorable:
                        length = 0
                    if length:
                        # the quantised length Whoosh would read back per posting
                        self._lengths.setdefault(fieldname, {})[docnum] = byte_to_length(length_to_byte(length))
                customval = fields.get("_stored_%s" % fieldname, value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self):
        self.perdocwriter.close()
        fw = self.fieldwriter
        for fieldname in sorted(self._terms):
            terms = self._terms[fieldname]
            lengths = self._lengths.get(fieldname, {})
            fw.start_field(fieldname, self.schema[fieldname])
            for tbytes in sorted(terms):
                docs, weights, values = terms[tbytes]
                fw.start_term(tbytes)
                _add_postings(fw._postwriter, docs, weights, values, lengths)
                fw.finish_term()
            fw.finish_field()
        fw.close()
        self._terms, self._lengths = {}, {}


def _add_postings(pw, docs: list, weights: list, values: list, lengths: dict) -> None:
    """What W3PostingsWriter.add_posting does per posting, a block at a time:
    full blocks are written, the last one stays buffered for finish_postings."""
    limit = pw._blocklimit
    n = len(docs)
    for i in range(0, n, limit):
        if i:
            pw._write_block()
        ids = docs[i:i + limit]
        w = weights[i:i + limit]
        pw._ids.extend(ids)
        pw._weights.extend(w)
        pw._maxweight = max(pw._maxweight, max(w))
        pw._values.extend(v for v in values[i:i + limit] if v)
        if lengths:
            lens = [x for x in map(lengths.get, ids) if x]
            if lens:
                low = min(lens)
                pw._minlength = low if pw._minlength is None else min(pw._minlength, low)
                pw._maxlength = max(pw._maxlength, max(lens))
