"""Users, password hashing (Argon2id) and who may see which unit."""
from __future__ import annotations

import os
import re
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlmodel import Session, select

from evidence.models import ROLES, Assignment, Conflict, Unit, User

# OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane) rather than argon2-cffi's
# default (64 MiB, 3 passes, 4 lanes): on the 2-core server the default took
# 0.2-0.7 s of CPU per login, so 50 reviewers logging in at the same moment
# queued for tens of seconds and starved every other request. Hashes made with
# other parameters still verify (they are read from the hash itself).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Hashing is CPU-bound: more at once than there are cores only makes every
# login slower and takes cores from searches; a burst waits here in line.
_HASHING = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
MIN_PASSWORD = 8


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 位。")
    with _HASHING:
        return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    try:
        with _HASHING:
            return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(raw: str | None) -> str:
    """An address for deadline reminders, or '' for none."""
    email = (raw or "").strip()
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        raise AccountError(f"电子邮箱格式不对：{email[:60]}")
    return email


def create_user(session: Session, username: str, password: str, role: str, *, unit_code: str | None = None,
                display_name: str = "", home_unit_code: str | None = None, email: str = "") -> User:
    username = username.strip()
    if not username:
        raise AccountError("用户名不能为空。")
    if role not in ROLES:
        raise AccountError(f"未知角色：{role}（可选：{'、'.join(ROLES)}）")
    if role == "province" and not unit_code:
        raise AccountError("省级填报人员必须绑定一个单位（--unit）。")
    if role != "province" and unit_code:
        raise AccountError("只有省级填报人员绑定单位；评审专家的所在省份请用 home_unit。")
    for code in (unit_code, home_unit_code):
        if code and session.get(Unit, code) is None:
            raise AccountError(f"未知单位代码：{code}（见 kaoping units）")
    if session.exec(select(User).where(User.username == username)).first():
        raise AccountError(f"用户名已存在：{username}")
    user = User(username=username, password_hash=hash_password(password), role=role, email=normalise_email(email),
                unit_code=unit_code, display_name=display_name or username, home_unit_code=home_unit_code)
    session.add(user)
    session.flush()
    if home_unit_code:
        session.add(Conflict(user_id=user.id, unit_code=home_unit_code, kind="home", reason="本人所在单位"))
    return user


def conflicted_units(session: Session, user: User) -> set[str]:
    return set(session.exec(select(Conflict.unit_code).where(Conflict.user_id == user.id)).all())


def visible_units(session: Session, user: User, year: int | None = None) -> list[str] | None:
    """Unit codes whose evidence this user may see; None means all units.

    Province staff see their own unit; reviewers see the units they are
    assigned (in any year, or the given year) minus conflicts; the office sees all.
    """
    if user.role == "office":
        return None
    if user.role == "province":
        return [user.unit_code] if user.unit_code else []
    query = select(Assignment.unit_code).where(Assignment.reviewer_id == user.id)
    if year is not None:
        query = query.where(Assignment.year == year)
    assigned = set(session.exec(query).all())
    return sorted(assigned - conflicted_units(session, user))


def can_see_unit(session: Session, user: User, unit_code: str, year: int | None = None) -> bool:
    allowed = visible_units(session, user, year)
    return allowed is None or unit_code in allowed
