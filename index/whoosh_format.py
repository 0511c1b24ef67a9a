"""Everything that depends on Whoosh's *private* on-disk format, in one place.

The executor reads posting blocks of the W3 codec itself (numpy beats
Whoosh's per-document matchers by an order of magnitude), and segments are
opened without copying them into memory. Both rely on internals of
whoosh-reloaded 2.7.5, so both live here, and ``tests/test_index_format.py``
fails loudly if an upgrade changes them.

Zero-copy segments: Whoosh memory-maps a segment's compound file and hands
each sub-file to ``BufferFile``, whose constructor wraps the memory view in
``BytesIO`` — a full copy. Every searcher thus read its postings files whole
into memory when opened: ~1 s and ~1.4 GB of RAM for a 1.3 GB index, again
after every commit. ``_MappedFile`` reads the map in place.
"""
from __future__ import annotations

import io
import zlib
from pickle import loads

import numpy as np
import whoosh
from whoosh.filedb import compound
from whoosh.filedb.structfile import BufferFile

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


def read_all_blocks(m):
    """Every (id, weight, encoded value) of a W3 leaf matcher, block by block."""
    ids_parts, w_parts, values = [], [], []
    while not m._atend:
        datalen = m._nextoffset - m._dataoffset
        b = m._postfile.get(m._dataoffset, datalen)
        if m._compression:
            b = zlib.decompress(b)
        raw_ids, weights, vals = loads(b)[:3]
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
        if vals is not None and not isinstance(vals, (bytes, str)) and m._fixedsize is None:
            values.extend(vals)
        if m._lastblock:
            break
        m._goto(m._nextoffset)
    if not ids_parts:
        return EMPTY, np.zeros(0, dtype=np.float32), []
    return np.concatenate(ids_parts), np.concatenate(w_parts), values


def decode_positions(value: bytes) -> list[int]:
    """whoosh.formats.Positions encoding: uint count, then pickled deltas."""
    if not value.endswith(b"."):  # whoosh strips pickle's STOP opcode
        value += b"."
    deltas = loads(value[4:])
    out, base = [], 0
    for d in deltas:
        base += d
        out.append(base)
    return out


check_version()
install()
