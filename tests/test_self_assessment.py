"""The province's self-assessment through the ASGI app — progress, autosave, problems by field, the
passage picker, confirmation before locking — and who may read a submitted one (office, assigned
reviewers not conflicted, the unit itself), on the scoring screen and the printable page."""
from __future__ import annotations

import io
import re
from datetime import date

import docx
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import (Assignment, AuditEvent, Conflict, EvidenceLink, Passage, Round, SelfAssessment, SelfAssessmentItem,
                             Document, User)
from review import assign as A
from rubrics.indicators import system_in_force

YEAR = 2023
SYSTEM = system_in_force(YEAR)
JS_TEXT = "江苏省工匠学院建设情况\n\n2023年，全省新建省级工匠学院8家，开展职业技能竞赛210场，培养高技能人才1.2万名。"
SH_TEXT = "上海市工匠学院建设情况\n\n2023年，上海新建工匠学院5家。"
SHARE_NO = 54  # 产业工人占比: its measures are shares (%)


def _round(settings, year=YEAR, due=date(2099, 2, 28), demo=False):
    with session_scope(settings.database_url) as session:
        session.add(Round(year=year, indicator_version="2022.1", self_assessment_due=due, spotcheck_due=due,
                          review_due=due, category_thresholds={"优秀": 90, "良好": 75, "一般": 60}, is_demo=demo))
        session.commit()


def _measure(no: int) -> str:
    return SYSTEM.get(no).measures[0].key


def _hx(client, path, **data):
    return client.post(path, data={"csrf_token": client.csrf, **data}, headers={"HX-Request": "true"})


def _passages(settings, doc_id):
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, doc_id)
        return [p.id for p in session.exec(select(Passage).where(Passage.version_id == doc.current_version_id)
                                            .order_by(Passage.seq))]


def _stored(settings):
    with session_scope(settings.database_url) as session:
        sa = session.exec(select(SelfAssessment)).first()
        items = {i.indicator_no: i for i in session.exec(select(SelfAssessmentItem))} if sa else {}
        return sa, items


# ── the form ────────────────────────────────────────────────────────────────

def test_progress_counts_what_the_unit_owes_by_section():
    from rounds.self_assessment import progress
    empty = progress(SYSTEM, {})
    surveys = [i.no for i in SYSTEM.indicators if i.source == "survey"]
    assert empty.filled == 0 and empty.owed == len(SYSTEM.indicators) - len(surveys) and empty.survey_nos == surveys
    assert [s.name for s in empty.sections] == [l1.name for l1 in SYSTEM.level1]
    rated = SYSTEM.get(4)
    measured = next(i for i in SYSTEM.indicators if i.kind == "quantitative" and i.source != "survey")
    mixed = next(i for i in SYSTEM.indicators if i.kind == "mixed")
    items = {
        4: SelfAssessmentItem(indicator_no=4, level_value=rated.level_values[0]),
        measured.no: SelfAssessmentItem(indicator_no=measured.no, values={
            m.key: {"value": 1.0} for m in measured.measures}),
        mixed.no: SelfAssessmentItem(indicator_no=mixed.no, level_value=mixed.level_values[0]),  # values missing
    }
    now = progress(SYSTEM, items)
    assert now.filled == 2 and mixed.no in now.open_nos and 4 not in now.open_nos
    section = next(s for s in now.sections if s.no == rated.level1_no)
    assert section.open_nos[0] != 4 and section.filled >= 1


def test_autosave_stores_the_draft_and_answers_with_progress(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    js = login("js")
    page = js.get("/self-assessment").text
    assert 'hx-post="/self-assessment/2023/autosave"' in page and "已填 <strong>0</strong>" in page
    r = _hx(js, "/self-assessment/2023/autosave", level_4="4", narrative_4="省委书记主持专题会议", report="草稿")
    assert r.status_code == 200 and "已自动保存" in r.text
    assert 'id="sa-progress"' in r.text and 'hx-swap-oob="true"' in r.text and "已填 <strong>1</strong>" in r.text
    sa, items = _stored(settings)
    assert sa.status == "draft" and sa.report == "草稿" and items[4].level_value == 4
    assert items[4].narrative == "省委书记主持专题会议"
    # a narrative cleared is cleared (autosave sends the whole form), a level can be unset
    _hx(js, "/self-assessment/2023/autosave", level_4="", narrative_4="", report="草稿")
    sa, items = _stored(settings)
    assert items[4].level_value is None and items[4].narrative == ""


def test_a_save_that_changes_nothing_writes_nothing(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    js = login("js")
    for _ in range(3):
        _hx(js, "/self-assessment/2023/autosave", level_4="3", report="同一份草稿")
    with session_scope(settings.database_url) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "self_assessment")).all()
    assert len(events) == 1


