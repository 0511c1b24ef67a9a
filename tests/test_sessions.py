"""Server-side sessions: the cookie is an opaque token, and logout, disabling, a role or password change,
"sign out everywhere", the office and the lifetimes each end sessions for good."""
from __future__ import annotations

import hashlib
import re
import socket
from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner
from sqlmodel import select

from conftest import PASSWORD, csrf_from
from evidence.db import session_scope
from evidence.models import AuditEvent, User, WebSession, utcnow

NEW_PASSWORD = "Kp-new-secret-2024"
PAGES = ["/", "/evidence", "/evidence/upload", "/account", "/search"]


def cookie_of(client) -> str:
    return client.cookies.get("kaoping_session")


def replay(app, cookie: str):
    """A fresh browser carrying a saved cookie."""
    from fastapi.testclient import TestClient
    client = TestClient(app, follow_redirects=False)
    client.cookies.set("kaoping_session", cookie)
    return client


def shut_out(client, csrf: str) -> None:
    """Every page sends this browser to the login, and it cannot post with the token it once had."""
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    response = client.post("/evidence/upload", headers={"X-CSRF-Token": csrf},
                           files=[("files", ("a.txt", "工匠".encode(), "text/plain"))])
    assert response.status_code in (401, 403)


def opens_nothing(app, cookie: str, csrf: str) -> None:
    with replay(app, cookie) as client:
        shut_out(client, csrf)


def opens_pages(app, cookie: str) -> None:
    with replay(app, cookie) as client:
        assert client.get("/evidence").status_code == 200


def rows(settings, **where):
    with session_scope(settings.database_url) as session:
        query = select(WebSession)
        for key, value in where.items():
            query = query.where(getattr(WebSession, key) == value)
        return session.exec(query.order_by(WebSession.id)).all()


# ── the bar: through a real uvicorn ─────────────────────────────────────────

def test_a_cookie_saved_before_logout_opens_no_page_after_it(server, make_user):
    make_user("js", "province", unit="JS")
    base = f"http://127.0.0.1:{server}"
    with httpx.Client(base_url=base) as browser:
        token = csrf_from(browser.get("/login").text)
        assert browser.post("/login", data={"username": "js", "password": PASSWORD, "csrf_token": token}).status_code == 303
        saved = browser.cookies.get("kaoping_session")
        csrf = csrf_from(browser.get("/").text)
        assert browser.get("/evidence").status_code == 200
        assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    with httpx.Client(base_url=base, cookies={"kaoping_session": saved}) as thief:
        shut_out(thief, csrf)
    # and an upload announcing 300 MB with the old cookie is refused before its body is sent
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.settimeout(10)
        sock.sendall(("POST /evidence/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                      f"boundary=x\r\nContent-Length: {300 * 1024 * 1024}\r\nCookie: kaoping_session={saved}\r\n"
                      f"X-CSRF-Token: {csrf}\r\n\r\n").encode("latin-1"))
        assert sock.recv(4096).decode("latin-1").split(" ")[1] in ("401", "403")


# ── what the cookie and the table hold ──────────────────────────────────────

