"""Users: passwords (policy and Argon2id hashing), roles, and who may see which unit.

Every change that alters what a user may do — disabling the account, a new role, a new
password — ends all of that user's sessions (evidence/sessions.py), so an old cookie opens
nothing afterwards.
"""
from __future__ import annotations

import os
import re
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from evidence import sessions
from evidence.models import ROLES, Assignment, Conflict, Unit, User
from evidence.password_patterns import L33T, estimated_guesses, name_forms

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
MAX_PASSWORD = 128  # the strength estimate's work grows with length
# zxcvbn's score: 3 is "safely unguessable" (about 10^8 guesses or more) — beyond the common-password
# lists, keyboard runs, repeats, dates and l33t variants it knows, and the context words given to it.
MIN_STRENGTH = 3
CONTEXT_WORDS = ("kaoping", "考评", "产改", "changai", "chanye", "gonghui", "zhonggong", "admin")
# The pattern check's bar (evidence/password_patterns.py): zxcvbn's "very unguessable" (score 4), because
# a password built from a guessable pattern is tried early by exactly the attacker who targets this system.
MIN_PATTERN_GUESSES = 1e10
MIN_NAME_LETTERS = 4
_dummy_hash: str | None = None


class AccountError(ValueError):
    """A refused account change, worded for the web page and the command line alike; `field` names the
    input it concerns ("unit", "home_unit") so the command line can add which option sets it."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def password_problem(password: str, *, username: str = "", display_name: str = "", unit_code: str | None = None,
                     context: tuple[str, ...] = ()) -> str:
    """Why this password may not be set, in Chinese, or '' if it may. `context`: more words an attacker
    would try first (the units' names; password_context reads them)."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位。"
    if len(password) > MAX_PASSWORD:
        return f"密码最多 {MAX_PASSWORD} 位。"
    if _holds_name(password, (username, display_name)):
        return "密码不能包含用户名或姓名。"
    from zxcvbn import zxcvbn  # loaded on first use: its word lists take a moment
    words = [w for w in (username, display_name, unit_code, *CONTEXT_WORDS, *context) if w]
    # max_length: zxcvbn refuses (ValueError) anything over 72 characters unless told otherwise
    if zxcvbn(password, user_inputs=words, max_length=MAX_PASSWORD)["score"] < MIN_STRENGTH or \
            estimated_guesses(password, words) < MIN_PATTERN_GUESSES:
        return ("密码太容易被猜到（常见密码、拼音词语、单位或系统名称、年份日期、520/1314/123 等常见数字，"
                "或键盘顺序、重复的字符）。请换一个更长、不常见的密码，例如把几个不相关的词连起来。")
    return ""


def _holds_name(password: str, names) -> bool:
    """Whether the password spells a name (or its pinyin, or reversed), l33t undone. Only names long enough
    to mean something count: two Chinese characters, four letters — a user called "sh" may still use
    a password with "sh" in it (short names are context words for the pattern check instead)."""
    lowered = password.casefold()
    plain = "".join(L33T.get(ch, ch)[0] for ch in lowered)
    for name in names:
        name = (name or "").strip().casefold()
        forms = {name} if len(re.findall(r"[\u3400-\u9fff]", name)) >= 2 else set()
        forms |= {f for f in name_forms(name) if len(f) >= MIN_NAME_LETTERS}
        if any(f in text or f[::-1] in text for f in forms for text in (lowered, plain)):
            return True
    return False


def password_context(session: Session, unit_code: str | None) -> tuple[str, ...]:
    """The units' names (every unit's short name, this user's unit's full name) for password_problem."""
    units = session.exec(select(Unit)).all()
    own = [u.name for u in units if u.code == unit_code]
    return tuple(own + [u.short_name for u in units])


def hash_password(password: str) -> str:
    with _HASHING:
        return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    return _verify(user.password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        with _HASHING:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(user: User | None, password: str) -> bool:
    """Whether this password opens this account. An unknown or disabled account costs the same
    hashing work as a real one (a dummy hash), so the answer's timing does not tell them apart."""
    global _dummy_hash
    if user is None or not user.active:
        if _dummy_hash is None:
            _dummy_hash = hash_password(secrets.token_urlsafe(16))
        _verify(_dummy_hash, password)
        return False
    return verify_password(user, password)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(raw: str | None) -> str:
    """An address for deadline reminders, or '' for none."""
    email = (raw or "").strip()
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        raise AccountError(f"电子邮箱格式不对：{email[:60]}")
    return email


def _check_role(session: Session, role: str, unit_code: str | None, home_unit_code: str | None) -> None:
    if role not in ROLES:
        raise AccountError(f"未知角色：{role}（可选：{'、'.join(ROLES)}）")
    if role == "province" and not unit_code:
        raise AccountError("省级填报人员必须绑定一个单位，请指定其所属单位。", field="unit")
    if role != "province" and unit_code:
        raise AccountError("只有省级填报人员绑定所属单位；评审专家请改为指定其所在省份（用于自动回避）。", field="unit")
    for code in (unit_code, home_unit_code):
        if code and session.get(Unit, code) is None:
            raise AccountError("指定的单位不存在，请从 32 个单位中选择。",
                               field="unit" if code == unit_code else "home_unit")


def create_user(session: Session, username: str, password: str, role: str, *, unit_code: str | None = None,
                display_name: str = "", home_unit_code: str | None = None, email: str = "",
                check_strength: bool = True) -> User:
    """A new account. check_strength=False only for the demo's accounts, whose password is published anyway."""
    username = username.strip()
    if not username:
        raise AccountError("用户名不能为空。")
    _check_role(session, role, unit_code, home_unit_code)
    if session.exec(select(User).where(User.username == username)).first():
        raise AccountError(f"用户名已存在：{username}")
    problem = password_problem(password, username=username, display_name=display_name, unit_code=unit_code,
                               context=password_context(session, unit_code)) if check_strength else ""
    if problem:
        raise AccountError(problem)
    user = User(username=username, password_hash=hash_password(password), role=role, email=normalise_email(email),
                unit_code=unit_code, display_name=display_name or username, home_unit_code=home_unit_code)
    session.add(user)
    session.flush()
    if home_unit_code:
        session.add(Conflict(user_id=user.id, unit_code=home_unit_code, kind="home", reason="本人所在单位"))
    return user


def set_password(session: Session, user: User, password: str) -> int:
    """A new password; every session of the user ends. Returns how many sessions ended."""
    problem = password_problem(password, username=user.username, display_name=user.display_name,
                               unit_code=user.unit_code, context=password_context(session, user.unit_code))
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(password)
    session.add(user)
    return sessions.end_all(session, user.id, "password")


def set_role(session: Session, user: User, role: str, *, unit_code: str | None = None) -> dict:
    """A new role (and unit, for province staff); every session of the user ends.
    Returns the old and new values for the audit log."""
    unit_code = unit_code or None
    _check_role(session, role, unit_code, None)
    old = {"role": user.role, "unit": user.unit_code}
    user.role, user.unit_code = role, unit_code
    session.add(user)
    ended = sessions.end_all(session, user.id, "role")
    return {"old": old, "new": {"role": role, "unit": unit_code}, "sessions_ended": ended}


def set_active(session: Session, user: User, active: bool) -> int:
    """Enable or disable an account; disabling ends every session (re-enabling revives none)."""
    user.active = active
    session.add(user)
    return 0 if active else sessions.end_all(session, user.id, "disabled")


def sign_out_everywhere(session: Session, user: User) -> int:
    return sessions.end_all(session, user.id, "everywhere")


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
