"""EvidenceIndex: the full-text index of evidence passages.

Pure: it never touches the database. The caller feeds passage records
(dicts, see ``schema.to_fields``) and gets plain results back. ``search``
never raises: every problem becomes ``SearchResult.query_error``.
"""
from __future__ import annotations

import logging
import re
import shutil
import threading
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from whoosh import index as windex
from whoosh import query as wq
from whoosh.scoring import BM25F

from index import query as qmod
from index.permissions import make_private
from index.analysis import word_tokens
from index.executor import Executor, needs_check
from index.facets import FacetTables
from index.highlight import snippet_html
from index.results import Hit, SearchResult, hit_from_stored
from index.schema import VERSION_FILE, build_schema, read_version, schema_version, to_fields, write_version
from index.writer import CHECKPOINT_FILE, Checkpoint, SegmentBuilder, locked_writer

TOUCHED_FILE = "rebuild_touched.txt"

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 10_000      # deepest hit a page may reach
MSG_NO_INDEX = "搜索索引尚未建立，请先运行 kaoping reindex。"
MSG_REBUILD = "搜索索引的分词规则或词典已更新，需要重建索引（kaoping reindex）后才能检索。"


class IndexNeedsRebuild(RuntimeError):
    """Writing into an index built with another analysis would mix term sets."""


