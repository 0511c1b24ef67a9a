"""Revision 0012 on a database that already holds survey answers: every existing answer stays counted
(the index does not change by the upgrade), and the revision goes down again cleanly."""
from __future__ import annotations

from alembic import command
from sqlalchemy import text

from evidence.db import alembic_config, get_engine
from test_migration_0011 import url  # noqa: F401 - the same throwaway database (SQLite, or the test PostgreSQL)


def test_existing_answers_stay_counted(url):
    cfg = alembic_config(url)
    command.upgrade(cfg, "0007")
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO unit (code, name, short_name, gb_code) VALUES ('JS', '江苏省', '江苏', '')"))
        for n in (1, 2):
            conn.execute(text(
                "INSERT INTO surveyresponse (year, unit_code, indicator_no, audience, answers, score, source, "
                "ip_hash, created_at) VALUES (2023, 'JS', 83, 'workers', '{}', 75, '在线填写', 'x', CURRENT_TIMESTAMP)"))
    command.upgrade(cfg, "head")
    with engine.begin() as conn:
        rows = list(conn.execute(text("SELECT status, hold_reason, reviewed_by FROM surveyresponse")))
    assert [tuple(r) for r in rows] == [("counted", "", None)] * 2
    command.downgrade(cfg, "0007")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM surveyresponse")).scalar() == 2
