"""Revision 0011 on a database that already holds collections: each entry learns the passage it
quotes, an older duplicate of a passage keeps none (so the one-passage-per-collection index can be
made and the office can delete it), and the revision goes down again cleanly."""
from __future__ import annotations

import os

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from evidence.db import alembic_config, get_engine


def _rows(conn, sql, **params):
    return [tuple(r) for r in conn.execute(text(sql), params)]


@pytest.fixture
def url(tmp_path):
    from conftest import _reset_postgres
    url = os.environ.get("KAOPING_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'old.db'}"


def test_entries_learn_their_passage_and_old_duplicates_stay_deletable(url):
    cfg = alembic_config(url)
    command.upgrade(cfg, "0004")
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO unit (code, name, short_name, gb_code) VALUES ('JS', '江苏省', '江苏', '')"))
        conn.execute(text("INSERT INTO storedfile (sha256, size, mime, created_at) VALUES ('a', 1, '', CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO document (id, unit_code, year, filename, indicator_hints, status, withdraw_reason, created_at) "
            "VALUES (1, 'JS', 2023, '通知.txt', '[]', 'active', '', CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO documentversion (id, document_id, version_no, file_sha256, state, error_code, error, format, "
            "text, page_count, ocr_pages, title, doc_number, issuer, doc_kind, meta_confidence, warnings, "
            "extractor_version, tagger_version, created_at) VALUES (1, 1, 1, 'a', 'indexed', '', '', 'txt', "
            "'产业工人', 1, '[]', '', '', '', 'other', '{}', '[]', '', '', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO passage (id, version_id, seq, page_no, start, \"end\", text) "
                          "VALUES (7, 1, 0, 1, 0, 4, '产业工人')"))
        conn.execute(text("INSERT INTO collection (id, kind, title, year, preface, revision, created_at, updated_at) "
                          "VALUES (1, 'collection', '汇编', 2023, '', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        for entry in (1, 2):
            conn.execute(text(
                "INSERT INTO collectionentry (id, collection_id, position, case_title, summary, note, indicator_nos, "
                "status, created_at) VALUES (:id, 1, :id, '案例', '', '', '[]', 'candidate', CURRENT_TIMESTAMP)"),
                {"id": entry})
            conn.execute(text(
                "INSERT INTO evidencelink (owner_kind, owner_id, document_id, version_id, passage_id, page_no, start, "
                "\"end\", quote, prefix, suffix, status, created_at) VALUES ('collection_entry', :id, 1, 1, 7, 1, 0, 4, "
                "'产业工人', '', '', 'ok', CURRENT_TIMESTAMP)"), {"id": entry})
    command.upgrade(cfg, "head")
    with engine.begin() as conn:
        assert _rows(conn, "SELECT id, passage_id FROM collectionentry ORDER BY id") == [(1, 7), (2, None)]
        assert _rows(conn, "SELECT email FROM \"user\"") == []
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE collectionentry SET passage_id = 7 WHERE id = 2"))
    with engine.begin() as conn:  # a deleted entry no longer holds its passage
        conn.execute(text("UPDATE collectionentry SET deleted_at = CURRENT_TIMESTAMP WHERE id = 1"))
        conn.execute(text("UPDATE collectionentry SET passage_id = 7 WHERE id = 2"))
    command.downgrade(cfg, "0004")
    with engine.begin() as conn:
        assert _rows(conn, "SELECT id FROM collectionentry ORDER BY id") == [(1,), (2,)]