class EvidenceIndex:
    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self._ix = None
        self._searcher = None
        self._facets: FacetTables | None = None
        self._facets_gen = None
        self._exec: Executor | None = None
        # opening, replacing and closing searchers; searches themselves run in
        # parallel (a single search lock queued every request of a busy server
        # behind the GIL), with Whoosh's position-based file reads serialised
        # by the executor on ``_io_lock``
        self._lock = threading.RLock()
        self._io_lock = threading.Lock()
        self._in_use: dict[int, int] = {}   # id(searcher) -> searches running on it
        self._retired: list = []            # replaced searchers, closed when their last search ends

    # ------------------------------------------------------------ state

    def exists(self) -> bool:
        # a TOC file, not windex.exists_in(): that unpickles the whole schema
        # and ran on every search
        return self.index_dir.is_dir() and any(self.index_dir.glob("_MAIN_*.toc"))

    def needs_rebuild(self) -> bool:
        if not self.exists():
            return False
        return read_version(self.index_dir) != schema_version()

    def status(self) -> dict:
        exists = self.exists()
        checkpoint = Checkpoint(self.index_dir).read() if self.index_dir.is_dir() else None
        return {
            "exists": exists,
            "needs_rebuild": self.needs_rebuild(),
            "doc_count": self.doc_count() if exists else 0,
            "schema_version": read_version(self.index_dir) if exists else None,
            "expected_schema_version": schema_version(),
            "rebuild_in_progress": checkpoint,
        }

    def doc_count(self) -> int:
        # an index of another layout is not opened: its schema may name classes
        # this version no longer has
        if not self.exists() or self.needs_rebuild():
            return 0
        return self._get_searcher().doc_count()

    def warm(self) -> None:
        """Open the searcher and load the facet tables now (the server calls this
        at start), so the first reviewer's search does not pay for it."""
        with self._lock:
            if self.exists() and not self.needs_rebuild():
                self._executor(self._get_searcher())

    def _open(self):
        with self._lock:
            if self._ix is None:
                self._ix = windex.open_dir(str(self.index_dir))
            return self._ix

    def _create(self):
        with self._lock:
            self._close()
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self._ix = windex.create_in(str(self.index_dir), build_schema())
            return self._ix

    def _close(self):
        if self._searcher is not None:
            self._retire(self._searcher)
        self._searcher, self._ix, self._facets, self._facets_gen = None, None, None, None
        self._exec = None

    def _retire(self, searcher) -> None:
        if self._in_use.get(id(searcher)):
            self._retired.append(searcher)
        else:
            searcher.close()

    @contextmanager
    def _reading(self):
        """(searcher, executor) for one search, kept open until it ends even if a
        commit replaces them meanwhile."""
        with self._lock:
            searcher = self._get_searcher()
            ex = self._executor(searcher)
            self._in_use[id(searcher)] = self._in_use.get(id(searcher), 0) + 1
        try:
            yield searcher, ex
        finally:
            with self._lock:
                left = self._in_use.pop(id(searcher)) - 1
                if left:
                    self._in_use[id(searcher)] = left
                elif any(s is searcher for s in self._retired):
                    self._retired = [s for s in self._retired if s is not searcher]
                    searcher.close()

    def close(self) -> None:
        with self._lock:
            self._close()

    def _get_searcher(self):
        """One cached searcher, refreshed when another writer committed."""
        with self._lock:
            if self._searcher is not None and not self._searcher.up_to_date():
                # not Searcher.refresh(): it reuses segment readers and misses
                # deletions committed to an existing segment (whoosh-reloaded 2.7.5)
                self._retire(self._searcher)
                self._searcher = None
                self._ix = None
            if self._searcher is None:
                self._searcher = self._open().searcher(weighting=BM25F())
            return self._searcher

    def _facet_tables(self, searcher) -> FacetTables:
        gen = searcher  # one table per searcher generation
        if self._facets is None or self._facets_gen != gen:
            self._facets, self._facets_gen = FacetTables(searcher, scope=str(self.index_dir)), gen
        return self._facets

    # ------------------------------------------------------------ writes

    def _writable(self):
        if not self.exists():
            ix = self._create()
            write_version(self.index_dir)
            return ix
        if self.needs_rebuild():
            raise IndexNeedsRebuild(MSG_REBUILD)
        return self._open()

    def add(self, records: Iterable[dict]) -> int:
        """Insert or replace passages by passage_id; one commit."""
        records = list(records)
        self._note_touched(r.get("document_id") for r in records)
        ix = self._writable()
        n = 0
        with locked_writer(ix, self.index_dir) as writer:
            for record in records:
                writer.update_document(**to_fields(record))
                n += 1
        return n

    def replace_document(self, document_id: str, records: Iterable[dict]) -> int:
        """A document's passages become exactly `records` (none: it leaves the index), in one
        commit: a search never sees it half-replaced or missing in between."""
        records = list(records)
        self._note_touched([document_id])
        if not records and not self.exists():
            return 0
        ix = self._writable()
        with locked_writer(ix, self.index_dir) as writer:
            writer.delete_by_term("document_id", str(document_id))
            for record in records:
                writer.add_document(**to_fields(record))
        return len(records)

    def delete_document(self, document_id: str) -> int:
        self._note_touched([document_id])
        return self._delete("document_id", str(document_id))

    # A rebuild copies the records as they are when it reaches them; a document written meanwhile
    # (a worker finishing it, a reviewer's decision) may be copied stale, twice or not at all. Such
    # writes are noted here while a rebuild runs, and its caller re-feeds them at the end.

    def _note_touched(self, document_ids) -> None:
        if not (self.index_dir / CHECKPOINT_FILE).exists():
            return
        ids = [str(d) for d in document_ids if d not in (None, "")]
        if ids:
            with open(self.index_dir / TOUCHED_FILE, "a", encoding="utf-8") as fh:
                fh.write("".join(f"{d}\n" for d in dict.fromkeys(ids)))

    def take_touched(self) -> list[str]:
        """Documents written while the last rebuild ran (and forget them)."""
        path = self.index_dir / TOUCHED_FILE
        try:
            ids = path.read_text(encoding="utf-8").split()
        except FileNotFoundError:
            return []
        path.unlink(missing_ok=True)
        return list(dict.fromkeys(ids))

    def delete_version(self, version_id: str) -> int:
        return self._delete("version_id", str(version_id))

    def _delete(self, fieldname: str, value: str) -> int:
        if not self.exists():
            return 0
        with locked_writer(self._open(), self.index_dir) as writer:
            return writer.delete_by_term(fieldname, value)

    def rebuild(self, records_iter: Iterable[dict] | Callable[[list | None], Iterable[dict]],
                total: int | None = None,
                progress: Callable[[int, int | None], None] | None = None,
                chunk: int = 20000, resume: bool = True, procs: int = 1) -> int:
        """Rebuild from scratch in committed chunks; resume after a crash.

        ``records_iter`` is either a function of a resume key — it yields the
        records in ascending ``_resume_key`` order, starting after the key it is
        given (None: from the start) — or a plain iterable that yields records
        in the same order on every call, of which resuming skips the first
        ``done`` that the checkpoint says are committed. Only the key survives
        records being added or removed between a crash and the resume.

        Every ``chunk`` records become one segment, written by one of
        ``procs`` worker processes (``writer.SegmentBuilder``: ``procs``
        chunks at a time, while the next ones are read), and committed
        without merging (merging costs more than it saves). So ``chunk``
        trades memory for segment count: a worker holds its chunk's postings
        in memory until it writes them (~25 KB a 1,000-character passage),
        and every segment adds a lookup per query term.
        """
        version = schema_version()
        checkpoint = Checkpoint(self.index_dir)
        state = checkpoint.read() if resume else None
        skip, done, after = 0, 0, None
        if state and state.get("schema_version") == version and self.exists():
            ix = self._open()
            if callable(records_iter):
                after, done = state.get("after"), int(state.get("done") or 0)
            else:
                skip = int(state.get("done") or 0)
        else:
            # the checkpoint first: from now on writes by others are noted for the catch-up
            self.index_dir.mkdir(parents=True, exist_ok=True)
            checkpoint.write(0, version, None)
            ix = self._fresh_index()
        records = records_iter(after) if callable(records_iter) else records_iter

        def committed(done: int, last: dict) -> Callable[[], None]:
            last_id, after_key = str(last.get("passage_id")), last.get("_resume_key")

            def mark():
                checkpoint.write(done, version, last_id, after=after_key)
                if progress:
                    progress(done, total)
            return mark

        builder = SegmentBuilder(ix, self.index_dir, procs)
        wave = chunk * builder.procs
        buffer = []
        try:
            for record in records:
                done += 1
                if done <= skip:
                    continue
                buffer.append(record)
                if len(buffer) >= wave:
                    builder.submit(buffer, committed(done, buffer[-1]))
                    buffer = []
            if buffer:
                builder.submit(buffer, committed(done, buffer[-1]))
        except BaseException:
            # the chunk in flight is complete: commit it if its segments were
            # written, so a resumed rebuild does not redo it
            try:
                builder.close()
            except BaseException:
                builder.abandon()
            raise
        builder.close()
        write_version(self.index_dir, version)
        checkpoint.clear()
        make_private(self.index_dir)
        with self._lock:
            self._close()
        if progress:
            progress(done, total)
        return done

    def _fresh_index(self):
        with self._lock:
            self._close()
            if self.index_dir.is_dir():
                for path in self.index_dir.iterdir():
                    # only what an index keeps here: segments, TOC, locks, our files
                    if path.name == VERSION_FILE or re.match(
                            r"^(_MAIN_|MAIN_|.*\.(seg|toc|pst|trm|dcz|fdt|fln|lock|tmp))", path.name):
                        if path.is_dir():
                            shutil.rmtree(path)
                        else:
                            path.unlink()
            return self._create()

    # ------------------------------------------------------------ checking

    def entry_digests(self) -> dict[str, dict[str, str]]:
        """A digest of every live passage's stored fields, by document id then passage id: what
        `kaoping check` compares with the digests of the records the database says to index."""
        if not self.exists() or self.needs_rebuild():
            return {}
        with self._reading() as (searcher, _executor), self._io_lock:  # Whoosh's reads: one thread at a time
            out: dict[str, dict[str, str]] = {}
            for stored in searcher.all_stored_fields():
                out.setdefault(str(stored.get("document_id", "")), {})[str(stored.get("passage_id", ""))] = \
                    stored_digest(stored)
            return out

    # ------------------------------------------------------------ search

    def search(self, query: str, *, allowed_units: list[str] | None = None, unit=None, year=None,
               kind=None, indicator=None, page: int = 1, per_page: int = 20,
               sort: str = "relevance", facets: bool = True) -> SearchResult:
        try:
            return self._search(query, allowed_units, unit, year, kind, indicator, page, per_page, sort, facets)
        except Exception:  # the contract: reviewers get a message, never a traceback
            log.exception("search failed for %r", query)
            return SearchResult(query_error="检索出错，请简化查询后重试。")

    def _search(self, query, allowed_units, unit, year, kind, indicator, page, per_page, sort, facets):
        page, per_page, paging_error = _paging(page, per_page)
        result = SearchResult(page=page, per_page=per_page)
        if not self.exists():
            result.query_error = MSG_NO_INDEX
            return result
        if self.needs_rebuild():
            result.query_error = MSG_REBUILD
            return result
        if allowed_units is not None and not allowed_units:
            return result  # no unit visible: nothing to find
        parsed = qmod.parse(query if isinstance(query, str) else str(query or ""))
        filters, filter_notes = _filters(allowed_units, unit, year, kind, indicator)
        notes = [n for n in (parsed.error, *filter_notes, paging_error) if n]
        result.query_error = "；".join(notes) or None
        if parsed.query is None:
            if filters and not query_has_text(query):
                parsed.query = wq.Every()   # filters alone: browse by unit/year/kind
                result.query_error = "；".join(filter_notes) or None
            else:
                return result
        if any(f is wq.NullQuery for f in filters):
            return result
        final = wq.And([parsed.query, *filters]) if filters else parsed.query
        if paging_error:
            return result
        with self._reading() as (searcher, ex):
            self._run(result, searcher, ex, final, parsed.literals, page, per_page, sort, facets)
        return result

    @staticmethod
    def _run(result, searcher, ex, final, literals, page, per_page, sort, facets) -> None:
        want = page * per_page
        candidates = ex.docs(final)
        scores = ex.score(final, candidates)
        exact_set = not needs_check(final)
        keys = -scores if sort != "date" else None
        if sort == "date":
            order = np.lexsort((-scores, -ex.tables.date_rank(candidates)))
        elif exact_set and want < len(candidates):
            # only the requested pages need ordering; the set itself is exact
            top = np.argpartition(keys, want - 1)[:want]
            order = top[np.lexsort((top, keys[top]))]
        else:
            order = np.argsort(keys, kind="stable")
        ranked, total, estimated = ex.confirm(final, candidates, order, want)
        result.total = int(total)
        result.total_is_estimate = bool(estimated)
        if facets:
            # exact sets count themselves; estimated totals count candidates
            basis = candidates if exact_set or estimated else ranked
            result.facets = ex.tables.count(np.asarray(basis, dtype=np.int64))
        hits = []
        for d in ranked[(page - 1) * per_page: want]:
            d = int(d)
            stored = searcher.stored_fields(d)
            score = float(scores[np.searchsorted(candidates, d)])
            hits.append(hit_from_stored(stored, score, snippet_html(ex.text(d), literals)))
        result.hits = hits

    def _executor(self, searcher) -> Executor:
        with self._lock:
            tables = self._facet_tables(searcher)
            if self._exec is None or self._exec.searcher is not searcher:
                self._exec = Executor(searcher, tables, scope=str(self.index_dir), io_lock=self._io_lock)
            return self._exec

    # ------------------------------------------------------------ more like this

    def more_like_this(self, passage_id: str, allowed_units: list[str] | None = None,
                       limit: int = 10) -> list[Hit]:
        """Passages in other documents that share this passage's key words."""
        if not self.exists() or self.needs_rebuild():
            return []
        if allowed_units is not None and not allowed_units:
            return []
        with self._reading() as (searcher, ex):
            return self._more_like_this(searcher, ex, passage_id, allowed_units, limit)

    def _more_like_this(self, searcher, ex, passage_id, allowed_units, limit) -> list[Hit]:
        with self._io_lock:  # term lookups through Whoosh's readers
            docnum = searcher.document_number(passage_id=str(passage_id))
        if docnum is None:
            return []
        source = searcher.stored_fields(docnum)
        if allowed_units is not None and source.get("unit") not in set(allowed_units):
            return []  # the reviewer may not see the source passage itself
        with self._io_lock:
            keywords = _key_words(searcher, ex.text(docnum), n=12)
        if not keywords:
            return []
        parts = [wq.Or([wq.Term("words", w, boost=weight) for w, weight in keywords])]
        if allowed_units is not None:
            parts.append(_unit_filter(allowed_units))
        q = wq.AndNot(wq.And(parts), wq.Term("document_id", source.get("document_id", "")))
        literals = [w for w, _ in keywords]
        candidates = ex.docs(q)
        scores = ex.score(q, candidates)
        top = np.argsort(-scores, kind="stable")[:max(1, min(int(limit), MAX_PER_PAGE))]
        out = []
        for i in top:
            d = int(candidates[i])
            out.append(hit_from_stored(searcher.stored_fields(d), float(scores[i]), snippet_html(ex.text(d), literals)))
        return out