def test_bad_values_are_shown_beside_their_fields_and_nothing_typed_is_lost(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    js = login("js")
    share = f"value_{SHARE_NO}_{_measure(SHARE_NO)}"
    count = f"value_53_{_measure(53)}"
    data = {"csrf_token": js.csrf, "report": "我省报告正文", "level_4": "4", "narrative_4": "写了很久的说明",
            share: "130", count: "一万", "action": "save"}
    r = js.post("/self-assessment/2023", data=data)
    assert r.status_code == 400
    assert re.search(rf'data-for="{share}">[^<]*比例，不能超过100%', r.text)
    assert re.search(rf'data-for="{count}">[^<]*应填写数字', r.text)
    assert f'name="{share}" size="10" inputmode="decimal" value="130"' in r.text  # typed values shown again
    assert f'name="{count}" size="10" inputmode="decimal" value="一万"' in r.text
    assert "写了很久的说明" in r.text and "我省报告正文" in r.text
    assert 'value="4" checked' in r.text
    assert _stored(settings)[0] is None  # nothing half-stored
    # autosave: the same rule, the problems by field for the page's script, nothing stored
    auto = _hx(js, "/self-assessment/2023/autosave", **{k: v for k, v in data.items() if k != "csrf_token"})
    assert "未能自动保存" in auto.text and f'data-field="{share}"' in auto.text and "已自动保存" not in auto.text
    assert _stored(settings)[0] is None
    # a negative count and a non-finite number are refused by the statistics rule too
    bad = js.post("/self-assessment/2023", data={**data, share: "35", count: "-3"})
    assert bad.status_code == 400 and "不能为负数" in bad.text
    nan = js.post("/self-assessment/2023", data={**data, share: "nan", count: "12"})
    assert nan.status_code == 400 and "应为有限的数字" in nan.text
    fixed = js.post("/self-assessment/2023", data={**data, share: "３５.５%", count: "1,200"}, follow_redirects=True)
    assert "已保存草稿" in fixed.text
    items = _stored(settings)[1]
    assert items[SHARE_NO].values[_measure(SHARE_NO)]["value"] == 35.5
    assert items[53].values[_measure(53)]["value"] == 1200


def test_a_text_too_long_is_refused_not_cut(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    js = login("js")
    long = "长" * 5001
    r = js.post("/self-assessment/2023", data={"csrf_token": js.csrf, "narrative_4": long, "report": "x"})
    assert r.status_code == 400 and "最多 5000 字" in r.text and long in r.text
    assert _stored(settings)[0] is None


def test_the_picker_searches_the_units_own_evidence_of_the_year(make_user, login, settings, add_evidence):
    _round(settings)
    make_user("js", "province", unit="JS")
    add_evidence("JS", "江苏工匠学院.txt", JS_TEXT)
    add_evidence("SH", "上海工匠学院.txt", SH_TEXT)
    add_evidence("JS", "江苏旧材料.txt", "2022年江苏省工匠学院筹建情况。", year=2022)
    js = login("js")
    hx = {"HX-Request": "true"}
    found = js.get("/self-assessment/2023/passages", params={"no": 41, "q": "工匠学院"}, headers=hx).text
    assert "江苏省工匠学院建设情况" in found and "第 1 页" in found and "<mark>工匠学院</mark>" in found
    assert "上海" not in found and "筹建" not in found
    assert "<html" not in found  # a fragment for htmx
    none = js.get("/self-assessment/2023/passages", params={"no": 41, "q": "不存在的词"}, headers=hx).text
    assert "没有找到“不存在的词”" in none
    suggested = js.get("/self-assessment/2023/passages", params={"no": 41}, headers=hx).text
    assert "江苏省工匠学院建设情况" in suggested and "上海" not in suggested
    page = js.get("/self-assessment/2023/passages", params={"no": 41, "q": "竞赛"})  # without script: a page
    assert "<html" in page.text and "返回 2023 年度自评" in page.text and "竞赛" in page.text


def test_the_picker_falls_back_to_the_database_without_an_index(settings, add_evidence):
    from review.links import passage_choices
    add_evidence("JS", "江苏工匠学院.txt", JS_TEXT)
    add_evidence("SH", "上海工匠学院.txt", SH_TEXT)
    with session_scope(settings.database_url) as session:
        choices, note = passage_choices(session, "JS", YEAR, "工匠 竞赛", index=None)
        assert choices and all(c.document.unit_code == "JS" for c in choices)
        assert all("工匠" in c.passage.text and "竞赛" in c.passage.text for c in choices)
        assert passage_choices(session, "JS", YEAR, "100%_", index=None)[0] == []  # LIKE wildcards are text


def test_linking_from_the_picker_and_removing(make_user, login, settings, add_evidence):
    _round(settings)
    make_user("js", "province", unit="JS")
    js_doc = add_evidence("JS", "江苏工匠学院.txt", JS_TEXT)
    sh_doc = add_evidence("SH", "上海工匠学院.txt", SH_TEXT)
    old_doc = add_evidence("JS", "江苏旧材料.txt", "2022年江苏省工匠学院筹建情况。", year=2022)
    mine, theirs, old = _passages(settings, js_doc)[-1], _passages(settings, sh_doc)[0], _passages(settings, old_doc)[0]
    js = login("js")
    r = _hx(js, "/self-assessment/2023/links", no="41", passage=str(mine))
    assert r.status_code == 200 and 'id="links-41"' in r.text and "已关联证据 1 处" in r.text
    assert f"/evidence/{js_doc}?page=1&passage={mine}" in r.text
    _hx(js, "/self-assessment/2023/links", no="41", passage=str(mine))  # twice: still once
    for foreign in (theirs, old):
        refused = _hx(js, "/self-assessment/2023/links", no="41", passage=str(foreign))
        assert refused.status_code == 400 and "只能关联本单位本年度的有效证据" in refused.text
    assert _hx(js, "/self-assessment/2023/links", no="41", passage="abc").status_code == 400
    with session_scope(settings.database_url) as session:
        links = session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "self_item")).all()
        assert [link.passage_id for link in links] == [mine]
        link_id = links[0].id
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "self_assessment")).first()
    removed = _hx(js, "/self-assessment/2023/autosave", report="", unlink=str(link_id))
    assert "已自动保存" in removed.text and 'id="links-41" hx-swap-oob="true"' in removed.text
    with session_scope(settings.database_url) as session:
        assert not session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "self_item")).all()