def test_the_cookie_is_an_opaque_token_and_the_table_keeps_only_its_hash(settings, make_user, login):
    user = make_user("js", "province", unit="JS")
    client = login("js")
    token = cookie_of(client)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 256 random bits, nothing else
    assert client.csrf not in token and str(user.id) not in token.split("_")
    [row] = rows(settings, user_id=user.id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert row.csrf_token == client.csrf  # the synchronizer token lives with the server session
    assert row.ip == "testclient" and row.ended_at is None


def test_login_starts_a_new_session_every_time(settings, make_user, login):
    user = make_user("js", "province", unit="JS")
    first, second = login("js"), login("js")
    assert cookie_of(first) != cookie_of(second) and first.csrf != second.csrf
    assert len(rows(settings, user_id=user.id)) == 2
    opens_pages(first.app, cookie_of(first))


def test_a_flash_message_survives_the_redirect_through_the_server_session(make_user, login):
    make_user("office", "office")
    office = login("office")
    response = office.post("/admin/users/999999/sessions/end", data={"csrf_token": office.csrf})
    assert response.status_code == 404
    target = make_user("js", "province", unit="JS")
    response = office.post(f"/admin/users/{target.id}/sessions/end", data={"csrf_token": office.csrf})
    assert response.status_code == 200 and "已结束 0 个登录会话" in response.text  # shown once after the redirect
    assert "已结束 0 个登录会话" not in office.get(f"/admin/users/{target.id}/sessions").text


# ── what ends sessions ──────────────────────────────────────────────────────

def test_logout_ends_the_session_on_the_server(settings, make_user, login):
    user = make_user("js", "province", unit="JS")
    client = login("js")
    cookie, csrf = cookie_of(client), client.csrf
    client.post("/logout", data={"csrf_token": csrf})
    [row] = rows(settings, user_id=user.id)
    assert row.ended_at is not None and row.end_reason == "logout"
    opens_nothing(client.app, cookie, csrf)


def test_disabling_ends_every_session_and_re_enabling_revives_none(settings, make_user, login):
    make_user("office", "office")
    target = make_user("js", "province", unit="JS")
    office = login("office")
    phone, desk = login("js"), login("js")
    saved = [(cookie_of(c), c.csrf) for c in (phone, desk)]
    office.post(f"/admin/users/{target.id}/active", data={"csrf_token": office.csrf, "active": "0"})
    for cookie, csrf in saved:
        opens_nothing(office.app, cookie, csrf)
    office.post(f"/admin/users/{target.id}/active", data={"csrf_token": office.csrf, "active": "1"})
    for cookie, csrf in saved:
        opens_nothing(office.app, cookie, csrf)
    assert {r.end_reason for r in rows(settings, user_id=target.id)} == {"disabled"}
    login("js")  # the account itself works again


def test_a_role_change_by_the_office_ends_every_session(settings, make_user, login):
    make_user("office", "office")
    target = make_user("r1", "reviewer")
    office, reviewer = login("office"), login("r1")
    response = office.post(f"/admin/users/{target.id}/role",
                           data={"csrf_token": office.csrf, "role": "province", "unit": "JS"})
    assert response.status_code == 200 and "角色" in response.text
    opens_nothing(office.app, cookie_of(reviewer), reviewer.csrf)
    with session_scope(settings.database_url) as session:
        assert session.get(User, target.id).role == "province"
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "user_update")).one()
        assert event.detail["old"] == {"role": "reviewer", "unit": None}
        assert event.detail["new"] == {"role": "province", "unit": "JS"} and event.detail["sessions_ended"] == 1
    # a role that needs a unit without one is refused in Chinese, nothing changes
    bad = office.post(f"/admin/users/{target.id}/role", data={"csrf_token": office.csrf, "role": "province"})
    assert bad.status_code == 400 and "必须绑定一个单位" in bad.text


def test_the_office_cannot_change_its_own_role(make_user, login):
    office_user = make_user("office", "office")
    office = login("office")
    response = office.post(f"/admin/users/{office_user.id}/role", data={"csrf_token": office.csrf, "role": "reviewer"})
    assert response.status_code == 403


def test_a_password_set_by_the_office_ends_every_session(settings, make_user, login):
    make_user("office", "office")
    target = make_user("js", "province", unit="JS")
    office, js = login("office"), login("js")
    weak = office.post(f"/admin/users/{target.id}/password", data={"csrf_token": office.csrf, "password": "12345678"})
    assert weak.status_code == 400 and "容易被猜到" in weak.text
    opens_pages(office.app, cookie_of(js))  # a refused change ends nothing
    office.post(f"/admin/users/{target.id}/password", data={"csrf_token": office.csrf, "password": NEW_PASSWORD})
    opens_nothing(office.app, cookie_of(js), js.csrf)
    login("js", NEW_PASSWORD)


