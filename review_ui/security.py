"""Sessions, CSRF and the current user.

CSRF uses the synchronizer-token pattern: a random token lives in the signed
session cookie and must come back with every unsafe request, either as the
form field `csrf_token` or as the `X-CSRF-Token` header (htmx sends it for
every request via hx-headers on <body>). A double-submit-cookie library
(starlette-csrf) reads headers only, which would break plain HTML forms.
"""
from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta

from fastapi import HTTPException, Request
from sqlmodel import Session, func, select

from evidence.models import LoginAttempt, User, utcnow

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# The one unsafe route open without a session: answering a published survey (/s/<link token>).
# It carries its own CSRF-equivalent, a signed one-time token per page (review_ui/routes/surveys.py).
PUBLIC_FORM = re.compile(r"/s/[A-Za-z0-9_-]{20,64}")


def is_public_form(method: str, path: str) -> bool:
    return method == "POST" and PUBLIC_FORM.fullmatch(path) is not None

CSRF_FAILED = "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。"
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILED_PER_USER = 5
MAX_FAILED_PER_IP = 20


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


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def login_blocked(session: Session, username: str, ip: str) -> bool:
    since = utcnow() - LOGIN_WINDOW
    failed_user = session.exec(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.username == username, LoginAttempt.ok == False, LoginAttempt.at >= since)).one()  # noqa: E712
    failed_ip = session.exec(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.ip == ip, LoginAttempt.ok == False, LoginAttempt.at >= since)).one()  # noqa: E712
    return failed_user >= MAX_FAILED_PER_USER or failed_ip >= MAX_FAILED_PER_IP


def current_user(request: Request, session: Session) -> User:
    user_id = request.session.get("uid")
    user = session.get(User, user_id) if user_id else None
    if user is None or not user.active:
        raise LoginRequired()
    return user


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden()
