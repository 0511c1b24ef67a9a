"""Everything that depends on Whoosh's *private* internals, in one place.

Four things reach below Whoosh's public API, all here, all against
whoosh-reloaded 2.7.5 (``check_version`` refuses any other version at import,
and ``tests/test_index_format.py`` / ``tests/test_index_writer.py`` compare
each with what Whoosh itself reads and writes):

* reading a term's posting blocks (W3 codec) straight into numpy arrays —
  Whoosh's per-document matchers are an order of magnitude slower;
* opening segments without copying them: Whoosh memory-maps a segment's
  compound file and hands each sub-file to ``BufferFile``, whose constructor
  wraps the memory view in ``BytesIO`` — a full copy. Every searcher thus read
  its postings files whole into memory when opened: ~1 s and ~1.4 GB of RAM
  for a 1.3 GB index, again after every commit. ``_MappedFile`` reads the map
  in place;
* ``BulkSegmentWriter``: a segment written without Whoosh's posting pool;
* committing segments written by other processes (``write_segment``,
  ``SegmentsWriter``), so a rebuild can write its segments on every core.
"""
from __future__ import annotations

import gc
import heapq
import io
import itertools
import zlib
from array import array
from pickle import dumps, loads
from typing import Iterable

import numpy as np
import whoosh
from whoosh import columns
from whoosh import index as windex
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3PostingsWriter, W3TermInfo
from whoosh.filedb import compound
from whoosh.filedb.structfile import BufferFile
from whoosh.matching import ListMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.writing import SegmentWriter

WHOOSH_VERSION = (2, 7, 5)  # the version whose format this module reads
EMPTY = np.zeros(0, dtype=np.int64)


class _SliceRaw(io.RawIOBase):
    """A read-only, seekable raw file over a buffer, without copying the buffer."""

    def __init__(self, buf):
        super().__init__()
        self._buf = buf
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = max(0, min(len(b), len(self._buf) - self._pos))
        b[:n] = self._buf[self._pos:self._pos + n]
        self._pos += n
        return n

    def seek(self, pos: int, whence: int = 0) -> int:
        base = (0, self._pos, len(self._buf))[whence]
        if base + pos < 0:
            raise ValueError("negative seek position")
        self._pos = base + pos
        return self._pos

    def tell(self) -> int:
        return self._pos


def slice_reader(buf) -> io.BufferedReader:
    """Buffered (so pickle's many small reads stay in C) over the buffer in place."""
    return io.BufferedReader(_SliceRaw(buf), buffer_size=16 * 1024)


class _MappedFile(BufferFile):
    """``BufferFile`` reading its memory view in place (see the module docstring)."""

    def __init__(self, buf, name=None, onclose=None):
        self._buf = buf
        self._name = name
        self.file = slice_reader(buf)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    def subset(self, position, length, name=None):
        return _MappedFile(self._buf[position:position + length], name=name or self._name)


def install() -> None:
    """Make Whoosh open compound segments without copying them (idempotent)."""
    compound.BufferFile = _MappedFile


def check_version() -> None:
    found = tuple(int(p) for p in whoosh.versionstring().split(".")[:3])
    if found != WHOOSH_VERSION:
        raise RuntimeError(f"index/whoosh_format.py reads the format of Whoosh {WHOOSH_VERSION}, found {found}: "
                           "re-run tests/test_index_format.py and adapt this module")


# ---------------------------------------------------------------- reading postings

def segment_term_postings(leaf, field: str, text: str):
    """(local ids, weights) of a term in one segment, deletions not applied; None if absent."""
    try:
        m = leaf.postings(field, text)
    except Exception:  # TermNotFound and friends: no postings in this segment
        return None
    if isinstance(m, FilterMatcher):  # deleted documents are removed per generation
        m = m.child
    if isinstance(m, ListMatcher):  # postings inlined in the term info
        ids = np.asarray(m._ids, dtype=np.int64)
        weights = np.asarray(m._weights, dtype=np.float32) if m._weights else np.ones(len(ids), np.float32)
        return ids, weights
    return read_all_blocks(m)


