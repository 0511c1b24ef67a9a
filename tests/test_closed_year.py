"""Once the office ends a year's round, every form of that year is read-only for everyone and says why
(本年度评估已结束), and the server refuses every edit with the same words: self-assessment, ratings,
assignments, spot-check, categories, settings, evidence and its corrections, statistics. Reopening needs
a reason; then the year can change again."""
from __future__ import annotations

import io

import pytest
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import (Assignment, AuditEvent, Document, DocumentVersion, Passage, Rating, Round,
                             SelfAssessment, User)
from review import assign as A
from review.ratings import system_for_year
from round_support import add_round

YEAR = 2023
CLOSED = "本年度评估已结束"
TEXT = ("江苏省产业工人队伍建设改革工作总结\n\n一、顶层设计\n省“十四五”规划纲要设专门段落部署产业工人队伍建设改革，"
        "明确目标任务和牵头责任单位。\n\n二、专项方案\n省委办公厅、省政府办公厅印发产改实施方案。")


@pytest.fixture
def year(settings, make_user, login, add_evidence):
    add_round(settings, YEAR)
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    make_user("r1", "reviewer", home="BJ")
    make_user("r2", "reviewer", home="SH")
    doc = add_evidence("JS", "总结.txt", TEXT)
    office, js, r1 = login("office"), login("js"), login("r1")
    with session_scope(settings.database_url) as s:
        users = {u.username: u for u in s.exec(select(User))}
        rated = {i.no for i in system_for_year(YEAR).rated_indicators()}
        A.assign(s, users["office"], YEAR, users["r1"], "JS", [1, 2], rated)
        passage = s.exec(select(Passage).join(Document, Document.current_version_id == Passage.version_id)
                         .where(Document.id == doc)).first()
        s.commit()
        passage_key = f"{passage.id}:{passage.start}:{passage.end}"
    # Work done while the year was open: a draft self-assessment and a draft rating.
    assert js.post(f"/self-assessment/{YEAR}", data={"csrf_token": js.csrf, "report": "初稿", "action": "save"},
                   follow_redirects=False).status_code == 303
    assert r1.post(f"/scoring/{YEAR}/JS/1/save", data={"csrf_token": r1.csrf, "level": "3", "rationale": "初评",
                                                        "base_revision": "0"}, follow_redirects=False).status_code == 303
    closed = office.post(f"/rounds/{YEAR}/close", data={"csrf_token": office.csrf}, follow_redirects=False)
    assert closed.status_code == 303
    return {"office": office, "js": js, "r1": r1, "doc": doc, "key": passage_key, "db": settings.database_url}


def test_closing_is_the_offices_audited_act(year):
    with session_scope(year["db"]) as s:
        assert s.exec(select(Round.status).where(Round.year == YEAR)).one() == "closed"
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "round")).all()[-1]
        assert event.detail == {"closed": True}
    assert year["js"].post(f"/rounds/{YEAR}/close", data={"csrf_token": year["js"].csrf}).status_code == 403
    dashboard = year["office"].get(f"/rounds/{YEAR}").text
    assert CLOSED in dashboard and f'action="/rounds/{YEAR}/reopen"' in dashboard
    assert "计算并认定类别</button>" not in dashboard and "保存设置</button>" not in dashboard
    assert dashboard.count('<fieldset class="plain" disabled>') == 2 and "退回自评" not in dashboard


def test_every_form_of_the_year_is_read_only_and_says_why(year):
    js, r1, office = year["js"], year["r1"], year["office"]
    form = js.get(f"/self-assessment?year={YEAR}").text
    assert CLOSED in form and "<fieldset disabled>" in form and "保存草稿</button>" not in form
    assert "hx-post" not in form.split('id="self-form"')[1].split(">")[0]  # no autosave either
    screen = r1.get(f"/scoring/{YEAR}/JS/1").text
    assert CLOSED in screen and '<fieldset class="plain" disabled>' in screen
    assert "提交评分</button>" not in screen and "保存草稿</button>" not in screen and "初评" in screen
    assignments = office.get(f"/admin/assignments?year={YEAR}").text
    assert CLOSED in assignments and '<fieldset class="plain" disabled>' in assignments
    assert "取消该单位分配" not in assignments
    viewer = js.get(f"/evidence/{year['doc']}").text
    assert CLOSED in viewer and "更正文件信息" not in viewer and 'id="withdraw"' not in viewer
    spotcheck = office.get(f"/rounds/{YEAR}/spotcheck").text
    assert CLOSED in spotcheck and "生成抽查名单</button>" not in spotcheck
    statistics = office.get(f"/rounds/{YEAR}/statistics/JS").text
    assert CLOSED in statistics and "更正（须写理由）" not in statistics


