"""Every audited change carries where it came from, and final records stay final: an approved spot-check list
is not approved again, and every change to a category decision or a collection keeps its old and new values."""
from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import PASSWORD, csrf_from
from evidence.audit import COMMAND_LINE
from evidence.db import session_scope
from evidence.models import AuditEvent, CategoryDecision, Collection, CollectionEntry, Document, Passage
from rounds import workflow as R

ADDRESS = "192.0.2.77"
TEXT = "江苏省召开产改推进会，省委书记主持会议，部署产业工人队伍建设改革重点任务。"


def browser(app, username: str) -> TestClient:
    client = TestClient(app, client=(ADDRESS, 4321))
    client.__enter__()
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    client.csrf = csrf_from(client.get("/").text)
    return client


def test_every_change_made_through_the_web_records_the_clients_address(app, settings, make_user, add_evidence):
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    reviewer = make_user("r1", "reviewer")
    doc = add_evidence("JS", "推进会.txt", TEXT)
    with session_scope(settings.database_url) as session:
        before = session.exec(select(AuditEvent.id).order_by(AuditEvent.id.desc())).first() or 0
        passage = session.exec(select(Passage)).first()
    office, js = browser(app, "office"), browser(app, "js")
    csrf = {"csrf_token": office.csrf}
    office.post("/rounds", data={**csrf, "year": "2030"})  # a round whose deadlines are ahead
    office.post("/admin/assignments", data={**csrf, "year": "2030", "reviewer_id": reviewer.id, "unit": "JS",
                                            "indicators": "4"})
    office.post(f"/evidence/{doc}/tags", data={**csrf, "indicator_no": "4", "decision": "confirm"})
    office.post("/collections", data={**csrf, "title": "汇编", "year": "2023"})
    office.post("/collections/1", data={**csrf, "title": "新标题", "preface": "", "revision": "1"})
    office.post("/collections/1/add", data={**csrf, "passage_id": passage.id})
    office.post("/rounds/2030/spotcheck", data={**csrf, "action": "propose", "seed": "7"})
    office.post("/admin/users", data={**csrf, "username": "sh", "role": "province", "unit": "SH",
                                      "password": "Kp-evidence-2024"})
    js.post("/evidence/upload", data={"csrf_token": js.csrf, "year": "2030"},
            files=[("files", ("新材料.txt", TEXT.encode(), "text/plain"))])
    js.post(f"/evidence/{doc}/withdraw", data={"csrf_token": js.csrf, "reason": "重复"})
    js.post("/logout", data={"csrf_token": js.csrf})
    for client in (office, js):
        client.__exit__(None, None, None)
    with session_scope(settings.database_url) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.id > before)).all()
    actions = {e.action for e in events}
    assert {"login", "round", "assign", "tag_confirm", "collection", "spotcheck", "user_add", "upload", "withdraw",
            "logout"} <= actions
    assert {(e.action, e.ip) for e in events if e.ip != ADDRESS} == set()