def read_all_blocks(m) -> tuple[np.ndarray, np.ndarray]:
    """Every (id, weight) of a W3 leaf matcher, block by block."""
    ids_parts, w_parts = [], []
    while not m._atend:
        datalen = m._nextoffset - m._dataoffset
        b = m._postfile.get(m._dataoffset, datalen)
        if m._compression:
            b = zlib.decompress(b)
        raw_ids, weights = loads(b)[:2]
        ids = np.asarray(raw_ids, dtype=np.int64)
        if not m._byteids:
            ids = np.cumsum(ids)
        n = m._blocklength
        if weights is None:
            w = np.ones(n, dtype=np.float32)
        elif isinstance(weights, float):
            w = np.full(n, weights, dtype=np.float32)
        else:
            w = np.asarray(weights, dtype=np.float32)
        ids_parts.append(ids)
        w_parts.append(w)
        if m._lastblock:
            break
        m._goto(m._nextoffset)
    if not ids_parts:
        return EMPTY, np.zeros(0, dtype=np.float32)
    return np.concatenate(ids_parts), np.concatenate(w_parts)


def column_codes(leaf, fieldname: str) -> tuple[np.ndarray, list[str]]:
    """Every document's value of a column as (codes, labels), "" for none.

    Reference and numeric columns are read whole with numpy (their rows are
    fixed-size); value by value, a cold open of 350,000 passages spent a
    second here. Numbers are labelled through the field, so a year reads "2023".
    """
    size = leaf.doc_count_all()
    if fieldname not in leaf.schema or not leaf.has_column(fieldname):
        return np.zeros(size, dtype=np.int32), [""]
    reader = leaf.column_reader(fieldname, translate=False)
    if isinstance(reader, columns.RefBytesColumn.Reader):
        raw = reader._dbfile.get(reader._basepos, size * reader._itemsize)
        refs = np.frombuffer(raw, dtype=np.dtype(">" + reader._typecode)).astype(np.int32)
        return refs, [u.decode("utf-8", "replace") for u in reader._uniques]
    if isinstance(reader, columns.NumericColumn.Reader):
        # rows after the last written value are the default (the writer stops there)
        values = np.full(size, reader._default, dtype=np.int64)
        raw = reader._dbfile.get(reader._basepos, reader._count * reader._fixedlen)
        values[:reader._count] = np.frombuffer(raw, dtype=np.dtype(">" + reader._typecode))
        uniques, codes = np.unique(values, return_inverse=True)
        field = leaf.schema[fieldname]
        labels = ["" if u == reader._default else str(field.from_column_value(int(u))) for u in uniques.tolist()]
        return codes.astype(np.int32), labels
    labels: dict[str, int] = {}
    values = (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in reader)
    codes = np.fromiter((labels.setdefault(v, len(labels)) for v in values), dtype=np.int32, count=size)
    return codes, list(labels)


def bytes_column(leaf, fieldname: str):
    """A bytes column of one segment: reader[local docnum] -> bytes."""
    return leaf.column_reader(fieldname, translate=False)