def test_the_server_refuses_every_edit_with_the_same_words(year):
    js, r1, office, db = year["js"], year["r1"], year["office"], year["db"]

    def refused(response, status=400):
        assert response.status_code == status and CLOSED in response.text, (response.status_code, response.text[:500])

    refused(js.post(f"/self-assessment/{YEAR}", data={"csrf_token": js.csrf, "report": "改了", "action": "save"}))
    auto = js.post(f"/self-assessment/{YEAR}/autosave", data={"csrf_token": js.csrf, "report": "自动保存"})
    assert CLOSED in auto.text
    refused(r1.post(f"/scoring/{YEAR}/JS/1/save", data={"csrf_token": r1.csrf, "level": "4", "rationale": "改评",
                                                         "base_revision": "1"}))
    refused(r1.post(f"/scoring/{YEAR}/JS/2/submit", data={"csrf_token": r1.csrf, "level": "4", "rationale": "新评",
                                                           "base_revision": "0", "link": [year["key"]]}))
    with session_scope(db) as s:
        reviewer = s.exec(select(User).where(User.username == "r2")).one()
    refused(office.post("/admin/assignments", data={"csrf_token": office.csrf, "year": str(YEAR),
                                                    "reviewer_id": str(reviewer.id), "unit": "JS", "indicators": "1"}))
    with session_scope(db) as s:
        r1_id = s.exec(select(User.id).where(User.username == "r1")).one()
    refused(office.post("/admin/assignments/remove", data={"csrf_token": office.csrf, "year": str(YEAR),
                                                           "reviewer_id": str(r1_id), "unit": "JS"}))
    refused(js.post(f"/evidence/{year['doc']}/metadata", data={"csrf_token": js.csrf, "title": "新标题"}), 403)
    refused(js.post(f"/evidence/{year['doc']}/withdraw", data={"csrf_token": js.csrf, "reason": "重复"}), 403)
    refused(office.post("/evidence/upload", data={"csrf_token": office.csrf, "year": str(YEAR), "unit": "JS"},
                        files=[("files", ("补充.txt", "补充材料".encode(), "text/plain"))]))
    for path, data in ((f"/rounds/{YEAR}/categories", {}), (f"/rounds/{YEAR}/settings", {"t_优秀": "80"}),
                       (f"/rounds/{YEAR}/spotcheck", {"action": "propose"}),
                       (f"/rounds/{YEAR}/statistics/JS/correct", {"indicator": "30", "measure": "x", "value": "1",
                                                                 "reason": "更正"})):
        page = office.post(path, data={"csrf_token": office.csrf, **data})
        assert CLOSED in page.text or "已结束" in page.text, path
    with session_scope(db) as s:  # nothing changed
        sa = s.exec(select(SelfAssessment)).one()
        rating = s.exec(select(Rating)).one()
        assert sa.report == "初稿" and (rating.level_value, rating.rationale) == (3, "初评")
        assert len(s.exec(select(Assignment)).all()) == 2 and len(s.exec(select(Document)).all()) == 1
        assert s.get(Document, year["doc"]).status == "active"
        assert s.exec(select(Round.category_thresholds).where(Round.year == YEAR)).one()["优秀"] == 90


def test_a_conflict_declared_later_does_not_cancel_a_closed_years_assignments(year):
    with session_scope(year["db"]) as s:
        users = {u.username: u for u in s.exec(select(User))}
        A.declare_conflict(s, users["office"], users["r1"], "JS", "亲属任职")
        s.commit()
        assert len(s.exec(select(Assignment).where(Assignment.year == YEAR)).all()) == 2


def test_reopening_needs_a_reason_and_then_the_year_can_change_again(year):
    office, js = year["office"], year["js"]
    no_reason = office.post(f"/rounds/{YEAR}/reopen", data={"csrf_token": office.csrf, "reason": " "})
    assert "必须写明理由" in no_reason.text
    reopened = office.post(f"/rounds/{YEAR}/reopen", data={"csrf_token": office.csrf, "reason": "协调小组同意补正"})
    assert reopened.status_code == 200 and "已重新开放" in reopened.text
    form = js.get(f"/self-assessment?year={YEAR}").text
    assert CLOSED not in form and "保存草稿</button>" in form
    saved = js.post(f"/self-assessment/{YEAR}", data={"csrf_token": js.csrf, "report": "补正", "action": "save"},
                    follow_redirects=False)
    assert saved.status_code == 303
    with session_scope(year["db"]) as s:
        assert s.exec(select(SelfAssessment.report)).one() == "补正"
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "round")).all()[-1].detail == {
            "reopened": True, "reason": "协调小组同意补正"}