def test_changes_made_at_the_command_line_say_so(settings):
    from review_ui.cli import main
    result = CliRunner().invoke(main, ["--data-dir", str(settings.data_dir), "users", "add", "boss", "--role", "office",
                                       "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    with session_scope(settings.database_url) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "user_add")).one()
    assert event.ip == COMMAND_LINE


# ── final records ───────────────────────────────────────────────────────────

def test_an_approved_spotcheck_list_is_not_approved_again(db_session, make_user):
    office = make_user("office", "office")
    R.create_round(db_session, 2023, office)
    sc = R.propose_spotcheck(db_session, office, 2023, seed=1)
    R.approve_spotcheck(db_session, office, sc, date(2024, 3, 1), "协调小组第1次会议")
    db_session.commit()
    with pytest.raises(R.RoundError, match="不能再次审定"):
        R.approve_spotcheck(db_session, office, sc, date(2024, 5, 1), "另一次会议")
    db_session.rollback()
    assert (sc.approved_at, sc.approval_meeting) == (date(2024, 3, 1), "协调小组第1次会议")


def test_the_web_refuses_a_second_approval(make_user, login, settings):
    make_user("office", "office")
    office = login("office")
    office.post("/rounds", data={"csrf_token": office.csrf, "year": "2023"})
    office.post("/rounds/2023/spotcheck", data={"csrf_token": office.csrf, "action": "propose", "seed": "3"})
    office.post("/rounds/2023/spotcheck", data={"csrf_token": office.csrf, "action": "approve",
                                                "approved_at": "2024-03-01", "meeting": "第1次会议"})
    again = office.post("/rounds/2023/spotcheck", data={"csrf_token": office.csrf, "action": "approve",
                                                        "approved_at": "2024-06-01", "meeting": "第9次会议"})
    assert "不能再次审定" in again.text
    with session_scope(settings.database_url) as session:
        approvals = [e for e in session.exec(select(AuditEvent).where(AuditEvent.action == "spotcheck"))
                     if "meeting" in e.detail]
    assert [e.detail["meeting"] for e in approvals] == ["第1次会议"]


def test_a_new_reason_for_the_same_category_is_audited_with_old_and_new(db_session, make_user):
    office = make_user("office", "office")
    R.create_round(db_session, 2023, office)
    R.decide_categories(db_session, office, 2023, {"JS": "良好"}, note="材料充分")
    db_session.commit()
    R.decide_categories(db_session, office, 2023, {"JS": "良好"}, note="经复核，改为依据第二次会议")
    db_session.commit()
    R.decide_categories(db_session, office, 2023, {"JS": "良好"}, note="经复核，改为依据第二次会议")  # no change
    db_session.commit()
    events = db_session.exec(select(AuditEvent).where(AuditEvent.action == "category",
                                                      AuditEvent.object_id == "JS")).all()
    assert len(events) == 2
    first, second = events
    assert first.detail["old"] is None and first.detail["new"]["category"] == "良好"
    assert second.detail["old"]["category"] == second.detail["new"]["category"] == "良好"
    assert "材料充分" in second.detail["old"]["note"] and "第二次会议" in second.detail["new"]["note"]
    assert db_session.exec(select(CategoryDecision)).one().note == second.detail["new"]["note"]


def test_collection_title_and_entry_edits_keep_old_and_new(settings, make_user, login, add_evidence):
    make_user("office", "office")
    add_evidence("JS", "推进会.txt", TEXT)
    office = login("office")
    office.post("/collections", data={"csrf_token": office.csrf, "title": "初稿标题", "year": "2023"})
    office.post("/collections/1", data={"csrf_token": office.csrf, "title": "定稿标题", "preface": "前言",
                                        "revision": "1"})
    with session_scope(settings.database_url) as session:
        passage = session.exec(select(Passage)).first()
    office.post("/collections/1/add", data={"csrf_token": office.csrf, "passage_id": passage.id})
    with session_scope(settings.database_url) as session:
        entry = session.exec(select(CollectionEntry)).one()
        revision = session.get(Collection, 1).revision
    office.post("/collections/1", data={"csrf_token": office.csrf, "title": "定稿标题", "preface": "前言",
                                        "entry": entry.id, f"case_title-{entry.id}": "书记抓产改",
                                        f"summary-{entry.id}": entry.summary, f"section-{entry.id}": "",
                                        f"status-{entry.id}": entry.status, "revision": str(revision)})
    with session_scope(settings.database_url) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "collection")).all()
    meta = next(e for e in events if e.detail.get("meta"))
    assert meta.detail["old"] == {"title": "初稿标题", "preface": ""} and meta.detail["new"] == {"title": "定稿标题",
                                                                                              "preface": "前言"}
    edit = next(e for e in events if e.detail.get("entry_updated"))
    assert edit.detail["old"] == {"case_title": entry.case_title} and edit.detail["new"] == {"case_title": "书记抓产改"}
    with session_scope(settings.database_url) as session:
        assert session.exec(select(Document)).first() is not None
