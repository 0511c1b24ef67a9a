"""Refuse unwanted request bodies before reading them.

FastAPI parses a form (spooling uploads to disk) before any dependency runs, so a
CSRF or login check written as a dependency acts only after the whole body has
arrived. This pure ASGI middleware runs earlier, on the headers alone:

- an unsafe request with no session, or with no logged-in user (except `POST /login`),
  or with an `X-CSRF-Token` header that does not match the session, or that the browser marks
  as sent by another site (`Sec-Fetch-Site`), is refused without reading a byte of the body;
  a form without the header (the upload form without JavaScript) is read up to its limit and its
  `csrf_token` field checked by the route's dependency — only the user's own browser can send it;
- a `Content-Length` above the route's limit is answered 413 at once; a chunked body
  is counted while it streams and refused as soon as it passes the limit;
- a user may run only a few uploads at the same time (429 beyond that), counted across every
  web process of `kaoping serve --workers N` (`UploadSlots`: one lock file per slot);
- the one exemption: answering a published survey (`POST /s/<token>`, security.is_public_form) needs no
  session or login — the route checks its own signed per-page token — and its body is capped at 16 KB.

"Logged-in" means a live server session: the session middleware (review_ui/sessions.py) runs
first and gives `scope["session"]` a uid only for a session that was not ended, has not run out
and belongs to an active account, so a logged-out or disabled user's cookie is refused here too.

Starlette 1.x has `RequestBodyLimitMiddleware` (and FastAPI `max_body_size`) for the
byte count, but only as one fixed limit checked lazily and answered in English; the
limit here depends on the route and on settings, and the answer must be Chinese.
It sits inside the session middleware (it reads `scope["session"]`).
"""
from __future__ import annotations

import fcntl
import hmac
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from fastapi.exceptions import HTTPException
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evidence.config import MB, Settings

from .security import CSRF_FAILED, SAFE_METHODS, is_public_form

LOGIN_PATH = "/login"
UPLOAD_PATH = "/evidence/upload"
LOGIN_BODY_LIMIT = 16 * 1024  # a user name, a password and a token
FORM_BODY_LIMIT = 2 * MB  # the longest form is a self-assessment report or a rating's reasons
MULTIPART_OVERHEAD = 1 * MB  # boundaries, part headers and the small fields beside the file
LOGIN_ENDED = "您的登录已结束（已退出，或长时间未操作），本次操作未生效。请重新登录后再试。"
SURVEY_BODY_LIMIT = 16 * 1024  # an anonymous survey answer: a score per item, a page token, a honeypot
# Fetch metadata: what a browser says about who started the request. A plain form (an upload without
# JavaScript included) carries no X-CSRF-Token header, so its token is in the body and the body must be
# read to check it; a request the browser marks as coming from another site is refused before that.
# The session cookie is SameSite=Strict as well, so such a request would carry no session anyway.
SAME_ORIGIN = ("same-origin", "none")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(status_code=413, detail=f"提交的内容超过上限（{limit // MB or 1} MB），未保存。"
                                                 "请压缩或拆分后再上传。")


def body_limit(settings: Settings, method: str, path: str) -> int:
    """How many body bytes a route accepts: one table, so every route has a limit."""
    if method in SAFE_METHODS:
        return 0
    if path == UPLOAD_PATH:
        return settings.max_upload_bytes + MULTIPART_OVERHEAD
    if path == LOGIN_PATH:
        return LOGIN_BODY_LIMIT
    if is_public_form(method, path):
        return SURVEY_BODY_LIMIT
    return FORM_BODY_LIMIT


class RequestGuard:
    def __init__(self, app: ASGIApp, settings: Settings, respond: Callable, max_parallel_uploads: int = 2):
        self.app = app
        self.settings = settings
        self.respond = respond  # (request, status, message) -> Response, the app's Chinese error page
        self.max_parallel_uploads = max_parallel_uploads
        self.upload_slots = UploadSlots(settings.work_dir / "upload-slots", max_parallel_uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        limit = body_limit(self.settings, method, path)
        headers = Headers(scope=scope)
        refusal = self.refusal(scope, headers, method, path, limit)
        if refusal is not None:
            await self.answer(scope, *refusal, send)
            return
        uid = scope.get("session", {}).get("uid")
        if method in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if path == UPLOAD_PATH and uid is not None:
            with self.upload_slots.take(uid) as slot:
                if slot is None:
                    await self.answer(scope, 429, f"您已有 {self.max_parallel_uploads} 个上传正在进行，"
                                                  "请等它们完成后再上传。", send)
                    return
                await self.app(scope, counting(receive, limit), send)
            return
        await self.app(scope, counting(receive, limit), send)

    def refusal(self, scope: Scope, headers: Headers, method: str, path: str, limit: int) -> tuple[int, str] | None:
        if method in SAFE_METHODS:
            return None
        if headers.get("sec-fetch-site", "same-origin") not in SAME_ORIGIN:
            return 403, CSRF_FAILED  # the browser itself says another site sent this
        if is_public_form(method, path):  # no session by design; the route checks its page token
            return self.length_refusal(headers, limit)
        session = scope.get("session") or {}
        if path != LOGIN_PATH and session.get("uid") is None:
            # Nobody is logged in (logged out in another tab, or idle too long): that is the cause to
            # name, not the token that no longer matches. Nothing is done for a visitor either way.
            return 401, LOGIN_ENDED
        expected = session.get("csrf")
        if not expected:  # no session at all: the form cannot carry a valid token
            return 403, CSRF_FAILED
        sent = headers.get("x-csrf-token")
        if sent is not None and not hmac.compare_digest(str(expected), sent):
            return 403, CSRF_FAILED
        return self.length_refusal(headers, limit)

    @staticmethod
    def length_refusal(headers: Headers, limit: int) -> tuple[int, str] | None:
        length = headers.get("content-length")
        if length is not None:
            try:
                announced = int(length)
            except ValueError:
                return 400, "请求头 Content-Length 无效。"
            if announced > limit:
                return 413, BodyTooLarge(limit).detail
        return None

    async def answer(self, scope: Scope, status: int, message: str, send: Send) -> None:
        async def no_body() -> Message:  # the body is never read: a refusal must not consume it
            return {"type": "http.disconnect"}

        request = Request(scope, no_body)
        response = self.respond(request, status, message)
        if status == 401:
            response.headers["HX-Redirect"] = "/login"
        response.headers["Connection"] = "close"  # the unread body makes this connection unusable
        await response(scope, no_body, send)


def counting(receive: Receive, limit: int) -> Receive:
    """A receive that refuses a body (chunked or lying about its length) once it passes the limit."""
    seen = 0

    async def receive_counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_counted


class UploadSlots:
    """At most `size` uploads per user at once, across processes: a running upload holds an
    exclusive lock on one of the user's slot files. The kernel drops the lock when the upload
    ends or its process dies, so a crash never leaves a slot taken. (On one machine, as
    `kaoping serve --workers N` runs; web processes on several machines would each count apart.)"""

    def __init__(self, folder: Path, size: int):
        self.folder = Path(folder)
        self.size = size

    @contextmanager
    def take(self, uid: int) -> Iterator[int | None]:
        """The slot number held for the block, or None when all of the user's slots are busy."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for slot in range(self.size):
            fd = os.open(self.folder / f"{int(uid)}.{slot}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield slot
            finally:
                os.close(fd)  # closing releases the lock
            return
        yield None
