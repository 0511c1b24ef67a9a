"""Evaluating our Whoosh query trees with numpy instead of Whoosh's matchers.

Whoosh walks postings one document at a time in Python, and its phrase
matching builds span objects per candidate; at tens of thousands of passages
a common phrase took over a second. Here every posting list is read block by
block into numpy arrays (ids + term frequencies), boolean logic is set
algebra on sorted arrays, totals and facets are exact counts over the
resulting set, and ranking is a vectorised BM25-like sum.

This is the one evaluator of a query. A text condition (``Substring``, see
``index/substring.py``) selects its candidates by gram terms here and, where
the terms alone do not decide, checks the passage's verification text: for
every candidate when there are few enough (``VERIFY_ALL``), otherwise for the
passages shown, with the total estimated from a checked sample and flagged.

The block format is Whoosh's private W3 codec, read in ``index/whoosh_format.py``
(the one module that knows it; ``tests/test_index_format.py`` guards it).

The tree is still Whoosh ``Query`` objects built by ``index.query``: the
permission filter is a clause of the query itself, evaluated in the same set
algebra as everything else, never applied to a result list afterwards.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np
from whoosh import query as wq

from index import substring
from index.substring import Substring
from index.whoosh_format import EMPTY, bytes_column, segment_term_postings

VERIFY_ALL = 1_500           # text checks done for every candidate up to this many
SAMPLE = 300                 # checked sample when there are more
NEGATION_CHECKS = 2_000      # text checks spent making a NOT exact before ranking
CACHE_BYTES = 64 * 2 ** 20    # merged posting arrays kept per searcher generation
CHECKS_KEPT = 400_000        # remembered text check results (a page turn repeats them)


class Executor:
    def __init__(self, searcher, tables=None, scope: str = "", io_lock=None):
        self.searcher = searcher
        self.scope = scope  # the index's directory: segment caches are shared by every index of the process
        # Whoosh reads posting blocks by seek + read on file objects its readers
        # share: one thread at a time there (everything else here may run in parallel)
        self.io_lock = io_lock or threading.Lock()
        self.reader = searcher.reader()
        self.leaves = list(self.reader.leaf_readers())
        self.bases = np.array([base for _, base in self.leaves], dtype=np.int64)
        self.size = self.reader.doc_count_all()
        live = np.ones(self.size, dtype=bool)
        for leaf, base in self.leaves:
            deleted = leaf.deleted_docs_set if hasattr(leaf, "deleted_docs_set") else ()
            if deleted:
                live[np.fromiter(deleted, dtype=np.int64) + base] = False
        self.live = live
        self.live_ids = np.flatnonzero(live)
        self.tables = tables
        self._cache: OrderedDict = OrderedDict()
        self._cache_bytes = 0
        self.doc_count = int(live.sum())
        self._leaf_memo: dict = {}
        self._cache_lock = threading.Lock()
        self._texts_readers: dict[int, object] = {}
        self._checked: OrderedDict[tuple, dict[int, bool]] = OrderedDict()
        self._checked_count = 0

    # ------------------------------------------------------------ postings

    def postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(sorted doc ids, term frequencies) of a term, deleted docs removed."""
        key = (field, text)
        with self._cache_lock:  # web requests search from several threads
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        ids_parts, w_parts = [], []
        for leaf, base in self.leaves:
            found = segment_postings(leaf, field, text, self.scope, self.io_lock)
            if found is None:
                continue
            ids, weights = found
            ids_parts.append(ids + base)
            w_parts.append(weights)
        if ids_parts:
            ids = np.concatenate(ids_parts)
            weights = np.concatenate(w_parts)
            keep = self.live[ids]
            if not keep.all():
                ids, weights = ids[keep], weights[keep]
        else:
            ids, weights = EMPTY, np.zeros(0, dtype=np.float32)
        entry = (ids, weights)
        with self._cache_lock:
            self._store(key, entry)
        return entry

    def _store(self, key, value) -> None:
        if key in self._cache:
            return
        self._cache[key] = value
        self._cache_bytes += _entry_bytes(value)
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= _entry_bytes(old)

    def prefix_terms(self, field: str, prefix: str, limit: int = 2000) -> list[str]:
        terms = set()
        for leaf, _ in self.leaves:
            for t in leaf.expand_prefix(field, prefix):
                terms.add(t.decode("utf-8") if isinstance(t, bytes) else t)
                if len(terms) >= limit:
                    break
        return sorted(terms)

    # ------------------------------------------------------------ doc sets

    def docs(self, q) -> np.ndarray:
        """Sorted ids of q's *candidates*: a superset of its matches, exact where
        no text needs checking (``needs_check``; ``exact`` decides the rest).

        A ``Substring`` gives the passages holding its gram terms. A negated one
        may only subtract passages known to hold its text: they are checked
        inside what the positive conditions (permission included) leave, when
        that takes at most NEGATION_CHECKS checks, and nothing is subtracted
        otherwise."""
        if q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
            return EMPTY
        if isinstance(q, wq.Every):
            return self.live_ids
        if isinstance(q, wq.Term):
            return self._term_docs(q.fieldname, q.text)
        if isinstance(q, (wq.Prefix, wq.NumericRange)):
            key = (type(q).__name__, q.fieldname, getattr(q, "text", None),
                   getattr(q, "start", None), getattr(q, "end", None))
            if key not in self._leaf_memo:
                if len(self._leaf_memo) > 64:
                    self._leaf_memo.clear()
                self._leaf_memo[key] = self._prefix_docs(q) if isinstance(q, wq.Prefix) else self._range_docs(q)
            return self._leaf_memo[key]
        if isinstance(q, wq.Phrase):  # Substring; a plain Phrase only ever ranks (AndMaybe)
            return self._and([self.postings(q.fieldname, w)[0] for w in q.words])
        if isinstance(q, wq.AndMaybe):
            return self.docs(q.a)
        if isinstance(q, wq.AndNot):
            pos = self.docs(q.a)
            return difference(pos, self.sure_docs(q.b, pos), self.size)
        if isinstance(q, (wq.Not, wq.And)):
            positive, negative = _conjuncts(q)
            out = self._and([self.docs(s) for s in positive]) if positive else self.live_ids
            for s in negative:
                if len(out) == 0:
                    break
                out = difference(out, self.sure_docs(s, out), self.size)
            return out
        if isinstance(q, wq.Or):
            return union([self.docs(s) for s in q.subqueries], self.size)
        # anything else: let Whoosh enumerate it (correct, slower)
        return np.fromiter(self.searcher.docs_for_query(q), dtype=np.int64)

    def _prefix_docs(self, q: wq.Prefix) -> np.ndarray:
        return union([self.postings(q.fieldname, t)[0] for t in self.prefix_terms(q.fieldname, q.text)], self.size)

    def _term_docs(self, field: str, text: str) -> np.ndarray:
        if self.tables is not None and field in self.tables.codes:
            codes, labels = self.tables.codes[field]
            try:
                code = labels.index(text)
            except ValueError:
                return EMPTY
            return np.flatnonzero((codes == code) & self.live)
        return self.postings(field, text)[0]

    def _range_docs(self, q: wq.NumericRange) -> np.ndarray:
        if self.tables is not None and q.fieldname in self.tables.codes:
            codes, labels = self.tables.codes[q.fieldname]
            good = [i for i, label in enumerate(labels)
                    if label.lstrip("-").isdigit() and q.start <= int(label) <= q.end]
            return np.flatnonzero(np.isin(codes, good) & self.live)
        return np.fromiter(self.searcher.docs_for_query(q), dtype=np.int64)

    def _and(self, parts: list[np.ndarray]) -> np.ndarray:
        if not parts:
            return EMPTY
        parts = sorted(parts, key=len)
        out = parts[0]
        for p in parts[1:]:
            if len(out) == 0:
                break
            out = intersect(out, p, self.size)
        return out

    # ------------------------------------------------------------ scoring

    def score(self, q, docs: np.ndarray) -> np.ndarray:
        """BM25-like relevance of each doc in ``docs`` (sorted) for q's positive terms."""
        scores = np.zeros(len(docs), dtype=np.float64)
        if len(docs) == 0:
            return scores
        n = max(self.doc_count, 1)
        for field, text, boost in _positive_terms(q):
            if field not in ("grams", "words"):
                continue
            ids, tf = self.postings(field, text)
            if len(ids) == 0:
                continue
            if len(docs) * 16 < self.size:  # few docs: look each up
                idx = np.searchsorted(ids, docs)
                idx[idx >= len(ids)] = 0
                f = np.where(ids[idx] == docs, tf[idx], 0.0)
            else:  # many: spread the frequencies over all ids once
                dense = np.zeros(self.size, dtype=np.float32)
                dense[ids] = tf
                f = dense[docs]
            idf = math.log(1 + (n - len(ids) + 0.5) / (len(ids) + 0.5))
            scores += boost * idf * f * 2.2 / (f + 1.2)
        return scores

    # ------------------------------------------------------------ exact answers

    def exact(self, q, within: np.ndarray) -> np.ndarray:
        """The docs of ``within`` (sorted) that truly match q; text is checked
        only for conditions whose gram terms do not decide alone."""
        if len(within) == 0:
            return within
        if not needs_check(q):
            return intersect(within, self.docs(q), self.size)
        if isinstance(q, Substring):  # ``within`` first: a few docs are looked up, not the terms' AND
            return self._contains(q, self._and([within, *(self.postings(q.fieldname, w)[0] for w in q.words)]))
        if isinstance(q, wq.AndMaybe):
            return self.exact(q.a, within)
        if isinstance(q, wq.AndNot):
            kept = self.exact(q.a, within)
            return difference(kept, self.exact(q.b, kept), self.size)
        if isinstance(q, wq.Not):
            return difference(within, self.exact(q.query, within), self.size)
        if isinstance(q, wq.And):
            # cheap, check-free clauses first: they shrink what must be checked
            for s in sorted(q.subqueries, key=needs_check):
                within = self.exact(s, within)
                if len(within) == 0:
                    break
            return within
        if isinstance(q, wq.Or):
            found = EMPTY
            for s in sorted(q.subqueries, key=needs_check):
                rest = difference(within, found, self.size)
                if len(rest) == 0:
                    break
                found = union([found, self.exact(s, rest)], self.size)
            return found
        return intersect(within, self.docs(q), self.size)

    def _contains(self, q: Substring, cand: np.ndarray) -> np.ndarray:
        """The candidates whose verification text holds the literal (results
        remembered: ranking, paging and totals ask about the same passages)."""
        if len(cand) == 0 or q.exact:
            return cand
        key = (q.fieldname, q.literal)
        with self._cache_lock:
            known = self._checked.pop(key, None) or {}
            self._checked[key] = known
        keep = np.zeros(len(cand), dtype=bool)
        needle, field = q.needle, q.fieldname
        added = 0
        for i, doc in enumerate(cand.tolist()):
            found = known.get(doc)
            if found is None:
                found = known[doc] = substring.contains(self._texts(doc), field, needle)
                added += 1
            keep[i] = found
        with self._cache_lock:
            self._checked_count += added
            while self._checked_count > CHECKS_KEPT and len(self._checked) > 1:
                _, old = self._checked.popitem(last=False)
                self._checked_count -= len(old)
        return cand[keep]

    def text(self, doc: int) -> str:
        """A passage's text as written (for snippets and similar passages)."""
        return substring.display_text(self._texts(doc))

    def _texts(self, doc: int) -> bytes:
        leaf = int(np.searchsorted(self.bases, doc, side="right")) - 1
        reader = self._texts_readers.get(leaf)
        if reader is None:
            reader = self._texts_readers[leaf] = bytes_column(self.leaves[leaf][0], substring.COLUMN)
        return reader[doc - int(self.bases[leaf])]

    def sure_docs(self, q, within: np.ndarray) -> np.ndarray:
        """Docs of ``within`` known to match q: all of them, or none when knowing
        would take more than NEGATION_CHECKS text checks."""
        candidates = intersect(self.docs(q), within, self.size)
        if not needs_check(q):
            return candidates
        if len(candidates) > NEGATION_CHECKS:
            return EMPTY
        return self.exact(q, candidates)

    def confirm(self, q, candidates: np.ndarray, order: np.ndarray, want: int):
        """Exact matches among candidates: (ids in rank order, total, estimated?).

        Beyond VERIFY_ALL candidates, the ranked ones are checked until the
        page is full, but never more than VERIFY_ALL of them: a text the index
        cannot narrow down (single characters between punctuation) would
        otherwise be looked up in every passage. The total is then estimated
        from a checked sample, and flagged."""
        ranked = candidates[order]
        if not needs_check(q):
            return ranked, len(candidates), False
        if len(candidates) <= VERIFY_ALL:
            kept = ranked[member(ranked, self.exact(q, candidates), self.size)]
            return kept, len(kept), False
        shown: list[int] = []
        step, pos = max(2 * want, 50), 0
        while len(shown) < want and pos < min(len(ranked), VERIFY_ALL):
            chunk = ranked[pos:pos + step]
            pos += step
            ok = self.exact(q, np.sort(chunk))
            shown.extend(chunk[member(chunk, ok, self.size)].tolist())
        rng = np.random.default_rng(len(candidates))
        sample = np.sort(rng.choice(candidates, SAMPLE, replace=False))
        estimate = round(len(candidates) * len(self.exact(q, sample)) / SAMPLE)
        shown = shown[:want]
        return np.array(shown, dtype=np.int64), max(estimate, len(shown)), True


