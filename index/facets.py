"""Facet counts over a whole result set, without a per-hit Python loop.

Whoosh's grouping visits every matching document in Python for every facet.
Instead, per searcher generation, we load each facet column once into a
numpy array of value codes, then count any result set with one bincount.

Indicators are many per passage: the ``indicator_set`` column holds each
passage's set as one value (a few hundred distinct sets a segment), so a
result set is counted per set with one bincount, and the sets' counts are
spread to their indicators with a second one. Reading 88 posting lists per
segment at open instead took ~0.1 s a segment.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from index.whoosh_format import column_codes

FACET_FIELDS = ("unit", "year", "kind")
INDICATOR_SETS = "indicator_set"
OUTPUT_NAMES = {"unit": "unit", "year": "year", "kind": "kind"}


class FacetTables:
    def __init__(self, searcher, scope: str = ""):
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.scope = scope
        self.leaves = list(reader.leaf_readers())
        parts = [segment_columns(leaf, scope) for leaf, _ in self.leaves]
        self.codes: dict[str, tuple[np.ndarray, list[str]]] = {
            name: _merge([columns[name] for columns in parts]) for name in (*FACET_FIELDS, INDICATOR_SETS)}
        # (set, indicator) pairs: the indicators of each distinct set
        _, sets = self.codes[INDICATOR_SETS]
        indicators: dict[str, int] = {}
        pair_set, pair_indicator = [], []
        for code, label in enumerate(sets):
            for indicator in label.split():
                pair_set.append(code)
                pair_indicator.append(indicators.setdefault(indicator, len(indicators)))
        self.indicators = list(indicators)
        self._pair_set = np.array(pair_set, dtype=np.int64)
        self._pair_indicator = np.array(pair_indicator, dtype=np.int64)
        self._dates: tuple[np.ndarray, list[str]] | None = None

    def date_rank(self, docnums: np.ndarray) -> np.ndarray:
        """Sort keys for newest-first: larger means later (ISO dates sort as text).
        The date column is read on the first sort by date, not at open."""
        if self._dates is None:
            self._dates = _merge([segment_column(leaf, self.scope, "date") for leaf, _ in self.leaves])
        codes, labels = self._dates
        rank_of_label = np.argsort(np.argsort(np.array(labels, dtype=object)))
        return rank_of_label[codes[docnums]]

    def count(self, docnums: np.ndarray) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name in FACET_FIELDS:
            codes, labels = self.codes[name]
            counts = np.bincount(codes[docnums], minlength=len(labels)) if len(docnums) else []
            out[OUTPUT_NAMES[name]] = {labels[i]: int(c) for i, c in enumerate(counts)
                                       if c and labels[i] not in ("", "0")}
        codes, sets = self.codes[INDICATOR_SETS]
        per_set = np.bincount(codes[docnums], minlength=len(sets))
        per_indicator = np.bincount(self._pair_indicator, weights=per_set[self._pair_set],
                                    minlength=len(self.indicators))
        out["indicator"] = {self.indicators[i]: int(c) for i, c in enumerate(per_indicator.tolist()) if c}
        return {k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for k, v in out.items()}


# A segment's columns and postings never change once written (deletions are
# kept beside it), so what is read from a segment is kept across searcher
# generations: after a commit only the new segment is read, not the whole index.
_SEGMENTS: OrderedDict[tuple, object] = OrderedDict()
_SEGMENTS_KEPT = 512
_SEGMENTS_LOCK = threading.Lock()


def segment_columns(leaf, scope: str = "") -> dict:
    """{column: (codes, labels)} of the facet columns of one segment, cached by
    (``scope``: the index's directory, segment id)."""
    return _cached(leaf, scope, "facets", lambda: {
        name: column_codes(leaf, name) for name in (*FACET_FIELDS, INDICATOR_SETS)})


def segment_column(leaf, scope: str, name: str) -> tuple[np.ndarray, list[str]]:
    return _cached(leaf, scope, name, lambda: column_codes(leaf, name))


def _cached(leaf, scope: str, what: str, load):
    segment = leaf.segment()
    key = (scope, segment.segment_id(), what) if segment is not None else None
    with _SEGMENTS_LOCK:
        found = _SEGMENTS.get(key) if key else None
        if found is not None:
            _SEGMENTS.move_to_end(key)
            return found
    out = load()
    if key:
        with _SEGMENTS_LOCK:
            _SEGMENTS[key] = out
            while len(_SEGMENTS) > _SEGMENTS_KEPT:
                _SEGMENTS.popitem(last=False)
    return out


def _merge(parts: list[tuple[np.ndarray, list[str]]]) -> tuple[np.ndarray, list[str]]:
    """Per-segment (codes, labels) → one code array over the index, labels merged."""
    labels: dict[str, int] = {}
    pieces = []
    for local_codes, local_labels in parts:
        to_global = np.array([labels.setdefault(label, len(labels)) for label in local_labels] or [0],
                             dtype=np.int32)
        pieces.append(to_global[local_codes])
    codes = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    return codes, list(labels)
