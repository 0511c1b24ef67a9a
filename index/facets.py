"""Facet counts over a whole result set, without a per-hit Python loop.

Whoosh's grouping visits every matching document in Python for every facet.
Instead, per searcher generation, we load each facet column once into a
numpy array of value codes, then count any result set with one bincount.
Multi-valued indicators are posting lists intersected with the result mask.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

FACET_FIELDS = ("unit", "year", "kind")
LOADED_COLUMNS = FACET_FIELDS + ("date",)  # date: for sorting, not shown as a facet
OUTPUT_NAMES = {"unit": "unit", "year": "year", "kind": "kind", "indicators": "indicator"}


class FacetTables:
    def __init__(self, searcher):
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        leaves = list(reader.leaf_readers())
        parts = [(segment_columns(leaf), base) for leaf, base in leaves]
        self.codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        for name in LOADED_COLUMNS:
            labels: dict[str, int] = {}
            pieces = []
            for columns, _ in parts:
                local_codes, local_labels = columns[name]
                to_global = np.array([labels.setdefault(label, len(labels)) for label in local_labels] or [0],
                                     dtype=np.int32)
                pieces.append(to_global[local_codes])
            codes = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
            self.codes[name] = (codes, list(labels))
        ids_of: dict[str, list[np.ndarray]] = {}
        for columns, base in parts:
            for term, ids in columns["indicators"].items():
                ids_of.setdefault(term, []).append(ids + base)
        self.indicator_ids: dict[str, np.ndarray] = {t: np.concatenate(v) for t, v in ids_of.items()}

    def date_rank(self, docnums: np.ndarray) -> np.ndarray:
        """Sort keys for newest-first: larger means later (ISO dates sort as text)."""
        codes, labels = self.codes["date"]
        rank_of_label = np.argsort(np.argsort(np.array(labels, dtype=object)))
        return rank_of_label[codes[docnums]]

    def count(self, docnums: np.ndarray) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for name in FACET_FIELDS:
            codes, labels = self.codes[name]
            counts = np.bincount(codes[docnums], minlength=len(labels)) if len(docnums) else []
            out[OUTPUT_NAMES[name]] = {labels[i]: int(c) for i, c in enumerate(counts)
                                       if c and labels[i] not in ("", "0")}
        mask = np.zeros(self.size, dtype=bool)
        mask[docnums] = True
        indicator = {}
        for term, ids in self.indicator_ids.items():
            c = int(mask[ids].sum()) if len(ids) else 0
            if c:
                indicator[term] = c
        out["indicator"] = indicator
        return {k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for k, v in out.items()}


# A segment's columns and postings never change once written (deletions are
# kept beside it), so what is read from a segment is kept across searcher
# generations: after a commit only the new segment is read, not the whole index.
_SEGMENTS: OrderedDict[str, dict] = OrderedDict()
_SEGMENTS_KEPT = 512
_SEGMENTS_LOCK = threading.Lock()


def segment_columns(leaf) -> dict:
    """{column: (codes, labels)} and {"indicators": {term: local ids}} of one segment, cached by segment id."""
    segment = leaf.segment()
    key = segment.segment_id() if segment is not None else None
    with _SEGMENTS_LOCK:
        found = _SEGMENTS.get(key) if key else None
        if found is not None:
            _SEGMENTS.move_to_end(key)
            return found
    size = leaf.doc_count_all()
    out: dict = {}
    for name in LOADED_COLUMNS:
        values = list(leaf.column_reader(name)) if leaf.has_column(name) else [""] * size
        labels: dict[str, int] = {}
        codes = np.fromiter((labels.setdefault(_label(v), len(labels)) for v in values), dtype=np.int32,
                            count=len(values))
        out[name] = (codes, list(labels))
    indicators = {}
    if "indicators" in leaf.indexed_field_names():
        for term in leaf.lexicon("indicators"):
            term = term.decode("utf-8") if isinstance(term, bytes) else term
            indicators[term] = np.fromiter(leaf.postings("indicators", term).all_ids(), dtype=np.int64)
    out["indicators"] = indicators
    if key:
        with _SEGMENTS_LOCK:
            _SEGMENTS[key] = out
            while len(_SEGMENTS) > _SEGMENTS_KEPT:
                _SEGMENTS.popitem(last=False)
    return out


def _label(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)
