"""Findings of the second outside security review that are about what a page lets one learn or keep:
a province does not see reviewers' verdicts, a second login ends the first session, a wrong current
password is on record, the collection form is no oracle for passage ids, and nothing a logged-in user
sees is kept by a cache."""
from __future__ import annotations

from sqlmodel import select

from evidence.db import session_scope
from evidence.models import AuditEvent, Collection, DocumentVersion, Passage, TagDecision, WebSession

NOTICE = ("江苏省总工会关于建设工匠学院的通知\n\n苏工发〔2023〕12号\n\n"
          "为深化产业工人队伍建设改革，省总工会决定在全省建设工匠学院，开展职业技能竞赛和技能培训，"
          "推动产业工人技能提升。各市总工会要加强组织领导，落实经费保障。")


def _passages(settings, doc_id: int) -> list[Passage]:
    with session_scope(settings.database_url) as session:
        return session.exec(select(Passage).join(DocumentVersion, DocumentVersion.id == Passage.version_id)
                            .where(DocumentVersion.document_id == doc_id).order_by(Passage.seq)).all()


def test_a_province_sees_the_machines_suggestions_but_not_reviewers_verdicts(settings, make_user, login,
                                                                            add_evidence):
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    doc_id = add_evidence("JS", "通知.txt", NOTICE)
    passage = _passages(settings, doc_id)[-1]
    office = login("office")
    for no, decision in ((12, "reject"), (41, "confirm")):  # 41: an indicator the machine did not suggest
        r = office.post(f"/evidence/{doc_id}/tags", data={"csrf_token": office.csrf, "indicator_no": str(no),
                                                           "decision": decision, "passage_id": str(passage.id)})
        assert r.status_code in (200, 303)
    with session_scope(settings.database_url) as session:
        assert len(session.exec(select(TagDecision)).all()) == 2
    url = f"/evidence/{doc_id}?passage={passage.id}"
    seen_by_office = office.get(url).text
    assert "已否决" in seen_by_office and "已确认" in seen_by_office and "人工添加" in seen_by_office
    seen_by_province = login("js").get(url).text
    assert "已否决" not in seen_by_province and "已确认" not in seen_by_province
    assert "人工添加" not in seen_by_province  # an indicator a reviewer added is a verdict too
    assert "建议" in seen_by_province or "候选" in seen_by_province  # the machine's suggestions stay


def test_logging_in_again_in_the_same_browser_ends_the_previous_session(settings, app, make_user, login):
    from fastapi.testclient import TestClient

    from conftest import PASSWORD, csrf_from
    user = make_user("js", "province", unit="JS")
    browser = login("js")
    first = browser.cookies.get("kaoping_session")
    token = csrf_from(browser.get("/login").text)
    r = browser.post("/login", data={"username": "js", "password": PASSWORD, "csrf_token": token, "next": "/"},
                     follow_redirects=False)
    assert r.status_code == 303 and browser.cookies.get("kaoping_session") != first
    with session_scope(settings.database_url) as session:
        rows = session.exec(select(WebSession).where(WebSession.user_id == user.id).order_by(WebSession.id)).all()
    assert [row.end_reason for row in rows] == ["relogin", ""] and rows[1].ended_at is None
    with TestClient(app, follow_redirects=False) as copy:  # the first cookie, copied before, opens nothing
        copy.cookies.set("kaoping_session", first)
        assert copy.get("/evidence").status_code == 303
    assert browser.get("/evidence").status_code == 200


def test_a_wrong_current_password_is_audited(settings, make_user, login):
    make_user("js", "province", unit="JS")
    client = login("js")
    r = client.post("/account/password", data={"csrf_token": client.csrf, "current": "not-my-password",
                                               "password": "lanterns-over-yangtze-7",
                                               "confirm": "lanterns-over-yangtze-7"})
    assert r.status_code == 400 and "当前密码不正确" in r.text
    with session_scope(settings.database_url) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "password_change_failed")).one()
    assert event.username == "js" and event.ip == "testclient" and "当前密码不正确" in event.detail["reason"]


def test_adding_a_passage_answers_alike_for_a_forbidden_and_a_missing_one(settings, make_user, login,
                                                                           add_evidence):
    make_user("office", "office")
    make_user("rev", "reviewer")
    doc_id = add_evidence("SH", "通知.txt", NOTICE)  # the reviewer is assigned nothing
    forbidden = _passages(settings, doc_id)[0].id
    office = login("office")
    r = office.post("/collections", data={"csrf_token": office.csrf, "title": "汇编", "year": "2023"},
                    follow_redirects=False)
    with session_scope(settings.database_url) as session:
        cid = session.exec(select(Collection)).one().id
    reviewer = login("rev")
    answers = []
    for passage_id in (forbidden, forbidden + 10_000, 0, -5, 2 ** 70):
        r = reviewer.post(f"/collections/{cid}/add", data={"csrf_token": reviewer.csrf, "passage_id": passage_id})
        answers.append((r.status_code, "证据不存在或您无权查看" in r.text))
    assert answers == [(404, True)] * len(answers), answers


def test_nothing_shown_to_a_logged_in_user_is_cached_but_assets_are(settings, make_user, login, add_evidence,
                                                                   client):
    make_user("office", "office")
    doc_id = add_evidence("JS", "通知.txt", NOTICE)
    office = login("office")
    for url in ("/", f"/evidence/{doc_id}", f"/evidence/{doc_id}/download", "/admin/audit",
                "/admin/audit.csv", "/account"):
        r = office.get(url)
        assert r.status_code == 200, url
        assert r.headers.get("cache-control") == "no-store", url
    asset = client.get("/static/kaoping.css")
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("cache-control", "")
