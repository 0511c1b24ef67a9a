"""Shared fixtures: a fresh data directory, the app, users and logged-in clients."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from sqlmodel import Session

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PASSWORD = "Kp-evidence-2023"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """A fresh data directory; on PostgreSQL when KAOPING_TEST_DATABASE_URL names one (its schema is reset)."""
    from evidence.config import Settings
    from review_ui.commands.core import initialise
    url = os.environ.get("KAOPING_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        monkeypatch.setenv("KAOPING_DATABASE_URL", url)
    else:
        monkeypatch.delenv("KAOPING_DATABASE_URL", raising=False)
    s = Settings.load(tmp_path / "data")
    initialise(s)
    return s


def _reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from evidence.db import get_engine
    with get_engine(url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.execute(text("DROP FUNCTION IF EXISTS audit_event_append_only() CASCADE"))


@pytest.fixture
def db_session(settings):
    from evidence.db import get_engine
    with Session(get_engine(settings.database_url), expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(settings):
    from review_ui.app import create_app
    return create_app(settings, run_worker=False)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient
    with TestClient(app) as c:
        yield c


@pytest.fixture
def server(app):
    """The real app under a real uvicorn on loopback (as `kaoping serve` configures it), in a thread;
    yields the port."""
    import threading

    import uvicorn

    from review_ui.commands.core import server_options
    config = uvicorn.Config(app, **server_options("127.0.0.1", 0), lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(500):
        if srv.started:
            break
        threading.Event().wait(0.01)
    yield srv.servers[0].sockets[0].getsockname()[1]
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def make_user(settings):
    from evidence.accounts import create_user
    from evidence.db import session_scope

    def make(username: str, role: str, unit: str | None = None, home: str | None = None):
        with session_scope(settings.database_url) as session:
            user = create_user(session, username, PASSWORD, role, unit_code=unit, home_unit_code=home)
            session.commit()
            return user
    return make


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


@pytest.fixture
def login(app):
    """Returns a function giving a fresh logged-in TestClient for a username."""
    from fastapi.testclient import TestClient
    clients = []

    def do_login(username: str, password: str = PASSWORD) -> TestClient:
        c = TestClient(app)
        c.__enter__()
        clients.append(c)
        token = csrf_from(c.get("/login").text)
        r = c.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        c.csrf = csrf_from(c.get("/").text)
        return c
    yield do_login
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def add_evidence(settings):
    """Submit a file as a unit's evidence and process it; returns the document id."""
    from evidence.db import session_scope
    from ingest.queue import drain
    from ingest.submit import submit

    def add(unit: str, filename: str, content: bytes | str, year: int = 2023, user=None) -> int:
        data = content.encode("utf-8") if isinstance(content, str) else content
        with session_scope(settings.database_url) as session:
            result = submit(session, settings, io.BytesIO(data), filename, unit_code=unit, year=year, user=user)
            session.commit()
            assert result.document is not None, result.error or result.notices
            doc_id = result.document.id
        drain(settings)
        return doc_id
    return add
