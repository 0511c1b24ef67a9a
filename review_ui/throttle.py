"""Login throttling that slows an attacker down without locking the real user out.

Back-off per user name *and* address: after FREE_TRIES failures in a row from one address (since
that pair's last success), each further try waits twice as long as the one before — 30 s, 1 min,
2 min … at most 15 min. The same user at another address (the real user at their own desk) is not
affected, so guessing at someone's password cannot lock them out. An address failing against many
names (password spraying) backs off the same way after FREE_TRIES_PER_ADDRESS failures in an hour.
Throttled attempts are not checked at all; routes/auth.py audits them as login_throttled.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import Session, func, select

from evidence.models import LoginAttempt, utcnow

FREE_TRIES = 5
FREE_TRIES_PER_ADDRESS = 20
FIRST_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(minutes=15)
PAIR_MEMORY = timedelta(days=1)  # failures older than this are forgiven
ADDRESS_WINDOW = timedelta(hours=1)


def backoff(failures: int, free: int) -> timedelta:
    """How long to wait after the last of `failures` failures when `free` are allowed without waiting."""
    if failures < free:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** min(failures - free, 16), MAX_WAIT)


def _failures(session: Session, since: datetime, **match) -> tuple[int, datetime | None]:
    conditions = [LoginAttempt.ok == False, LoginAttempt.at >= since]  # noqa: E712
    conditions += [getattr(LoginAttempt, key) == value for key, value in match.items()]
    count, last = session.exec(select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(*conditions)).one()
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    return int(count), last


def wait_before_login(session: Session, username: str, ip: str, now: datetime | None = None) -> timedelta:
    """How long this user name must wait before trying again from this address (zero: go ahead)."""
    now = now or utcnow()
    last_ok = session.exec(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username, LoginAttempt.ip == ip, LoginAttempt.ok == True)).one()  # noqa: E712
    since = now - PAIR_MEMORY
    if last_ok is not None:
        since = max(since, last_ok if last_ok.tzinfo else last_ok.replace(tzinfo=timezone.utc))
    waits = []
    for free, start, match in ((FREE_TRIES, since, {"username": username, "ip": ip}),
                               (FREE_TRIES_PER_ADDRESS, now - ADDRESS_WINDOW, {"ip": ip})):
        count, last = _failures(session, start, **match)
        if last is not None:
            waits.append(last + backoff(count, free) - now)
    return max([timedelta(0), *waits])


def describe_wait(wait: timedelta) -> str:
    seconds = int(wait.total_seconds()) + 1
    return f"{seconds} 秒" if seconds < 60 else f"{(seconds + 59) // 60} 分钟"