def test_changing_ones_own_password_ends_the_other_sessions_and_keeps_this_one(settings, make_user, login):
    make_user("js", "province", unit="JS")
    here, elsewhere = login("js"), login("js")
    wrong = here.post("/account/password", data={"csrf_token": here.csrf, "current": "not-it",
                                                 "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.text
    weak = here.post("/account/password", data={"csrf_token": here.csrf, "current": PASSWORD,
                                                "password": "js123456", "confirm": "js123456"})
    assert weak.status_code == 400 and "用户名" in weak.text
    ok = here.post("/account/password", data={"csrf_token": here.csrf, "current": PASSWORD,
                                              "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert ok.status_code == 200 and "密码已修改" in ok.text
    opens_nothing(here.app, cookie_of(elsewhere), elsewhere.csrf)
    assert here.get("/evidence").status_code == 200  # this browser goes on, in a new session
    assert here.get("/account").text.count("当前设备") == 1


def test_sign_out_everywhere_ends_all_of_ones_sessions(settings, make_user, login):
    user = make_user("js", "province", unit="JS")
    here, elsewhere = login("js"), login("js")
    saved = [(cookie_of(c), c.csrf) for c in (here, elsewhere)]
    page = here.get("/account").text
    assert page.count("testclient") == 2  # both devices listed, with their address
    here.post("/account/sign-out-everywhere", data={"csrf_token": here.csrf})
    for cookie, csrf in saved:
        opens_nothing(here.app, cookie, csrf)
    assert {r.end_reason for r in rows(settings, user_id=user.id)} == {"everywhere"}


def test_the_office_sees_and_ends_a_users_sessions(settings, make_user, login):
    make_user("office", "office")
    target = make_user("js", "province", unit="JS")
    office, phone, desk = login("office"), login("js"), login("js")
    listing = office.get("/admin/users").text
    assert f'/admin/users/{target.id}/sessions">2 个会话' in listing
    page = office.get(f"/admin/users/{target.id}/sessions").text
    assert page.count("结束此会话") == 2
    phone_row = rows(settings, token_hash=hashlib.sha256(cookie_of(phone).encode()).hexdigest())[0]
    office.post(f"/admin/users/{target.id}/sessions/end", data={"csrf_token": office.csrf, "session_id": phone_row.id})
    opens_nothing(office.app, cookie_of(phone), phone.csrf)
    opens_pages(office.app, cookie_of(desk))
    office.post(f"/admin/users/{target.id}/sessions/end", data={"csrf_token": office.csrf})
    opens_nothing(office.app, cookie_of(desk), desk.csrf)
    with session_scope(settings.database_url) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "session_revoked")).all()
        assert [e.detail["sessions_ended"] for e in events] == [1, 1] and all(e.username == "office" for e in events)
    other = make_user("sh", "province", unit="SH")
    sh = login("sh")
    row = rows(settings, user_id=other.id)[0]  # a session of another user cannot be ended through this one's page
    assert office.post(f"/admin/users/{target.id}/sessions/end",
                       data={"csrf_token": office.csrf, "session_id": row.id}).status_code == 404
    opens_pages(office.app, cookie_of(sh))


def test_only_the_office_manages_sessions(make_user, login):
    make_user("js", "province", unit="JS")
    target = make_user("sh", "province", unit="SH")
    js = login("js")
    assert js.get(f"/admin/users/{target.id}/sessions").status_code == 403
    assert js.post(f"/admin/users/{target.id}/sessions/end", data={"csrf_token": js.csrf}).status_code == 403


@pytest.mark.parametrize("column, age, reason", [("last_seen_at", timedelta(hours=3), "idle"),
                                                 ("created_at", timedelta(hours=13), "expired")])
def test_idle_and_absolute_lifetimes_end_a_session(settings, make_user, login, column, age, reason):
    user = make_user("js", "province", unit="JS")
    client = login("js")
    with session_scope(settings.database_url) as session:
        row = session.exec(select(WebSession).where(WebSession.user_id == user.id)).one()
        setattr(row, column, utcnow() - age)
        if column == "created_at":
            row.last_seen_at = utcnow()  # in use a minute ago, but logged in too long ago
        session.commit()
    opens_nothing(client.app, cookie_of(client), client.csrf)
    assert rows(settings, user_id=user.id)[0].end_reason == reason


def test_use_keeps_a_session_alive(settings, make_user, login):
    user = make_user("js", "province", unit="JS")
    client = login("js")
    with session_scope(settings.database_url) as session:
        row = session.exec(select(WebSession).where(WebSession.user_id == user.id)).one()
        row.last_seen_at = utcnow() - timedelta(minutes=100)  # idle limit: 120
        session.commit()
    assert client.get("/evidence").status_code == 200
    [row] = rows(settings, user_id=user.id)
    last = row.last_seen_at.replace(tzinfo=None) if row.last_seen_at.tzinfo else row.last_seen_at
    assert utcnow().replace(tzinfo=None) - last < timedelta(minutes=1)


# ── the command line ────────────────────────────────────────────────────────

def cli(settings, *args):
    from review_ui.cli import main
    return CliRunner().invoke(main, ["--data-dir", str(settings.data_dir), *args], catch_exceptions=False)


def test_cli_passwd_set_role_disable_and_signout_end_sessions(settings, make_user, login):
    make_user("js", "province", unit="JS")
    steps = [("users", "passwd", "js", "--password", NEW_PASSWORD),
             ("users", "set-role", "js", "--role", "reviewer"),
             ("users", "signout", "js"),
             ("users", "disable", "js")]
    password = PASSWORD
    for step in steps:
        client = login("js", password)
        result = cli(settings, *step)
        assert result.exit_code == 0, result.output
        opens_nothing(client.app, cookie_of(client), client.csrf)
        password = NEW_PASSWORD
    assert cli(settings, "users", "enable", "js").exit_code == 0
    login("js", NEW_PASSWORD)
    weak = cli(settings, "users", "passwd", "js", "--password", "password")
    assert weak.exit_code == 2 and "容易被猜到" in weak.output
    missing = cli(settings, "users", "passwd", "nobody", "--password", NEW_PASSWORD)
    assert missing.exit_code == 2 and "用户不存在" in missing.output
    with session_scope(settings.database_url) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action.in_(
            ["password_change", "user_update", "session_revoked"]))).all()
        assert len(events) == 5 and {e.ip for e in events} == {"本机命令行"}


def test_assets_need_no_session(client):
    answer = client.get("/static/kaoping.css")
    assert answer.status_code == 200 and "set-cookie" not in answer.headers
    assert client.get("/static/no-such-file.css").status_code == 404