def test_another_units_link_cannot_be_removed(make_user, login, settings, add_evidence):
    _round(settings)
    make_user("js", "province", unit="JS")
    make_user("sh", "province", unit="SH")
    doc = add_evidence("SH", "上海工匠学院.txt", SH_TEXT)
    sh = login("sh")
    _hx(sh, "/self-assessment/2023/links", no="41", passage=str(_passages(settings, doc)[0]))
    with session_scope(settings.database_url) as session:
        link_id = session.exec(select(EvidenceLink)).one().id
    js = login("js")
    _hx(js, "/self-assessment/2023/autosave", report="江苏", unlink=str(link_id))
    with session_scope(settings.database_url) as session:
        assert session.get(EvidenceLink, link_id) is not None


def test_locking_needs_a_confirmation_of_what_is_shown(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    js = login("js")
    r = js.post("/self-assessment/2023", data={"csrf_token": js.csrf, "action": "review", "report": "",
                                                "level_4": "4"}, follow_redirects=True)
    assert "还不能提交" in r.text and "尚未选择自评类别" in r.text and "确认提交并锁定" not in r.text
    r = js.post("/self-assessment/2023", data={"csrf_token": js.csrf, "action": "review", "report": "报告",
                                                "self_category": "良好", "level_4": "4"}, follow_redirects=True)
    assert "确认提交并锁定" in r.text and "已填 1 / " in r.text and "未填：" in r.text
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', r.text).group(1)
    _hx(js, "/self-assessment/2023/autosave", report="报告（另一窗口改过）", self_category="良好", level_4="4")
    stale = js.post("/self-assessment/2023/submit", data={"csrf_token": js.csrf, "fingerprint": fingerprint},
                    follow_redirects=True)
    assert "重新确认" in stale.text and _stored(settings)[0].status == "draft"
    fresh = re.search(r'name="fingerprint" value="([0-9a-f]+)"', stale.text).group(1)
    done = js.post("/self-assessment/2023/submit", data={"csrf_token": js.csrf, "fingerprint": fresh},
                   follow_redirects=True)
    assert "自评已提交并锁定" in done.text and "<fieldset disabled>" in done.text and "hx-post" not in done.text.split(
        'id="self-form"')[1].split(">")[0]
    assert _stored(settings)[0].status == "submitted"
    after = _hx(js, "/self-assessment/2023/autosave", report="锁定后再改")
    assert "已提交并锁定" in after.text and _stored(settings)[0].report == "报告（另一窗口改过）"


def test_only_the_province_fills_its_form(make_user, login, settings):
    _round(settings)
    make_user("office", "office")
    make_user("rev", "reviewer")
    for name in ("office", "rev"):
        c = login(name)
        assert c.get("/self-assessment").status_code == 403
        assert _hx(c, "/self-assessment/2023/autosave", report="x").status_code == 403
        assert _hx(c, "/self-assessment/2023/links", no="4", passage="1").status_code == 403


# ── reading it where decisions are made ─────────────────────────────────────

def _submitted(settings, login, add_evidence, unit="JS", demo=False):
    """A submitted self-assessment of `unit` with indicator 4 claimed at level 4, a narrative and a link."""
    _round(settings, demo=demo)
    doc = add_evidence(unit, "工匠学院.txt", JS_TEXT)
    passage = _passages(settings, doc)[-1]
    c = login(unit.lower())
    _hx(c, f"/self-assessment/{YEAR}/links", no="4", passage=str(passage))
    _hx(c, f"/self-assessment/{YEAR}/autosave", self_category="良好", report="我省自评报告", level_4="4",
        narrative_4="省委书记主持召开专题会议研究产改",
        **{f"value_{SHARE_NO}_{_measure(SHARE_NO)}": "35.5"})
    confirm = c.get(f"/self-assessment/{YEAR}/confirm").text
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', confirm).group(1)
    c.post(f"/self-assessment/{YEAR}/submit", data={"csrf_token": c.csrf, "fingerprint": fingerprint})
    assert _stored(settings)[0].status == "submitted"
    return doc, passage


def _people(settings, make_user):
    make_user("js", "province", unit="JS")
    make_user("sh", "province", unit="SH")
    make_user("office", "office")
    make_user("assigned", "reviewer", home="ZJ")
    make_user("other", "reviewer", home="BJ")
    make_user("conflicted", "reviewer", home="GD")
    make_user("home", "reviewer", home="JS")
    with session_scope(settings.database_url) as session:
        users = {u.username: u for u in session.exec(select(User))}
        rated = {i.no for i in SYSTEM.rated_indicators()}
        for name in ("assigned", "conflicted"):
            A.assign(session, users["office"], YEAR, users[name], "JS", [4], rated)
        # assigned before their home unit was recorded: the home unit still keeps them out
        session.add(Assignment(year=YEAR, reviewer_id=users["home"].id, unit_code="JS", indicator_no=4,
                               created_by=users["office"].id))
        A.assign(session, users["office"], YEAR, users["other"], "SH", [4], rated)
        session.add(Conflict(user_id=users["conflicted"].id, unit_code="JS", kind="declared", reason="亲属任职"))
        session.commit()


def test_who_may_read_a_units_self_assessment(make_user, login, settings, add_evidence):
    _people(settings, make_user)
    doc, passage = _submitted(settings, login, add_evidence)
    page = f"/rounds/{YEAR}/self/JS"
    export = f"{page}/export.docx"
    for name in ("office", "assigned", "js"):
        c = login(name)
        r = c.get(page)
        assert r.status_code == 200, name
        assert "省委书记主持召开专题会议研究产改" in r.text and "好（4）" in r.text and "我省自评报告" in r.text
        assert f"/evidence/{doc}?page=1&passage={passage}#p-{passage}" in r.text
        assert "35.5" in r.text and "自评报告" in r.text  # the value with its source
        assert c.get(export).status_code == 200, name
    for name in ("other", "conflicted", "home", "sh"):
        c = login(name)
        assert c.get(page).status_code == 403, name
        assert c.get(export).status_code == 403, name
        assert "省委书记主持召开专题会议研究产改" not in c.get(page).text


def test_a_draft_speaks_for_nobody_but_its_unit(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    make_user("office", "office")
    _hx(login("js"), f"/self-assessment/{YEAR}/autosave", report="还在写的草稿", level_4="4")
    office = login("office").get(f"/rounds/{YEAR}/self/JS").text
    assert "尚未提交" in office and "还在写的草稿" not in office
    own = login("js").get(f"/rounds/{YEAR}/self/JS").text
    assert "还在写的草稿" in own and "草稿（尚未提交" in own


def test_the_scoring_screen_shows_the_claim_beside_the_rubric(make_user, login, settings, add_evidence):
    _people(settings, make_user)
    screen = f"/scoring/{YEAR}/JS/4"
    before = login("assigned").get(screen).text
    assert "该单位尚未提交 2023 年度自评" in before
    doc, passage = _submitted(settings, login, add_evidence)
    page = login("assigned").get(screen).text
    claimed = page.split('aria-label="省级自评"')[1].split("</section>")[0]
    assert "自评等级：</strong>4 · 好" in claimed and "省委书记主持召开专题会议研究产改" in claimed
    assert f'href="/evidence/{doc}?page=1&passage={passage}#p-{passage}"' in claimed
    assert f'href="/rounds/{YEAR}/self/JS"' in claimed
    assert login("office").get(screen).status_code == 200
    for name in ("conflicted", "home", "other"):
        assert login(name).get(screen).status_code == 403, name


def test_the_keyboard_shortcuts_are_in_the_page_not_the_tab_title(make_user, login, settings, add_evidence):
    _people(settings, make_user)
    _round(settings)
    page = login("assigned").get(f"/scoring/{YEAR}/JS/4").text
    title = page.split("<title>")[1].split("</title>")[0]
    assert "快捷键" not in title and "<p" not in title
    body = page.split("<main>")[1]
    assert re.search(r'<p id="shortcuts"[^>]*>快捷键：', body)


def test_the_export_is_an_official_document_marked_as_demo(make_user, login, settings, add_evidence):
    _people(settings, make_user)
    _submitted(settings, login, add_evidence, demo=True)
    r = login("office").get(f"/rounds/{YEAR}/self/JS/export.docx")
    assert r.status_code == 200 and "%E6%BC%94%E7%A4%BA" in r.headers["content-disposition"]  # 演示 in the name
    document = docx.Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "江苏省2023年度推进产业工人队伍建设改革工作自评" in text
    assert "演示数据" in text and "自评类别：良好" in text and "我省自评报告" in text
    assert "自评等级：好（4）" in text and "省委书记主持召开专题会议研究产改" in text
    assert "——摘自：江苏省" in text and "第1页" in text
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "35.5" in cells and "自评报告" in cells


def test_a_year_without_a_round_gets_a_chinese_answer(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    js = login("js")
    for path in ("/self-assessment/2099", "/self-assessment/2099/autosave"):
        r = js.post(path, data={"csrf_token": js.csrf, "report": "x"})
        assert r.status_code == 400 and "2099 年度的评价尚未建立" in r.text, path
    assert js.get("/self-assessment/2099/confirm").status_code == 400


def test_the_home_page_counts_what_the_form_counts(make_user, login, settings):
    """One rule for "filled": a rated level and every measure of a quantitative indicator count; the
    survey indicators (83–85) are owed by nobody."""
    _round(settings)
    make_user("js", "province", unit="JS")
    js = login("js")
    quantitative = next(i for i in SYSTEM.indicators if i.kind == "quantitative" and i.self_assessed)
    fields = {f"value_{quantitative.no}_{m.key}": "12" for m in quantitative.measures}
    r = _hx(js, "/self-assessment/2023/autosave", level_4="4", report="草稿", **fields)
    assert "已填 <strong>2</strong>" in r.text
    owed = sum(1 for i in SYSTEM.indicators if i.self_assessed)
    assert owed == len(SYSTEM.indicators) - 3
    assert f"已填 2/{owed} 项" in js.get("/").text


# ── a login that ends while the form is open ───────────────────────────────

def test_a_save_after_the_login_ended_names_the_login_and_leads_back_to_the_form(make_user, login, settings):
    from datetime import timedelta

    from evidence.models import WebSession, utcnow
    _round(settings)
    make_user("js", "province", unit="JS")
    js = login("js")
    alive = js.get("/session/alive")
    assert alive.status_code == 200 and alive.json()["csrf"] == js.csrf
    with session_scope(settings.database_url) as session:  # an hour and a half without a page: still alive
        row = session.exec(select(WebSession)).one()
        row.last_seen_at = utcnow() - timedelta(minutes=90)
        session.commit()
    assert js.get("/session/alive").status_code == 200  # typing on a long form keeps the login
    with session_scope(settings.database_url) as session:
        assert utcnow() - session.exec(select(WebSession)).one().last_seen_at.replace(tzinfo=utcnow().tzinfo) \
            < timedelta(minutes=1)
    js.post("/logout", data={"csrf_token": js.csrf})
    auto = _hx(js, "/self-assessment/2023/autosave", level_4="4", report="草稿")
    assert auto.status_code == 401 and "登录已结束" in auto.text and "CSRF 校验" not in auto.text
    saved = js.post("/self-assessment/2023", data={"csrf_token": js.csrf, "report": "草稿", "action": "save"},
                    headers={"Referer": "http://testserver/self-assessment"}, follow_redirects=False)
    assert saved.status_code == 401 and "CSRF 校验" not in saved.text
    assert 'href="/login?next=%2Fself-assessment"' in saved.text and "重新登录" in saved.text
    assert js.get("/session/alive").status_code == 401
    with session_scope(settings.database_url) as session:
        assert session.exec(select(SelfAssessment)).first() is None  # nothing was done for nobody
