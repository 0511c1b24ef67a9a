"""The index schema: one Whoosh document per passage, document fields copied on each.

Copying document-level fields (unit, year, kind, indicators…) onto every
passage lets filters and permissions be plain term queries inside the search,
with no join.
"""
from __future__ import annotations

import json
from pathlib import Path

import functools

from whoosh import fields, formats

from index.analysis import (bigram_analyzer, dictionary_fingerprint, index_gram_positions, index_gram_terms,
                            index_word_tokens, word_analyzer)

VERSION_FILE = "kaoping_schema.json"

# year is a *signed* NUMERIC: whoosh/whoosh-reloaded 2.7 return every document
# for an open-lower-bound range on unsigned numeric fields. Queries also never
# build open ranges (see query.YEAR_MIN/YEAR_MAX), so either fix alone suffices.
YEAR_FIELD = fields.NUMERIC(int, bits=32, signed=True, stored=True, sortable=True)


class _DirectTextField(fields.TEXT):
    """TEXT that builds postings straight from our token tuples.

    Whoosh's generic path creates a Token object per token; going direct
    from (term, position) tuples is the same postings at a fraction of the
    Python work, which is most of the indexing time. (Left ``scorable``:
    whoosh-reloaded then stats a column file for every posting instead.)
    """

    def _terms(self, value):
        raise NotImplementedError

    def _positions(self, value) -> dict[str, list[int]]:
        poses: dict[str, list[int]] = {}
        for term, pos in self._terms(value):
            found = poses.get(term)
            if found is None:
                poses[term] = [pos]
            else:
                found.append(pos)
        return poses

    def index(self, value, **kwargs):
        poses = self._positions(value)
        encode, boost = self.format.encode, self.format.field_boost
        out = []
        for term, poslist in poses.items():
            n = len(poslist)
            # most terms occur once in a passage: their encoding depends on
            # the position alone, so it is computed once per position
            value = _single_position(poslist[0]) if n == 1 else encode(poslist)
            out.append((term.encode("utf-8"), n, n * boost, value))
        return out


@functools.lru_cache(maxsize=1 << 16)
def _single_position(pos: int) -> bytes:
    return formats.Positions().encode([pos])


class WordsField(_DirectTextField):
    def __init__(self, **kwargs):
        super().__init__(analyzer=word_analyzer(), phrase=True, **kwargs)

    def _terms(self, value):
        return ((w, pos) for w, pos, _, _ in index_word_tokens(value))


class GramsField(_DirectTextField):
    def __init__(self, **kwargs):
        super().__init__(analyzer=bigram_analyzer(), phrase=True, **kwargs)

    def _terms(self, value):
        return index_gram_terms(value)

    def _positions(self, value):
        return index_gram_positions(value)


def build_schema() -> fields.Schema:
    return fields.Schema(
        passage_id=fields.ID(stored=True, unique=True),
        document_id=fields.ID(stored=True),
        version_id=fields.ID(stored=True),
        unit=fields.ID(stored=True, sortable=True),
        year=YEAR_FIELD,
        kind=fields.ID(stored=True, sortable=True),
        indicators=fields.KEYWORD(stored=True, scorable=False),
        confirmed=fields.KEYWORD(stored=True, scorable=False),
        doc_number=GramsField(stored=True),
        issuer=GramsField(stored=True),
        title=GramsField(stored=True),
        filename=fields.STORED(),
        date=fields.ID(stored=True, sortable=True),
        page=fields.NUMERIC(int, bits=32, signed=True, stored=True),
        start=fields.STORED(),
        end=fields.STORED(),
        text=fields.STORED(),
        words=WordsField(),
        grams=GramsField(),
    )


def schema_version() -> str:
    """Analysis + dictionary fingerprint; a different value means rebuild."""
    return dictionary_fingerprint()


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
        "text": text,
        "words": text,
        "grams": text,
    }
    for key in ("year", "page"):
        value = record.get(key)
        if value not in (None, ""):
            doc[key] = int(value)
    return {k: v for k, v in doc.items() if v != "" or k in ("text",)}