# What is read from a segment never changes (deletions are applied per
# generation, from the live mask), so decoded posting lists are kept per
# segment across commits: after an upload only the new segment is decoded.
SEGMENT_CACHE_BYTES = 128 * 2 ** 20
_SEGMENT_POSTINGS: OrderedDict = OrderedDict()
_SEGMENT_BYTES = [0]
_SEGMENT_LOCK = threading.Lock()


def segment_postings(leaf, field: str, text: str, scope: str = "", io_lock=None):
    """(local ids, weights) of a term in one segment, or None."""
    segment = leaf.segment()
    key = (scope, segment.segment_id(), field, text) if segment is not None else None
    hit = _cached_postings(key)
    if hit is not None:
        return hit
    with io_lock or threading.Lock():
        hit = _cached_postings(key)  # another search may have read it while this one waited
        if hit is not None:
            return hit
        entry = segment_term_postings(leaf, field, text)
    if entry is not None and key is not None:
        with _SEGMENT_LOCK:
            if key not in _SEGMENT_POSTINGS:
                _SEGMENT_POSTINGS[key] = entry
                _SEGMENT_BYTES[0] += _entry_bytes(entry)
                while _SEGMENT_BYTES[0] > SEGMENT_CACHE_BYTES and len(_SEGMENT_POSTINGS) > 1:
                    _, old = _SEGMENT_POSTINGS.popitem(last=False)
                    _SEGMENT_BYTES[0] -= _entry_bytes(old)
    return entry