# ---------------------------------------------------------------- writing segments

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
    back with heapq, and then written one posting at a time. Here:

    * a field that counts its own terms (``term_counts``: words, grams) gives
      a {term: frequency} per document; its terms become ids in a per-field
      vocabulary (new terms found by one set difference, in C) and the
      (term id, frequency) pairs are kept as two small numpy arrays per
      document. At the end one stable argsort groups them by term with the
      documents still in order: no Python work per posting;
    * other fields (ids, keywords, numbers: a few postings a document) are
      grouped by term in dicts as documents arrive.

    Only the term keys are sorted, and each term's postings go to the block
    writer a block at a time. Segments are built in memory (~15 bytes a
    posting), so the caller bounds how much goes into one writer.
    ``tests/test_index_writer.py`` checks that the postings equal those of
    Whoosh's own writer. Adds only; commit with ``merge=False``.
    """

    def __init__(self, ix, **kwargs):
        kwargs.setdefault("codec", bulk_codec())
        super().__init__(ix, **kwargs)
        self.pool = _RefusingPool(self.pool)
        self._terms: dict[str, dict[bytes, tuple[list, ...]]] = {}
        self._counted: dict[str, dict[type, object]] = {}

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
                if field.separate_spelling() or field.vector or field.scorable:
                    raise NotImplementedError(f"{fieldname}: spelling, vectors and lengths need Whoosh's writer")
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    valueless = field.format.fixed_value_size() == 0
                    if valueless and hasattr(field, "term_keys"):
                        keys, key_counts, other = field.term_keys(value)
                        self._postings(fieldname, _KeyedPostings, field.key_text).add(docnum, keys, key_counts,
                                                                                     fieldboost)
                        self._postings(fieldname, _CountedPostings).add(docnum, other, fieldboost)
                    elif valueless and hasattr(field, "term_counts"):
                        self._postings(fieldname, _CountedPostings).add(docnum, field.term_counts(value), fieldboost)
                    else:
                        self._add_terms(fieldname, docnum, field.index(value), field, fieldboost)
                customval = fields.get("_stored_%s" % fieldname, value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None, 0)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _postings(self, fieldname: str, kind, *args):
        """The field's postings of one kind (a field may have both kinds)."""
        found = self._counted.setdefault(fieldname, {})
        postings = found.get(kind)
        if postings is None:
            postings = found[kind] = kind(*args)
        return postings

    def _add_terms(self, fieldname: str, docnum: int, items, field, fieldboost: float) -> None:
        terms = self._terms.get(fieldname)
        if terms is None:
            terms = self._terms[fieldname] = {}
        # (docs, weights) per term, plus the encoded values for formats that have them
        valued = field.format.fixed_value_size() != 0
        for tbytes, _, weight, vbytes in items:
            weight *= fieldboost
            entry = terms.get(tbytes)
            if entry is None:
                terms[tbytes] = ([docnum], [weight], [vbytes]) if valued else ([docnum], [weight])
            else:
                entry[0].append(docnum)
                entry[1].append(weight)
                if valued:
                    entry[2].append(vbytes)

    def _flush_segment(self):
        self.perdocwriter.close()
        fw = self.fieldwriter
        for fieldname in sorted({*self._terms, *self._counted}):
            fw.start_field(fieldname, self.schema[fieldname])
            pw = fw._postwriter = _BulkPostingsWriter.like(fw._postwriter)
            if fieldname in self._counted:
                postings = heapq.merge(*(p.by_term() for p in self._counted[fieldname].values()),
                                       key=lambda item: item[0])
            else:
                terms = self._terms[fieldname]
                postings = ((tbytes, *terms[tbytes]) for tbytes in sorted(terms))
            for tbytes, *lists in postings:
                if not _write_small_term(fw, tbytes, *lists):
                    fw.start_term(tbytes)
                    pw.add_all(*lists)
                    fw.finish_term()
            fw.finish_field()
        fw.close()
        self._terms, self._counted = {}, {}