# ---------------------------------------------------------------- helpers

def query_has_text(query) -> bool:
    return bool(isinstance(query, str) and query.strip())


def _paging(page, per_page) -> tuple[int, int, str | None]:
    try:
        per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    except (TypeError, ValueError):
        per_page = 20
    try:
        page = int(page)
    except (TypeError, ValueError):
        return 1, per_page, "页码无效"
    if page < 1:
        return 1, per_page, None
    if page * per_page > MAX_RESULT_WINDOW:
        return page, per_page, f"页码过大：最多可翻到第 {MAX_RESULT_WINDOW // per_page} 页，请增加筛选条件"
    return page, per_page, None


def _unit_filter(units) -> wq.Query:
    units = [str(u).upper() for u in units if u]
    if not units:
        return wq.NullQuery
    return wq.Or([wq.Term("unit", u) for u in units]) if len(units) > 1 else wq.Term("unit", units[0])


def _filters(allowed_units, unit, year, kind, indicator) -> tuple[list, list[str]]:
    """Keyword-argument filters as Whoosh queries: permission first, inside the query."""
    filters, notes = [], []
    if allowed_units is not None:
        filters.append(_unit_filter(allowed_units))
    if unit:
        filters.append(_unit_filter([unit] if isinstance(unit, str) else unit))
    if year not in (None, ""):
        comp = qmod._Compiler(notes)
        filters.append(comp.numeric("year", str(year)))
    if kind:
        filters.append(wq.Term("kind", str(kind)))
    if indicator not in (None, ""):
        filters.append(wq.Term("indicators", str(indicator)))
    return filters, notes


def _key_words(searcher, text: str, n: int) -> list[tuple[str, float]]:
    counts = Counter(w for w, _, _ in word_tokens(text) if len(w) >= 2)
    scored = []
    for w, tf in counts.items():
        if searcher.doc_frequency("words", w) == 0:
            continue
        scored.append((tf * searcher.idf("words", w), w))
    scored.sort(reverse=True)
    top = scored[:n]
    if not top:
        return []
    best = top[0][0] or 1.0
    return [(w, max(0.1, s / best)) for s, w in top]


_STORED = tuple(sorted(name for name, f in build_schema().items() if f.stored))


def stored_digest(fields: dict) -> str:
    """One passage's stored fields as a short digest (stored fields, or a record through to_fields)."""
    import hashlib
    import json
    picked = {k: fields[k] for k in _STORED if k in fields and fields[k] not in ("", None)}
    return hashlib.sha1(json.dumps(picked, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def record_digest(record: dict) -> str:
    return stored_digest(to_fields(record))
