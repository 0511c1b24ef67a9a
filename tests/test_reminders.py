"""Deadline reminders by e-mail (`kaoping remind`), against an SMTP sink on 127.0.0.1: one mail per
user and run with every deadline now owed, each (user, deadline, threshold) once however often the
command runs, a refused mail retried next run, nothing at all without an address or a mail server.
Also: a unit typed in Chinese on the command line."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from evidence.db import get_engine
from evidence.models import AuditEvent, ReminderSent, Round, User
from review_ui.cli import main
from conftest import PASSWORD
from smtp_sink import smtp_sink

TODAY = date(2024, 2, 20)


@pytest.fixture
def sink(monkeypatch):
    with smtp_sink() as server:
        monkeypatch.setenv("KAOPING_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("KAOPING_SMTP_PORT", str(server.port))
        monkeypatch.setenv("KAOPING_SMTP_STARTTLS", "0")
        monkeypatch.setenv("KAOPING_SMTP_FROM", "kaoping@127.0.0.1")
        yield server


@pytest.fixture
def cycle(settings, make_user):
    """A round whose self-assessment (and so evidence) is due in 5 days; js and sh have addresses, zj has none."""
    make_user("js", "province", unit="JS")
    make_user("sh", "province", unit="SH")
    make_user("zj", "province", unit="ZJ")
    with Session(get_engine(settings.database_url)) as session:
        for name, email in (("js", "js@127.0.0.1"), ("sh", "sh@127.0.0.1")):
            session.exec(select(User).where(User.username == name)).one().email = email
        session.add(Round(year=2023, indicator_version="2023", self_assessment_due=TODAY + timedelta(days=5),
                          spotcheck_due=TODAY + timedelta(days=40), review_due=TODAY + timedelta(days=150)))
        session.commit()
    return settings


def remind(settings, day: date, *extra):
    return CliRunner().invoke(main, ["--data-dir", str(settings.data_dir), "remind",
                                                     "--today", day.isoformat(), *extra])


def sent_rows(settings):
    with Session(get_engine(settings.database_url)) as session:
        return sorted((r.user_id, r.deadline, r.threshold) for r in session.exec(select(ReminderSent)))


def test_one_mail_per_user_with_every_deadline_owed_and_never_twice(cycle, sink):
    result = remind(cycle, TODAY, "--link", "https://kaoping.example.cn/")
    assert result.exit_code == 0, result.output + result.stderr
    assert "已发送 2 封提醒邮件（4 项截止事项）" in result.output
    assert sorted(m["to"][0] for m in sink.messages) == ["js@127.0.0.1", "sh@127.0.0.1"]  # zj has no address
    js = next(i for i, m in enumerate(sink.messages) if m["to"] == ["js@127.0.0.1"])
    message = sink.messages[js]["message"]
    assert message["Subject"] == "【考评】2023 年度截止提醒（2 项）"
    body = sink.body(js)
    assert "“上传 2023 年度证据”还剩 5 天截止（2024年2月25日）" in body
    assert "“提交 2023 年度自评报告和自评类别”还剩 5 天截止" in body
    assert "https://kaoping.example.cn/" in body
    assert [t for _, _, t in sent_rows(cycle)] == [7, 7, 7, 7]
    again = remind(cycle, TODAY)
    assert again.exit_code == 0 and "现在没有需要发送的提醒" in again.output and len(sink.messages) == 2
    with Session(get_engine(cycle.database_url)) as session:
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "remind")).all()) == 2


def test_each_threshold_once_and_once_more_when_overdue(cycle, sink):
    # days left → mails (js and sh): 5 → threshold 7; 4 → 7 again, none; 3 → 3; 2 → 3 again, none; 1 → 1;
    # 0 → 0; −1 → overdue; −4 → overdue again, none.
    days = {TODAY: 2, TODAY + timedelta(days=1): 0, TODAY + timedelta(days=2): 2, TODAY + timedelta(days=3): 0,
            TODAY + timedelta(days=4): 2, TODAY + timedelta(days=5): 2, TODAY + timedelta(days=6): 2,
            TODAY + timedelta(days=9): 0}
    for day, mails in days.items():
        before = len(sink.messages)
        assert remind(cycle, day).exit_code == 0
        assert len(sink.messages) - before == mails, day
    assert "已于 2024年2月25日截止，尚未完成" in sink.body(-1)
    assert sorted({t for _, _, t in sent_rows(cycle)}) == [-1, 0, 1, 3, 7]


def test_a_refused_mail_is_not_recorded_and_goes_out_next_run(cycle, sink):
    sink.refuse.add("sh@127.0.0.1")
    result = remind(cycle, TODAY)
    assert result.exit_code == 2 and "未发送" in result.stderr and "拒收" in result.stderr
    assert [m["to"] for m in sink.messages] == [["js@127.0.0.1"]]
    assert len(sent_rows(cycle)) == 2  # js's two deadlines only
    sink.refuse.clear()
    assert remind(cycle, TODAY).exit_code == 0
    assert [m["to"] for m in sink.messages] == [["js@127.0.0.1"], ["sh@127.0.0.1"]]


def test_done_work_and_inactive_users_get_no_mail(cycle, sink, add_evidence):
    add_evidence("JS", "通知.txt", "江苏省召开产业工人队伍建设改革推进会，总结交流经验。")
    with Session(get_engine(cycle.database_url)) as session:
        session.exec(select(User).where(User.username == "sh")).one().active = False
        session.commit()
    assert remind(cycle, TODAY).exit_code == 0
    [mail] = sink.messages
    assert "上传" not in sink.body(0) and "自评" in sink.body(0)  # js uploaded; sh is switched off


def test_without_a_mail_server_it_says_what_to_set_and_a_dry_run_lists(cycle, monkeypatch):
    monkeypatch.delenv("KAOPING_SMTP_HOST", raising=False)
    result = remind(cycle, TODAY)
    assert result.exit_code == 2 and "KAOPING_SMTP_HOST" in result.stderr and "工作台内的提醒照常显示" in result.stderr
    dry = remind(cycle, TODAY, "--dry-run")
    assert dry.exit_code == 0 and "应发送 2 封提醒邮件（试运行，未发送）" in dry.output and "还剩 5 天" in dry.output
    assert sent_rows(cycle) == []


def test_an_unreachable_server_is_explained_and_nothing_is_recorded(cycle, monkeypatch):
    from smtp_sink import SmtpSink
    closed = SmtpSink()
    port = closed.port
    closed.server_close()  # nothing listens there now
    monkeypatch.setenv("KAOPING_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KAOPING_SMTP_PORT", str(port))
    monkeypatch.setenv("KAOPING_SMTP_STARTTLS", "0")
    result = remind(cycle, TODAY)
    assert result.exit_code == 2 and "无法连接邮件服务器" in result.stderr
    assert sent_rows(cycle) == []


def test_users_email_is_validated_and_audited(settings, make_user):
    make_user("js", "province", unit="JS")
    run = CliRunner().invoke
    bad = run(main, ["--data-dir", str(settings.data_dir), "users", "email", "js", "不是地址"])
    assert bad.exit_code == 2 and "电子邮箱格式不对" in bad.stderr
    ok = run(main, ["--data-dir", str(settings.data_dir), "users", "email", "js", "js@example.cn"])
    assert ok.exit_code == 0
    users = json.loads(run(main, ["--data-dir", str(settings.data_dir), "users", "list", "--json"]).output)
    assert users[0]["email"] == "js@example.cn"


def test_a_unit_may_be_typed_by_its_chinese_name_on_the_command_line(settings):
    run = CliRunner().invoke
    data = ["--data-dir", str(settings.data_dir)]
    added = run(main, [*data, "users", "add", "su", "--role", "province", "--unit", "江苏", "--password", PASSWORD])
    assert added.exit_code == 0 and "省级填报人员" in added.output
    users = json.loads(run(main, [*data, "users", "list", "--json"]).output)
    assert users[0]["unit"] == "JS"
    unknown = run(main, [*data, "users", "add", "x", "--role", "province", "--unit", "火星", "--password", PASSWORD])
    assert unknown.exit_code == 2 and "未知单位：火星" in unknown.stderr
