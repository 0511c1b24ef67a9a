"""The index schema: one Whoosh document per passage, document fields copied on each.

Copying document-level fields (unit, year, kind, indicators…) onto every
passage lets filters and permissions be plain term queries inside the search,
with no join.
"""
from __future__ import annotations

import json
from pathlib import Path

from whoosh import analysis as wanalysis
from whoosh import columns, fields, formats

from index import substring
from index.analysis import dictionary_fingerprint, gram_text, index_gram_counts, index_gram_keys, index_word_counts

VERSION_FILE = "kaoping_schema.json"
# Bumped whenever the fields below change what an index holds (the analysis
# has its own version inside dictionary_fingerprint). 2: frequencies without
# positions, the ``texts`` column, passage text checked instead of positions;
# unit, kind and the indicator set in reference columns.
LAYOUT_VERSION = "layout-2"

# year is a *signed* NUMERIC: whoosh/whoosh-reloaded 2.7 return every document
# for an open-lower-bound range on unsigned numeric fields. Queries also never
# build open ranges (see query.YEAR_MIN/YEAR_MAX), so either fix alone suffices.
# shift_step=0: one term per value (Whoosh's default adds 8 coarser ones for
# fast wide ranges; a year or page range spans a few hundred values at most).
YEAR_FIELD = fields.NUMERIC(int, bits=32, signed=True, stored=True, sortable=True, shift_step=0)


class TermFrequency(formats.Format):
    """A posting is a document and the term's frequency in it (as the weight),
    nothing else: no positions, no per-posting value bytes. What a text
    condition means is checked on the text (``index/substring.py``)."""

    posting_size = 0

    def __init__(self, field_boost: float = 1.0):
        self.field_boost = field_boost
        self.options = {}

    def word_values(self, value, analyzer, **kwargs):
        raise NotImplementedError("CountedField.index counts terms itself")

    def encode(self, value):
        return b""

    def decode_frequency(self, valuestring):
        raise NotImplementedError("the frequency is the posting's weight")


class _CountedField(fields.TEXT):
    """Text indexed as (term, frequency) pairs from our own analysis.

    Whoosh's generic path creates a Token object per token; counting in C
    (``analysis.index_*_counts``) is the same postings at a fraction of the
    Python work. Queries are built by ``index/query.py``, never by Whoosh's
    parser, so the Whoosh analyzer below is never used. Not ``scorable``: our
    ranking has no length norm, so no field-length column is kept.
    """

    def __init__(self, stored: bool = False):
        super().__init__(analyzer=wanalysis.SpaceSeparatedTokenizer(), phrase=False, stored=stored)
        self.format = TermFrequency()
        self.scorable = False

    def term_counts(self, value) -> dict[str, int]:
        """{term: frequency} of a value: what the index keeps of it
        (``whoosh_format.BulkSegmentWriter`` groups these without ``index``)."""
        raise NotImplementedError

    def index(self, value, **kwargs):
        return [(term.encode("utf-8"), n, float(n), b"") for term, n in self.term_counts(value).items()]


class WordsField(_CountedField):
    def term_counts(self, value):
        return index_word_counts(value)


class GramsField(_CountedField):
    """Grams of a short text (title, issuer, document number)."""

    def term_counts(self, value):
        return index_gram_counts(value)


class TextGramsField(GramsField):
    """Grams of a passage's text: also given as integer keys (CJK grams) and
    {term: count} (the rest), which ``whoosh_format.BulkSegmentWriter`` groups
    with numpy; for a short text numpy's calls cost more than they save."""

    def term_keys(self, value):
        return index_gram_keys(value)

    key_text = staticmethod(gram_text)


def build_schema() -> fields.Schema:
    return fields.Schema(
        passage_id=fields.ID(stored=True, unique=True),
        document_id=fields.ID(stored=True),
        version_id=fields.ID(stored=True),
        # reference columns: a few values, read whole at open (facets, filters)
        unit=fields.ID(stored=True, sortable=columns.RefBytesColumn()),
        year=YEAR_FIELD,
        kind=fields.ID(stored=True, sortable=columns.RefBytesColumn()),
        indicators=fields.KEYWORD(stored=True, scorable=False),
        confirmed=fields.KEYWORD(stored=True, scorable=False),
        doc_number=GramsField(stored=True),
        issuer=GramsField(stored=True),
        title=GramsField(stored=True),
        filename=fields.STORED(),
        date=fields.ID(stored=True, sortable=True),
        page=fields.NUMERIC(int, bits=32, signed=True, stored=True, shift_step=0),
        start=fields.STORED(),
        end=fields.STORED(),
        words=WordsField(),
        grams=TextGramsField(),
        # the passage text as written, then the verification texts of title, issuer,
        # doc_number and text (index/substring.py); not a stored field, which would
        # compress the text a second time and unpickle it with every hit's metadata
        texts=fields.COLUMN(columns.VarBytesColumn()),  # compressed by substring.column_value
        # the passage's indicators as one value, for facet counts (index/facets.py)
        indicator_set=fields.COLUMN(columns.RefBytesColumn()),
    )


def schema_version() -> str:
    """Layout + analysis + dictionary fingerprint; a different value means rebuild."""
    return f"{LAYOUT_VERSION}+{dictionary_fingerprint()}"


def read_version(index_dir: Path) -> str | None:
    path = Path(index_dir) / VERSION_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("schema_version")
    except (OSError, ValueError):
        return None


def write_version(index_dir: Path, version: str | None = None) -> None:
    path = Path(index_dir) / VERSION_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"schema_version": version or schema_version()}), encoding="utf-8")
    tmp.replace(path)


def _join(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return " ".join(value.replace(",", " ").split())
    return " ".join(str(v) for v in value)


def to_fields(record: dict) -> dict:
    """A passage record from the database → Whoosh field values."""
    text = record.get("text") or ""
    suggested = _join(record.get("indicators"))
    confirmed = _join(record.get("confirmed"))
    indicators = " ".join(dict.fromkeys((suggested + " " + confirmed).split()))
    doc = {
        "passage_id": str(record["passage_id"]),
        "document_id": str(record.get("document_id") or ""),
        "version_id": str(record.get("version_id") or ""),
        "unit": str(record.get("unit") or ""),
        "kind": str(record.get("kind") or ""),
        "indicators": indicators,
        "confirmed": confirmed,
        "doc_number": str(record.get("doc_number") or ""),
        "issuer": str(record.get("issuer") or ""),
        "title": str(record.get("title") or ""),
        "filename": str(record.get("filename") or ""),
        "date": str(record.get("date") or ""),
        "start": int(record.get("start") or 0),
        "end": int(record.get("end") or len(text)),
        "words": text,
        "grams": text,
    }
    doc["texts"] = substring.column_value({**doc, "text": text})
    doc["indicator_set"] = " ".join(sorted(set(indicators.split()))).encode("utf-8")
    for key in ("year", "page"):
        value = record.get(key)
        if value not in (None, ""):
            doc[key] = int(value)
    return {k: v for k, v in doc.items() if v != ""}