class _CountedPostings:
    """One field's (term, document, frequency) postings of a segment in the making.

    Per document, three C-level calls and no Python loop: each term gets an id
    with ``vocab.setdefault(term, next id)`` mapped over the terms (a known
    term keeps its id; the unused id is skipped, ids need only be distinct),
    and ids and frequencies are appended to flat arrays.
    """

    def __init__(self):
        self.vocab: dict[str, int] = {}
        self._next_id = itertools.count()
        self.term_ids = array("q")
        self.freqs = array("f")
        self.docs: list[int] = []
        self.sizes: list[int] = []
        self.boosted = False

    def add(self, docnum: int, counts: dict[str, int], boost: float = 1.0) -> None:
        if not counts:
            return
        self.term_ids.extend(map(self.vocab.setdefault, counts, self._next_id))
        self.freqs.extend(counts.values() if boost == 1.0 else (n * boost for n in counts.values()))
        self.docs.append(docnum)
        self.sizes.append(len(counts))

    def by_term(self):
        """(term bytes, docnums, weights) in term order, documents ascending."""
        if not self.docs:
            return
        ids = np.frombuffer(self.term_ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")  # stable: each term's documents stay in order
        ids = ids[order]
        docs = np.repeat(np.array(self.docs, dtype=np.uint32), self.sizes)[order]
        weights = np.frombuffer(self.freqs, dtype=np.float32)[order]
        # str order is code point order, which is UTF-8 byte order: Whoosh's term order
        terms = sorted(self.vocab)
        tids = np.fromiter(map(self.vocab.__getitem__, terms), dtype=np.int64, count=len(terms))
        starts = np.searchsorted(ids, tids, side="left").tolist()
        ends = np.searchsorted(ids, tids, side="right").tolist()
        for term, start, end in zip(terms, starts, ends):
            yield term.encode("utf-8"), docs[start:end], weights[start:end]


class _KeyedPostings:
    """One field's postings of integer-keyed terms (``term_keys``): per
    document a sorted key array and its counts, grouped at the end by one
    stable argsort; ``key_text`` names a key's term. Keys must sort as their
    terms do."""

    def __init__(self, key_text):
        self.key_text = key_text
        self.keys: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.docs: list[int] = []

    def add(self, docnum: int, keys: np.ndarray, counts: np.ndarray, boost: float = 1.0) -> None:
        if len(keys):
            self.keys.append(keys)
            self.counts.append(counts * boost if boost != 1.0 else counts.astype(np.uint32))
            self.docs.append(docnum)

    def by_term(self):
        """(term bytes, docnums, weights) in term order, documents ascending."""
        if not self.docs:
            return
        keys = np.concatenate(self.keys)
        order = np.argsort(keys, kind="stable")  # stable: each term's documents stay in order
        keys = keys[order]
        docs = np.repeat(np.array(self.docs, dtype=np.uint32), [len(k) for k in self.keys])[order]
        weights = np.concatenate(self.counts).astype(np.float32)[order]
        uniques, starts = np.unique(keys, return_index=True)
        ends = np.append(starts[1:], len(keys))
        for key, start, end in zip(uniques.tolist(), starts.tolist(), ends.tolist()):
            yield self.key_text(key).encode("utf-8"), docs[start:end], weights[start:end]


class _BulkPostingsWriter(W3PostingsWriter):
    """W3's posting writer fed a term's postings at once, with the
    per-posting Python loops of block writing (delta-encoding ids, checking
    weights) done by numpy; blocks come out byte for byte the same. Posting
    lists shorter than ``INLINE`` are kept inside the term info instead of a
    block of their own, as Whoosh means to (its writer calls a method that
    whoosh-reloaded 2.7.5 misspells, so it never does): most terms occur in
    one or two passages, and a block costs ~40 bytes of headers."""

    INLINE = 4

    @classmethod
    def like(cls, pw: W3PostingsWriter) -> "_BulkPostingsWriter":
        return cls(pw._postfile, pw._blocklimit, byteids=pw._byteids, compression=pw._compression,
                   inlinelimit=cls.INLINE)

    def add_all(self, ids, weights, values=None) -> None:
        """Every posting of the current term: full blocks are written, the
        last one stays buffered for finish_postings."""
        limit = self._blocklimit
        for i in range(0, len(ids), limit):
            if i:
                self._write_block()
            block_ids, block_weights = ids[i:i + limit], weights[i:i + limit]
            if isinstance(block_ids, np.ndarray):
                self._ids.frombytes(block_ids.astype(np.uint32).tobytes())
                self._weights.frombytes(block_weights.astype(np.float32).tobytes())
                self._maxweight = max(self._maxweight, float(block_weights.max()))
            else:
                self._ids.extend(block_ids)
                self._weights.extend(block_weights)
                self._maxweight = max(self._maxweight, max(block_weights))
            if values:
                self._values.extend(v for v in values[i:i + limit] if v)

    def _mini_ids(self):
        if self._byteids or len(self._ids) < 64:  # numpy's call costs more than a short loop
            return super()._mini_ids()
        ids = np.frombuffer(self._ids, dtype=np.uint32).astype(np.int64)
        return tuple(np.diff(ids, prepend=0).tolist())

    def _mini_weights(self):
        return _mini_weights(self._weights.tolist())

    def finish_postings(self):
        terminfo = self._terminfo
        if not self.written() and len(self) < self._inlinelimit:
            terminfo.add_block(self)
            # an empty value per posting, not none at all: Whoosh's ListMatcher
            # would hand its merges a str for a missing value
            terminfo.set_inlined(self._ids, self._weights, self._values or (b"",) * len(self._ids))
            self._terminfo = None
            return terminfo
        return super().finish_postings()


def _mini_weights(weights: list[float]):
    """A block's weights as W3 stores them: None when all 1.0, one float when all
    equal, else a tuple — of ints when they are whole numbers (frequencies):
    pickled in 2 bytes instead of 9, a third of a block's size, and a tuple is
    what Whoosh's reader hands out as the block's weights either way."""
    first = weights[0]
    if min(weights) == max(weights):
        return None if first == 1.0 else first
    whole = [int(w) for w in weights]
    return tuple(whole) if whole == weights else tuple(weights)


_TERMINFO = W3TermInfo._struct
_COMPRESS_FROM = 128  # bytes


def _write_small_term(fw, tbytes: bytes, ids, weights, values=None) -> bool:
    """Write a value-less term of at most one block (most terms) straight to
    the terms and postings files, as ``start_term`` / ``add_all`` /
    ``finish_term`` would, in a dozen operations instead of a few hundred
    Python calls through the W3 writer; False: leave it to those."""
    pw = fw._postwriter
    n = len(ids)
    if values or n > pw._blocklimit:
        return False
    ids = np.asarray(ids, dtype=np.int64)
    first, last = int(ids[0]), int(ids[-1])
    # float32 weights as the W3 writer's array("f") holds them
    weights = np.asarray(weights, dtype=np.float32).tolist()
    total, top = sum(weights), max(weights)
    if n < pw._inlinelimit:
        posting = dumps((tuple(ids.tolist()), tuple(weights), (b"",) * n), 2)
        info = _TERMINFO.pack(True, total, n, 0, 0, top, first, last) + posting
    else:
        postfile = pw._postfile
        start = postfile.tell()
        postfile.write(WHOOSH3_HEADER_MAGIC)
        deltas = ids.copy()
        deltas[1:] -= ids[:-1]
        data = dumps((tuple(deltas.tolist()), _mini_weights(weights), None), 2)
        # a short block is stored as it is: deflate's set-up costs more than it saves there
        compression = pw._compression if len(data) >= _COMPRESS_FROM else 0
        if compression:
            data = zlib.compress(data, compression)
        block_info = dumps((n, last, top, compression, 0, 0), 2)
        postfile.write_int(-(len(block_info) + len(data)))  # negative: the last block
        postfile.write(block_info)
        postfile.write(data)
        extent = pack_long(start) + pack_int(postfile.tell() - start)
        info = _TERMINFO.pack(False, total, n, 0, 0, top, first, last) + extent
    fw._tindex.add(pack_ushort(fw._fieldid) + tbytes, info)
    return True


def write_segment(index_dir: str, documents: Iterable[dict]):
    """Write ``documents`` as one new segment of the index and return it,
    uncommitted (the caller holds the index's writer and commits it with
    ``SegmentsWriter``). Runs in a worker process of a parallel rebuild."""
    ix = windex.open_dir(index_dir)
    writer = BulkSegmentWriter(ix, _lk=False)
    # Millions of small posting lists live until the segment is written; the
    # cyclic collector would rescan them again and again (~10% of the time)
    # and none of them can form a cycle.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for doc in documents:
            writer.add_document(**doc)
        segment = writer._finalize_segment()
        # not writer._finish(): it would delete the temporary directory that the
        # committing writer and the other workers share; nothing of ours is left in it
        writer.is_closed = True
        return segment
    except BaseException:
        writer.cancel()
        raise
    finally:
        if collecting:
            gc.enable()


class SegmentsWriter(SegmentWriter):
    """Holds the index's write lock while other processes write segments
    (``write_segment``), then commits them, unmerged, as one new generation."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        self._written: list = []

    def add_segments(self, segments) -> None:
        self._written.extend(segments)

    def commit(self, mergetype=None, optimize=None, merge=None):
        self._check_state()
        self._close_segment()
        self._commit_toc(list(self.segments) + self._written)
        self._finish()


check_version()
install()
