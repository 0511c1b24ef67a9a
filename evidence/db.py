"""Database engine, schema migrations and sessions.

SQLite is the embedded default (WAL so the web app and the ingest worker can
share it); any SQLAlchemy URL works, PostgreSQL being the production target.
The schema is owned by Alembic migrations in evidence/migrations.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


# The web server runs sync routes in AnyIO's pool of 40 threads, and each may
# hold one connection; the ingest worker and CLI need one more each. A pool
# smaller than that (SQLAlchemy's default 5 + 10) made a burst of requests wait
# 30 s and fail, and the worker with them.
POOL_SIZE = 40
POOL_OVERFLOW = 10
POOL_TIMEOUT_S = 30


@functools.lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, "pool_timeout": POOL_TIMEOUT_S}
    if url.startswith("sqlite"):
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            pool = {}  # one in-memory database per connection: SQLAlchemy picks the pool
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def is_initialised(url: str) -> bool:
    return inspect(get_engine(url)).has_table("alembic_version")


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    with Session(get_engine(url), expire_on_commit=False) as session:
        yield session
