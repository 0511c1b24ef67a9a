"""Login: the same hashing work for every answer, throttling per user and address that never locks the real
user out, every attempt audited, and client addresses believed only from a configured proxy."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import PASSWORD, csrf_from
from evidence import accounts
from evidence.db import session_scope
from evidence.models import AuditEvent, LoginAttempt, User, utcnow
from review_ui.throttle import FIRST_WAIT, FREE_TRIES, MAX_WAIT, backoff, wait_before_login


def attempt(app, username: str, password: str, ip: str = "10.0.0.1", headers: dict | None = None):
    with TestClient(app, client=(ip, 5000), follow_redirects=False) as client:
        token = csrf_from(client.get("/login").text)
        return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                           headers=headers or {})


def events(settings, *actions):
    with session_scope(settings.database_url) as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)).all()


class CountingHasher:
    """Wraps the Argon2 hasher to count the verifications a login costs."""

    def __init__(self, real):
        self.real, self.calls = real, 0

    def verify(self, *args):
        self.calls += 1
        return self.real.verify(*args)

    def hash(self, *args):
        return self.real.hash(*args)


def test_unknown_and_disabled_users_cost_the_same_hashing_as_a_real_one(app, settings, make_user, monkeypatch):
    make_user("js", "province", unit="JS")
    disabled = make_user("old", "province", unit="SH")
    with session_scope(settings.database_url) as session:
        session.get(User, disabled.id).active = False
        session.commit()
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    outcomes = {}
    for name, username, password in [("right", "js", PASSWORD), ("wrong", "js", "nope-nope-nope"),
                                     ("unknown", "nobody", PASSWORD), ("disabled", "old", PASSWORD)]:
        before = counting.calls
        response = attempt(app, username, password, ip=f"10.0.1.{len(outcomes)}")
        outcomes[name] = (response.status_code, counting.calls - before)
    assert outcomes == {"right": (303, 1), "wrong": (400, 1), "unknown": (400, 1), "disabled": (400, 1)}
    # and the three refusals read the same
    assert len({attempt(app, u, p, ip="10.0.2.1").text.count("用户名或密码不正确")
                for u, p in [("js", "x-x-x-x-x"), ("nobody", "x"), ("old", PASSWORD)]}) == 1


def test_repeated_failures_back_off_for_that_address_but_not_for_the_real_user_elsewhere(app, settings, make_user):
    make_user("js", "province", unit="JS")
    for _ in range(FREE_TRIES):
        assert attempt(app, "js", "guess-guess", ip="203.0.113.9").status_code == 400
    throttled = attempt(app, "js", PASSWORD, ip="203.0.113.9")  # even the right password waits
    assert throttled.status_code == 429 and "请" in throttled.text and "后再试" in throttled.text
    assert attempt(app, "js", PASSWORD, ip="198.51.100.7").status_code == 303  # the real user, at their desk
    failed = events(settings, "login_failed")
    assert len(failed) == FREE_TRIES and {e.ip for e in failed} == {"203.0.113.9"}
    [limited] = events(settings, "login_throttled")
    assert limited.ip == "203.0.113.9" and limited.detail["username"] == "js" and limited.detail["seconds"] > 0
    [ok] = events(settings, "login")
    assert ok.ip == "198.51.100.7" and ok.username == "js"


def test_an_address_spraying_many_names_backs_off(app, settings):
    for i in range(20):
        attempt(app, f"user{i}", "password1", ip="192.0.2.50")
    assert attempt(app, "someone-else", "password1", ip="192.0.2.50").status_code == 429
    assert attempt(app, "someone-else", "password1", ip="192.0.2.51").status_code == 400


def test_the_back_off_doubles_up_to_a_ceiling_and_a_success_clears_it(db_session):
    assert backoff(FREE_TRIES - 1, FREE_TRIES) == timedelta(0)
    assert backoff(FREE_TRIES, FREE_TRIES) == FIRST_WAIT
    assert backoff(FREE_TRIES + 1, FREE_TRIES) == 2 * FIRST_WAIT
    assert backoff(FREE_TRIES + 40, FREE_TRIES) == MAX_WAIT
    now = utcnow()
    for i in range(FREE_TRIES + 2):
        db_session.add(LoginAttempt(username="js", ip="1.1.1.1", ok=False, at=now - timedelta(seconds=10)))
    db_session.commit()
    wait = wait_before_login(db_session, "js", "1.1.1.1", now)
    assert wait == 4 * FIRST_WAIT - timedelta(seconds=10)
    assert wait_before_login(db_session, "js", "1.1.1.1", now + 4 * FIRST_WAIT) == timedelta(0)
    assert wait_before_login(db_session, "js", "2.2.2.2", now) == timedelta(0)
    db_session.add(LoginAttempt(username="js", ip="1.1.1.1", ok=True, at=now - timedelta(seconds=5)))
    db_session.commit()
    assert wait_before_login(db_session, "js", "1.1.1.1", now) == timedelta(0)


def test_forwarded_for_is_ignored_unless_a_proxy_is_configured(server, settings, make_user):
    """Through uvicorn as `kaoping serve` runs it: X-Forwarded-For from loopback is not believed."""
    make_user("js", "province", unit="JS")
    with httpx.Client(base_url=f"http://127.0.0.1:{server}") as client:
        token = csrf_from(client.get("/login").text)
        client.post("/login", data={"username": "js", "password": "wrong-wrong", "csrf_token": token},
                    headers={"X-Forwarded-For": "6.6.6.6"})
    [failed] = events(settings, "login_failed")
    assert failed.ip == "127.0.0.1"


def test_a_configured_proxy_is_believed_and_a_forged_address_is_never_stored(settings, make_user):
    from review_ui.app import create_app
    make_user("js", "province", unit="JS")
    app = create_app(dataclasses.replace(settings, trusted_proxies="127.0.0.1"))
    attempt(app, "js", "wrong-wrong", ip="127.0.0.1", headers={"X-Forwarded-For": "198.51.100.23"})
    attempt(app, "js", "wrong-wrong", ip="127.0.0.1", headers={"X-Forwarded-For": "<img src=x onerror=alert(1)>"})
    attempt(app, "js", "wrong-wrong", ip="203.0.113.1", headers={"X-Forwarded-For": "198.51.100.99"})  # not the proxy
    assert [e.ip for e in events(settings, "login_failed")] == ["198.51.100.23", "", "203.0.113.1"]


def test_serve_tells_uvicorn_to_trust_no_forwarding_header():
    from review_ui.commands.core import server_options
    options = server_options("127.0.0.1", 8765)
    assert options["proxy_headers"] is False and options["forwarded_allow_ips"] == ""


@pytest.mark.parametrize("password", ["12345678", "password", "qq123456", "1qaz2wsx", "P@ssw0rd", "88888888",
                                      "abcd1234", "woaini1314", "Admin@123", "qwertyuiop", "kaoping2024"])
def test_common_passwords_are_refused(db_session, password):
    with pytest.raises(accounts.AccountError, match="容易被猜到"):
        accounts.create_user(db_session, "zhang", password, "office")


@pytest.mark.parametrize("username, display, password", [
    ("zhangwei", "张伟", "zhangwei-2024-abc"), ("zhangwei", "张伟", "iewgnahz-2024-q"), ("lz", "李正", "张伟李正的密码长又长")])
def test_passwords_holding_the_users_name_are_refused(db_session, username, display, password):
    with pytest.raises(accounts.AccountError, match="用户名或姓名"):
        accounts.create_user(db_session, username, password, "office", display_name=display)


def test_short_and_good_passwords(db_session):
    with pytest.raises(accounts.AccountError, match="至少 8 位"):
        accounts.create_user(db_session, "a", "Kp-2.x", "office")
    user = accounts.create_user(db_session, "zhangwei", "lanterns-over-yangtze-7", "office")
    assert accounts.verify_password(user, "lanterns-over-yangtze-7")


def test_the_office_sees_why_a_password_is_refused(make_user, login):
    make_user("office", "office")
    office = login("office")
    response = office.post("/admin/users", data={"csrf_token": office.csrf, "username": "newbie", "role": "office",
                                                 "password": "password"})
    assert response.status_code == 400 and "容易被猜到" in response.text


# ── passwords in the Chinese context (the second outside review) ────────────

@pytest.mark.parametrize("password", ["Kaoping@2024!", "jiangsu2024", "Admin@123456", "Woaini@520", "Jiangsu123!",
                                      "Gonghui@2024", "Zhonggong@123", "Huawei@123", "zhangsan1990", "Chanye@666",
                                      "W0ain1@1314", "Shanghai@888"])
def test_chinese_context_passwords_are_refused(db_session, password):
    with pytest.raises(accounts.AccountError, match="容易被猜到"):
        accounts.create_user(db_session, "wang", password, "office")


def test_the_users_own_unit_and_name_in_pinyin_are_context(db_session):
    with pytest.raises(accounts.AccountError, match="容易被猜到"):
        accounts.create_user(db_session, "js-staff", "Js@20240101", "province", unit_code="JS")
    with pytest.raises(accounts.AccountError, match="用户名或姓名"):
        accounts.create_user(db_session, "chu", "Wangchuzhang#2024-lake", "office", display_name="王处长")
    with pytest.raises(accounts.AccountError, match="用户名或姓名"):
        accounts.create_user(db_session, "chu", "cloudy-Zh@ngW3i-harbour", "office", display_name="张伟")


def test_a_short_user_name_does_not_forbid_its_letters(db_session):
    """A user called "sh" may use a password with "sh" in it; only names that mean something are matched."""
    user = accounts.create_user(db_session, "sh", "shy-lanterns-over-yangtze-7", "province", unit_code="SH")
    assert accounts.verify_password(user, "shy-lanterns-over-yangtze-7")
    with pytest.raises(accounts.AccountError, match="容易被猜到"):  # but "sh" alone as the word is context
        accounts.set_password(db_session, user, "Sh@20240101")


@pytest.mark.parametrize("password", ["Kp-evidence-2023", "secret-pass-1", "Tq7#xv9!Lm2$", "qingshan-luoye-lanhua-2024!",
                                      "correct horse battery staple", "孤帆远影碧空尽-唯见长江天际流"])
def test_strong_passwords_stay_allowed(db_session, password):
    user = accounts.create_user(db_session, "liu", password, "office", display_name="刘")
    assert accounts.verify_password(user, password)


def test_a_long_password_up_to_the_limit_is_checked_not_crashed(db_session):
    long_one = "river-" + "-".join(f"word{n:03d}x" for n in range(13))  # 127 characters, past zxcvbn's default 72
    assert 72 < len(long_one) <= accounts.MAX_PASSWORD
    assert accounts.password_problem(long_one) == ""
