"""Sessions, CSRF and the current user.

Sessions live on the server (evidence/sessions.py; the cookie carries a random token only,
review_ui/sessions.py turns it into `request.session`). Logging in starts a new session — no
fixation — and logging out ends it on the server, so a saved cookie opens nothing afterwards.

CSRF uses the synchronizer-token pattern: a random token lives with the server session and
must come back with every unsafe request, either as the form field `csrf_token` or as the
`X-CSRF-Token` header (htmx sends it for every request via hx-headers on <body>). A
double-submit-cookie library (starlette-csrf) reads headers only, which would break plain
HTML forms. Before login, the login form's token is derived from the visitor's cookie.
"""
from __future__ import annotations

import hmac
import re
import secrets

from fastapi import HTTPException, Request
from sqlmodel import Session

from evidence import sessions
from evidence.models import User, WebSession

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# The one unsafe route open without a session: answering a published survey (/s/<link token>).
# It carries its own CSRF-equivalent, a signed one-time token per page (review_ui/routes/surveys.py).
PUBLIC_FORM = re.compile(r"/s/[A-Za-z0-9_-]{20,64}")


def is_public_form(method: str, path: str) -> bool:
    return method == "POST" and PUBLIC_FORM.fullmatch(path) is not None


def is_public_page(path: str) -> bool:
    """A survey page, read or answered: respondents are anonymous, so no session cookie is set for them."""
    return PUBLIC_FORM.fullmatch(path) is not None

CSRF_FAILED = "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。"
SESSION_ID = "kaoping.session_id"  # scope key: the live session's row
NEW_COOKIE = "kaoping.new_cookie"  # scope key: the cookie's value from now on ("" after a logout)
ADDRESS_SHAPE = re.compile(r"[0-9A-Za-z.:_-]{1,64}")  # an IP address or a test client's host name


class LoginRequired(Exception):
    pass


class Forbidden(HTTPException):
    def __init__(self, message: str = "您无权访问此内容。"):
        super().__init__(status_code=403, detail=message)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS or is_public_form(request.method, request.url.path):
        return
    expected = request.session.get("csrf")
    if not expected:  # RequestGuard has refused this before the body was read; kept for direct callers
        raise HTTPException(status_code=403, detail=CSRF_FAILED)
    sent = request.headers.get("x-csrf-token")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            sent = form.get("csrf_token")
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        raise HTTPException(status_code=403, detail=CSRF_FAILED)


def client_address(scope) -> str:
    """The peer's address — a proxy's X-Forwarded-For only counts when KAOPING_TRUSTED_PROXIES names
    that proxy (review_ui/app.py). Anything that is not address-shaped is dropped, never stored."""
    host = (scope.get("client") or ("",))[0] or ""
    return host if ADDRESS_SHAPE.fullmatch(host) else ""


def client_ip(request: Request) -> str:
    return client_address(request.scope)


def begin_session(request: Request, session: Session, user: User) -> None:
    """A new server session for a user who just logged in; whatever the visitor's cookie held is dropped,
    and a session this browser still had (a second login without logging out, a password change) ends
    on the server first, so its cookie, if it was copied, opens nothing."""
    previous = session.get(WebSession, request.scope.pop(SESSION_ID, None) or 0)
    if previous is not None:
        sessions.end(previous, "relogin")
    row, token = sessions.start(session, user, client_ip(request))
    request.scope[SESSION_ID] = row.id
    request.scope[NEW_COOKIE] = token
    request.session.clear()
    request.session.update(uid=user.id, csrf=row.csrf_token)


def end_session(request: Request, session: Session) -> None:
    """Log out: the session ends on the server, the browser is told to forget the cookie."""
    row = session.get(WebSession, request.scope.pop(SESSION_ID, None) or 0)
    if row is not None:
        sessions.end(row, "logout")
    request.scope[NEW_COOKIE] = ""
    request.session.clear()


def current_user(request: Request, session: Session) -> User:
    user_id = request.session.get("uid")
    user = session.get(User, user_id) if user_id else None
    if user is None or not user.active:
        raise LoginRequired()
    return user


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden()
