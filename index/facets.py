"""Facet counts over a whole result set, without a per-hit Python loop.

Whoosh's grouping visits every matching document in Python for every facet.
Instead, per searcher generation, we load each facet column once into a
numpy array of value codes, then count any result set with one bincount.
Multi-valued indicators are posting lists intersected with the result mask.
"""
from __future__ import annotations

import numpy as np

FACET_FIELDS = ("unit", "year", "kind")
LOADED_COLUMNS = FACET_FIELDS + ("date",)  # date: for sorting, not shown as a facet
OUTPUT_NAMES = {"unit": "unit", "year": "year", "kind": "kind", "indicators": "indicator"}


class FacetTables:
    def __init__(self, searcher):
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        for name in LOADED_COLUMNS:
            values = list(reader.column_reader(name)) if reader.has_column(name) else [""] * self.size
            labels: dict[str, int] = {}
            codes = np.fromiter((labels.setdefault(_label(v), len(labels)) for v in values),
                                dtype=np.int32, count=len(values))
            self.codes[name] = (codes, list(labels))
        self.indicator_ids: dict[str, np.ndarray] = {}
        if "indicators" in reader.indexed_field_names():
            for term in reader.lexicon("indicators"):
                term = term.decode("utf-8") if isinstance(term, bytes) else term
                ids = reader.postings("indicators", term).all_ids()
                self.indicator_ids[term] = np.fromiter(ids, dtype=np.int64)

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


def _label(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value)
