"""Server-side sessions for the web app: a pure ASGI middleware around the routes.

The cookie `kaoping_session` carries one random token and nothing else; evidence/sessions.py
keeps its hash, the session's CSRF token and its lifetimes. Before any route runs — and before
RequestGuard decides whether to read a body — this sets `scope["session"]`:

- a live session: {"uid": …, "csrf": its synchronizer token, …what the last request left (the flash)};
- a cookie that opens no session (a visitor, or a session that was ended or ran out): {"csrf": …},
  the login form's token, derived from the cookie with the server's secret; nothing is stored for
  visitors, and an old session's cookie is from then on only a visitor's;
- no cookie: {} for unsafe requests (the guard refuses them: no token can match); a page load gets
  a fresh visitor's cookie with its answer.

Changes a route makes to `request.session` are written back to the session's row before the answer
starts, so the next request sees them. A login or logout (review_ui/security.py `begin_session`,
`end_session`) puts the cookie's new value in the scope; it is sent with the answer.
It also sets `evidence.audit.actor_ip` for the request: every audited change carries the address, and
marks every answer to a logged-in user `Cache-Control: no-store` (static assets, which skip this
middleware's session work, stay cacheable).
"""
from __future__ import annotations

import hashlib
import hmac
import re

import anyio
from sqlmodel import Session
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evidence import sessions
from evidence.audit import acting_from
from evidence.config import Settings
from evidence.db import get_engine
from evidence.models import WebSession

from .security import NEW_COOKIE, SAFE_METHODS, SESSION_ID, client_address, is_public_page

COOKIE = "kaoping_session"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")
SESSION_KEYS = ("uid", "csrf")  # kept in their own columns; everything else is the row's data


class ServerSessions:
    def __init__(self, app: ASGIApp, settings: Settings, secret: str, https: bool = False):
        self.app = app
        self.url = settings.database_url
        self.lifetimes = sessions.Lifetimes.of(settings)
        self.secret = secret.encode("utf-8")
        self.flags = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if https else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/static/") or is_public_page(scope["path"]):
            # No session work for assets (an error page still renders) nor for survey respondents,
            # who stay anonymous: no cookie of ours but the survey's own.
            scope["session"] = {}
            with acting_from(client_address(scope)):
                await self.app(scope, receive, send)
            return
        token = HTTPConnection(scope).cookies.get(COOKIE, "")
        token = token if TOKEN_SHAPE.fullmatch(token) else ""
        live = await anyio.to_thread.run_sync(self.open, token) if token else None
        visitor = ""
        if live is not None:
            scope[SESSION_ID] = live["id"]
            scope["session"] = {**live["data"], "uid": live["uid"], "csrf": live["csrf"]}
        elif token:
            scope["session"] = {"csrf": self.visitor_csrf(token)}
        elif scope["method"] in SAFE_METHODS:
            visitor = sessions.new_token()
            scope["session"] = {"csrf": self.visitor_csrf(visitor)}
        else:
            scope["session"] = {}
        before = _data(scope["session"])

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Cookie")
                if scope["session"].get("uid") is not None:
                    # Whatever a logged-in user is shown or downloads (evidence, scores, the audit log) stays
                    # out of every cache, the browser's back-forward and disk caches included.
                    headers["Cache-Control"] = "no-store"
                new = scope.get(NEW_COOKIE)
                if new is not None:  # a login (the new session's token) or a logout ("")
                    headers.append("Set-Cookie", self.cookie(new))
                elif visitor:
                    headers.append("Set-Cookie", self.cookie(visitor))
                after = _data(scope["session"])
                if scope.get(SESSION_ID) and after != before:
                    await anyio.to_thread.run_sync(self.save, scope[SESSION_ID], after)
            await send(message)

        with acting_from(client_address(scope)):
            await self.app(scope, receive, send_with_session)

    def open(self, token: str) -> dict | None:
        with Session(get_engine(self.url), expire_on_commit=False) as db:
            row = sessions.find_live(db, token, self.lifetimes)
            db.commit()  # its last use, or its end when it ran out of time
            return None if row is None else {"id": row.id, "uid": row.user_id, "csrf": row.csrf_token,
                                             "data": dict(row.data or {})}

    def save(self, session_id: int, data: dict) -> None:
        with Session(get_engine(self.url)) as db:
            row = db.get(WebSession, session_id)
            if row is not None and row.ended_at is None:
                row.data = data
                db.commit()

    def visitor_csrf(self, token: str) -> str:
        return hmac.new(self.secret, b"visitor-csrf:" + token.encode(), hashlib.sha256).hexdigest()

    def cookie(self, token: str) -> str:
        if not token:
            return f"{COOKIE}=; Max-Age=0{self.flags}"
        return f"{COOKIE}={token}; Max-Age={int(self.lifetimes.absolute.total_seconds())}{self.flags}"


def _data(session: dict) -> dict:
    return {k: v for k, v in session.items() if k not in SESSION_KEYS}