# ---------------------------------------------------------------- doc sets
# Sets of documents are sorted id arrays over 0..size. numpy's intersect1d and
# setdiff1d concatenate and sort; a boolean mask over the ids is linear, and a
# binary search beats both when one side is tiny.

def intersect(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    if len(a) > len(b):
        a, b = b, a
    if len(a) == 0:
        return EMPTY
    if len(a) * 64 < len(b):
        idx = np.searchsorted(b, a)
        idx[idx == len(b)] = 0
        return a[b[idx] == a]
    return a[_mask(b, size)[a]]


def difference(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return a
    return a[~member(a, b, size)]


def member(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    """For each id of ``a`` (any order): is it in ``b``?"""
    return _mask(b, size)[a] if len(b) else np.zeros(len(a), dtype=bool)


def union(parts: list[np.ndarray], size: int) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    if len(parts) <= 1:
        return parts[0] if parts else EMPTY
    mask = np.zeros(size, dtype=bool)
    for p in parts:
        mask[p] = True
    return np.flatnonzero(mask)


def _mask(ids: np.ndarray, size: int) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[ids] = True
    return mask


def _conjuncts(q) -> tuple[list, list]:
    """(positive, negated) parts of nested ANDs, flattened: a NOT is then
    checked only inside what every positive part (the permission filter
    included) leaves, wherever it sits in the tree."""
    if isinstance(q, wq.Not):
        return [], [q.query]
    if isinstance(q, wq.And):
        positive, negative = [], []
        for s in q.subqueries:
            p, n = _conjuncts(s)
            positive += p
            negative += n
        return positive, negative
    return [q], []


def _cached_postings(key):
    if key is None:
        return None
    with _SEGMENT_LOCK:
        hit = _SEGMENT_POSTINGS.get(key)
        if hit is not None:
            _SEGMENT_POSTINGS.move_to_end(key)
        return hit


def _entry_bytes(entry) -> int:
    ids, weights = entry
    return ids.nbytes + weights.nbytes


def _positive_terms(q, boost: float = 1.0, negated: bool = False):
    """(field, text, boost) of terms that add to relevance."""
    if negated:
        return
    if isinstance(q, wq.Term):
        yield q.fieldname, q.text, boost * q.boost
    elif isinstance(q, wq.Phrase):
        for w in q.words:
            yield q.fieldname, w, boost * q.boost
    elif isinstance(q, wq.Not):
        return
    elif isinstance(q, wq.AndNot):
        yield from _positive_terms(q.a, boost)
    elif isinstance(q, wq.AndMaybe):
        yield from _positive_terms(q.a, boost)
        yield from _positive_terms(q.b, boost * 1.5)  # whole-word matches rank first
    elif hasattr(q, "subqueries"):
        for s in q.subqueries:
            yield from _positive_terms(s, boost)


def needs_check(q) -> bool:
    """Does some text condition of q need its text checked (its terms do not decide)?
    The optional part of AndMaybe only ranks, so it never does."""
    if isinstance(q, Substring):
        return not q.exact
    if isinstance(q, wq.Not):
        return needs_check(q.query)
    if isinstance(q, wq.AndMaybe):
        return needs_check(q.a)
    if isinstance(q, wq.AndNot):
        return needs_check(q.a) or needs_check(q.b)
    return any(needs_check(s) for s in getattr(q, "subqueries", ()))
