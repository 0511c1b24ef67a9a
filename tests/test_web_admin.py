"""Office administration: user accounts and the audit log with its Excel-friendly CSV."""
from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import Session, select

from evidence.db import get_engine
from evidence.models import AuditEvent, User


@pytest.fixture
def office(make_user, login):
    make_user("office", "office")
    return login("office")


def test_office_adds_a_user_who_can_then_log_in(settings, office, login):
    response = office.post("/admin/users", data={
        "csrf_token": office.csrf, "username": "zj-staff", "display_name": "浙江填报员", "password": "secret-pass-1",
        "role": "province", "unit": "ZJ"}, follow_redirects=True)
    assert response.status_code == 200 and "用户已创建" in response.text and "浙江填报员" in response.text
    with Session(get_engine(settings.database_url)) as session:
        user = session.exec(select(User).where(User.username == "zj-staff")).one()
        assert (user.role, user.unit_code) == ("province", "ZJ")
        assert user.password_hash != "secret-pass-1"
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "user_add")).one().object_id == str(user.id)
    assert "浙江填报员" in login("zj-staff", "secret-pass-1").get("/").text


def test_invalid_user_is_refused_with_the_reason(settings, office):
    response = office.post("/admin/users", data={
        "csrf_token": office.csrf, "username": "nobody", "password": "secret-pass-1", "role": "province"})
    assert response.status_code == 400 and "必须绑定一个单位" in response.text
    with Session(get_engine(settings.database_url)) as session:
        assert session.exec(select(User).where(User.username == "nobody")).first() is None


def test_a_refused_new_user_keeps_what_was_typed_and_says_the_password_must_be_typed_again(settings, office):
    response = office.post("/admin/users", data={
        "csrf_token": office.csrf, "username": "gd1", "display_name": "广东省产改办", "password": "Lingnan-evidence-77",
        "role": "province", "email": "gd@example.cn", "home_unit": ""})
    assert response.status_code == 400
    assert "--unit" not in response.text and "请指定其所属单位" in response.text  # no command-line flag on a page
    assert 'value="gd1"' in response.text and 'value="广东省产改办"' in response.text and 'value="gd@example.cn"' in response.text
    assert '<option value="province" selected' in response.text
    assert "Lingnan-evidence-77" not in response.text and "密码不会保留，请重新输入" in response.text


def test_the_command_line_adds_which_option_sets_the_refused_field(tmp_path):
    from click.testing import CliRunner

    from review_ui.cli import main
    data = str(tmp_path / "d")
    CliRunner().invoke(main, ["--data-dir", data, "init"])
    result = CliRunner().invoke(main, ["--data-dir", data, "users", "add", "p", "--role", "province",
                                       "--password", "Lingnan-evidence-77"])
    assert result.exit_code == 2 and "必须绑定一个单位" in result.output and "--unit" in result.output


def test_a_users_role_and_password_are_changed_on_its_own_page(settings, office, make_user):
    target = make_user("r1", "reviewer")
    listing = office.get("/admin/users").text
    assert f'href="/admin/users/{target.id}"' in listing and "<details" not in listing
    page = office.get(f"/admin/users/{target.id}")
    assert page.status_code == 200 and "修改用户" in page.text and "设置新密码" in page.text
    refused = office.post(f"/admin/users/{target.id}/role", data={"csrf_token": office.csrf, "role": "province"})
    assert refused.status_code == 400 and "请指定其所属单位" in refused.text
    assert '<option value="province" selected' in refused.text  # the choice made is kept to complete
    weak = office.post(f"/admin/users/{target.id}/password", data={"csrf_token": office.csrf, "password": "12345678"})
    assert weak.status_code == 400 and "新密码未设置" in weak.text and "请重新输入" in weak.text


def test_the_session_count_shows_only_sessions_that_still_open_pages(settings, office, make_user, login):
    from datetime import timedelta

    from evidence.models import WebSession, utcnow
    target = make_user("js", "province", unit="JS")
    for _ in range(3):
        login("js")
    with Session(get_engine(settings.database_url)) as session:
        first, second, _third = session.exec(select(WebSession).where(WebSession.user_id == target.id)
                                             .order_by(WebSession.id)).all()
        first.last_seen_at = utcnow() - timedelta(hours=3)  # a browser closed hours ago: idle past its lifetime
        second.ended_at, second.end_reason = utcnow(), "logout"
        session.commit()
    listing = office.get("/admin/users").text
    assert f'/admin/users/{target.id}/sessions">1 个会话' in listing and "闲置满 120 分钟" in listing


def test_deactivated_user_cannot_log_in_until_reactivated(settings, office, make_user, login):
    target = make_user("expert", "reviewer", home="SH")
    url = f"/admin/users/{target.id}/active"
    assert office.post(url, data={"csrf_token": office.csrf, "active": "0"}, follow_redirects=False).status_code == 303
    with Session(get_engine(settings.database_url)) as session:
        assert session.get(User, target.id).active is False
    with pytest.raises(AssertionError):
        login("expert")
    office.post(url, data={"csrf_token": office.csrf, "active": "1"})
    assert login("expert").get("/").status_code == 200


def test_only_the_office_reaches_admin_pages(make_user, login):
    make_user("js", "province", unit="JS")
    make_user("expert", "reviewer")
    for username in ("js", "expert"):
        client = login(username)
        for url in ("/admin/users", "/admin/audit", "/admin/audit.csv"):
            response = client.get(url)
            assert response.status_code == 403 and "无权" in response.text, (username, url)
        refused = client.post("/admin/users", data={"csrf_token": client.csrf, "username": "x", "password": "12345678",
                                                    "role": "office"})
        assert refused.status_code == 403


def test_audit_log_lists_and_filters_the_actions(settings, office, make_user, login, add_evidence):
    make_user("js", "province", unit="JS")
    js = login("js")
    doc_id = add_evidence("JS", "通知.txt", "江苏省建设工匠学院，开展职业技能竞赛。")
    js.post(f"/evidence/{doc_id}/withdraw", data={"csrf_token": js.csrf, "reason": "重复上传"})
    page = office.get("/admin/audit").text
    assert "上传证据" in page and "撤回证据" in page and "登录" in page
    assert "重复上传" in page
    only = office.get("/admin/audit", params={"action": "withdraw"}).text
    assert "撤回证据" in only and "上传证据</td>" not in only
    by_user = office.get("/admin/audit", params={"user": "js", "action": "login"}).text
    assert "<td>js</td>" in by_user and "<td>office</td>" not in by_user


def test_audit_csv_has_a_bom_and_neutralises_formulas(settings, office, make_user, login, add_evidence):
    make_user("=1+1", "province", unit="JS")  # a cell Excel would otherwise evaluate
    js = login("=1+1")
    doc_id = add_evidence("JS", "通知.txt", "江苏省建设工匠学院，开展职业技能竞赛。")
    js.post(f"/evidence/{doc_id}/withdraw", data={"csrf_token": js.csrf, "reason": "重复上传"})
    response = office.get("/admin/audit.csv")
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["编号", "时间（北京时间）", "用户", "操作"]  # local time, as on the page
    actions = [r[3] for r in rows[1:]]
    assert "撤回证据" in actions and "登录" in actions
    withdraw = next(r for r in rows[1:] if r[4] == "withdraw")
    assert withdraw[2] == "'=1+1" and "重复上传" in withdraw[7]
