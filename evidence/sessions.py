"""Login sessions kept on the server, so they can be ended.

A browser holds one random token (256 bits); the `web_session` table holds its SHA-256, the
session's CSRF token, where and when it began and when it was last used. A session is live while
it has not been ended, its user is active, it was used within the idle lifetime and began within
the absolute lifetime. Logout ends one session; disabling an account, changing its role or its
password, or "sign out everywhere" ends all of a user's sessions (evidence/accounts.py calls
`end_all`); the office can end any one of them.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, or_, update
from sqlmodel import Session, select

from evidence.models import User, WebSession, utcnow

TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often: one write a minute per user
KEEP_ENDED = timedelta(days=30)  # ended sessions stay this long for the office's view, then go
END_REASONS = {
    "logout": "本人退出", "idle": "长时间未操作", "expired": "超过最长登录时间", "disabled": "账号停用",
    "role": "角色变更", "password": "密码变更", "everywhere": "在所有设备上退出", "office": "办公室结束",
    "relogin": "在同一浏览器重新登录",
}


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, settings) -> "Lifetimes":
        return cls(timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_hours))


def token_hash(token: str) -> str:
    # The token is 256 random bits: a plain hash cannot be reversed or guessed, no salt or stretching needed.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC


def new_token() -> str:
    return secrets.token_urlsafe(32)


def start(session: Session, user: User, ip: str = "") -> tuple[WebSession, str]:
    """A new session for a user who just proved who they are; returns it and the cookie's token."""
    token = new_token()
    row = WebSession(token_hash=token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                     ip=ip[:64])
    session.add(row)
    session.flush()
    return row, token


def find_live(session: Session, token: str, lifetimes: Lifetimes, now: datetime | None = None) -> WebSession | None:
    """The live session behind a cookie's token, its last use brought up to date; None for an
    unknown, ended, idle or too old session, or one whose user has been disabled."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.exec(select(WebSession).join(User, User.id == WebSession.user_id)
                       .where(WebSession.token_hash == token_hash(token), WebSession.ended_at.is_(None),
                              User.active == True)).first()  # noqa: E712
    if row is None:
        return None
    reason = expiry(row, lifetimes, now)
    if reason:
        end(row, reason, now)
        return None
    if now - _aware(row.last_seen_at) >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def expiry(row: WebSession, lifetimes: Lifetimes, now: datetime) -> str:
    """Why a session has run out of time, or ''."""
    if now - _aware(row.created_at) > lifetimes.absolute:
        return "expired"
    if now - _aware(row.last_seen_at) > lifetimes.idle:
        return "idle"
    return ""


def end(row: WebSession, reason: str, now: datetime | None = None) -> None:
    if row.ended_at is None:
        row.ended_at, row.end_reason = now or utcnow(), reason


def end_all(session: Session, user_id: int, reason: str) -> int:
    """End every open session of a user; how many there were."""
    result = session.exec(update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                          .values(ended_at=utcnow(), end_reason=reason))
    return result.rowcount or 0


def live_sessions(session: Session, user_id: int, lifetimes: Lifetimes, now: datetime | None = None) -> list[WebSession]:
    """A user's sessions that would still open a page, newest first."""
    now = now or utcnow()
    rows = session.exec(select(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                        .order_by(WebSession.id.desc())).all()
    return [row for row in rows if not expiry(row, lifetimes, now)]


def purge(session: Session, lifetimes: Lifetimes, now: datetime | None = None) -> None:
    """Forget sessions that ended (or ran out) long ago; the audit log keeps the logins and logouts."""
    cutoff = (now or utcnow()) - lifetimes.absolute - KEEP_ENDED
    session.exec(delete(WebSession).where(or_(WebSession.ended_at < cutoff, WebSession.created_at < cutoff)))
