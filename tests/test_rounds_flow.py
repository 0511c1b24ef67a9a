"""A whole round through the web app: self-assessment → spot-check → ratings → categories → outputs."""
import re
from datetime import date

import docx
import openpyxl
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import AuditEvent, CategoryDecision, Rating, Round, SelfAssessment, SpotCheck
from rounds.workflow import RoundError, save_self_assessment


def _round(settings, year=2023, **kw):
    with session_scope(settings.database_url) as session:
        session.add(Round(year=year, indicator_version="2022.1", self_assessment_due=kw.get("due", date(2099, 2, 28)),
                          spotcheck_due=date(2099, 3, 31), review_due=date(2099, 7, 31),
                          category_thresholds={"优秀": 90, "良好": 75, "一般": 60}))
        session.commit()


def test_office_creates_a_round_with_default_deadlines(make_user, login, settings):
    make_user("office", "office")
    c = login("office")
    r = c.post("/rounds", data={"year": "2024", "csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 303
    with session_scope(settings.database_url) as session:
        rnd = session.exec(select(Round).where(Round.year == 2024)).one()
        assert rnd.self_assessment_due == date(2025, 2, 28) and rnd.review_due == date(2025, 7, 31)
    bad = c.post("/rounds", data={"year": "明年", "csrf_token": c.csrf})
    assert "四位数字" in bad.text


def test_self_assessment_computes_growth_locks_and_reopens(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    make_user("office", "office")
    c = login("js")
    page = c.get("/self-assessment")
    assert page.status_code == 200 and "领导重视" in page.text
    r = c.post("/self-assessment/2023", data={
        "csrf_token": c.csrf, "self_category": "良好", "report": "我省产改工作总体情况……",
        "level_4": "4", "narrative_4": "省委书记主持召开专题会议",
        "value_23_" + _first_measure(23): "120", "base_23_" + _first_measure(23): "100", "action": "submit"},
        follow_redirects=True)
    # 提交并锁定 saves and asks for confirmation first: nothing is locked yet
    assert "确认提交并锁定" in r.text and "已提交" not in r.text
    with session_scope(settings.database_url) as session:
        assert session.exec(select(SelfAssessment)).one().status == "draft"
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', r.text).group(1)
    r = c.post("/self-assessment/2023/submit", data={"csrf_token": c.csrf, "fingerprint": fingerprint},
               follow_redirects=True)
    assert "自评已提交" in r.text
    with session_scope(settings.database_url) as session:
        sa = session.exec(select(SelfAssessment)).one()
        assert sa.status == "submitted" and sa.self_category == "良好"
        from rounds.workflow import self_items
        values = self_items(session, sa)[23].values
        assert values[_first_measure(23)]["growth_pct"] == 20.0
    locked = c.post("/self-assessment/2023", data={"csrf_token": c.csrf, "self_category": "优秀", "report": "x"},
                    follow_redirects=True)
    assert "已提交并锁定" in locked.text
    office = login("office")
    no_reason = office.post("/rounds/2023/self/JS/reopen", data={"csrf_token": office.csrf, "reason": ""},
                            follow_redirects=True)
    assert "必须写明理由" in no_reason.text
    office.post("/rounds/2023/self/JS/reopen", data={"csrf_token": office.csrf, "reason": "数据有误"})
    with session_scope(settings.database_url) as session:
        assert session.exec(select(SelfAssessment)).one().status == "draft"
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "self_reopen")).first()


def _first_measure(no):
    from rubrics.indicators import load_system
    return load_system(2022).get(no).measures[0].key


def test_self_assessment_after_deadline_is_refused(make_user, settings):
    _round(settings, due=date(2020, 2, 28))
    user = make_user("js", "province", unit="JS")
    with session_scope(settings.database_url) as session:
        try:
            save_self_assessment(session, user, 2023, category="良好", report="r", levels={}, narratives={}, values={})
            raise AssertionError("saved after the deadline")
        except RoundError as exc:
            assert "截止日期" in str(exc)


def test_rating_outside_rubric_in_self_assessment_is_refused(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    c = login("js")
    r = c.post("/self-assessment/2023", data={"csrf_token": c.csrf, "level_4": "9", "report": ""}, follow_redirects=True)
    assert "不在评分细则范围内" in r.text
    with session_scope(settings.database_url) as session:
        assert session.exec(select(SelfAssessment)).first() is None or not session.exec(select(SelfAssessment)).first().report


def test_spotcheck_categories_and_outputs(make_user, login, settings, tmp_path):
    _round(settings)
    office_user = make_user("office", "office")
    reviewer = make_user("rev", "reviewer", home="ZJ")
    office = login("office")
    r = office.post("/rounds/2023/spotcheck", data={"csrf_token": office.csrf, "action": "propose", "seed": "7"},
                    follow_redirects=True)
    assert "已生成抽查名单" in r.text
    with session_scope(settings.database_url) as session:
        sc = session.exec(select(SpotCheck)).one()
        assert sc.seed == 7 and len(sc.selected) >= 10  # ≥30% of 32
        assert all(sc.reasons.get(code) for code in sc.selected)
        selected = list(sc.selected)
    no_reason = office.post("/rounds/2023/spotcheck", data={"csrf_token": office.csrf, "action": "override",
                                                            "add": "JS", "reason": ""}, follow_redirects=True)
    assert "必须填写理由" in no_reason.text
    office.post("/rounds/2023/spotcheck", data={"csrf_token": office.csrf, "action": "override", "add": "JS",
                                                "reason": "专项工作需要"})
    office.post("/rounds/2023/spotcheck", data={"csrf_token": office.csrf, "action": "approve",
                                                "approved_at": "2024-03-20", "meeting": "协调小组第3次会议"})
    with session_scope(settings.database_url) as session:
        sc = session.exec(select(SpotCheck)).one()
        assert sc.status == "approved" and "JS" in sc.selected and sc.approval_meeting == "协调小组第3次会议"
        from rubrics.indicators import load_system
        for ind in load_system(2022).rated_indicators():
            top = max(ind.level_values)
            session.add(Rating(year=2023, unit_code="JS", indicator_no=ind.no, indicator_version="2022.1",
                               reviewer_id=reviewer.id, level_value=top, rationale="证据充分", status="submitted"))
        _best_statistics(session, load_system(2022), best="JS", other="SH")
        session.commit()
    r = office.post("/rounds/2023/categories", data={"csrf_token": office.csrf}, follow_redirects=True)
    assert "已认定 1 个单位的类别" in r.text and "评分尚未完成，暂不认定" in r.text
    # the units left out for want of a self-assessment are named too, not only the spot-checked ones
    assert "未被抽查、也尚未提交自评类别，暂不认定" in r.text and "北京" in r.text.split("尚未提交自评类别")[1]
    with session_scope(settings.database_url) as session:
        js = session.exec(select(CategoryDecision).where(CategoryDecision.unit_code == "JS")).one()
        assert js.category == "优秀" and js.source == "spotcheck" and js.score == 100.0
    dashboard = office.get("/rounds/2023").text
    assert "/rounds/2023/charts/radar/JS.svg" in dashboard
    radar_svg = office.get("/rounds/2023/charts/radar/JS.svg")
    assert radar_svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in radar_svg.text
    assert "<svg" in office.get("/rounds/2023/charts/categories.svg").text
    report = office.get("/rounds/2023/report.docx")
    assert report.status_code == 200
    path = tmp_path / "r.docx"
    path.write_bytes(report.content)
    text = "\n".join(p.text for p in docx.Document(path).paragraphs)
    tables = "\n".join(c.text for t in docx.Document(path).tables for row in t.rows for c in row.cells)
    assert "江苏省" in text + tables and "优秀" in text + tables
    xlsx = office.get("/rounds/2023/scores.xlsx")
    path = tmp_path / "s.xlsx"
    path.write_bytes(xlsx.content)
    wb = openpyxl.load_workbook(path)
    cells = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert 100 in cells or 100.0 in cells
    assert "江苏省" in cells
    del selected, office_user


def _best_statistics(session, system, *, best: str, other: str) -> None:
    """Every measure of `best` above `other` and well above its own base; full satisfaction surveys.

    All 88 indicators count, so a unit scores 100 only when its statistics and surveys are top too.
    """
    from evidence.models import StatisticValue, SurveyResult
    for ind in system.indicators:
        if ind.source == "survey":
            session.add(SurveyResult(year=2023, unit_code=best, indicator_no=ind.no, respondent_kind="职工",
                                     respondents=200, score=100.0, score_sd=0.0, source="测试"))
            continue
        for m in ind.measures:
            good, poor = (1.0, 5.0) if m.direction == "lower" else (90.0, 10.0)
            for unit, value in ((best, good), (other, poor)):
                session.add(StatisticValue(year=2023, unit_code=unit, indicator_no=ind.no, measure_key=m.key,
                                           value=value, base_value=(2.0 if m.direction == "lower" else 50.0),
                                           source="测试"))


def test_round_pages_are_office_only(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    c = login("js")
    for url in ("/rounds", "/rounds/2023", "/rounds/2023/spotcheck", "/rounds/2023/report.docx"):
        assert c.get(url).status_code == 403
    assert c.post("/rounds/2023/spotcheck", data={"csrf_token": c.csrf, "action": "propose"}).status_code == 403


def test_drafts_do_not_count_and_office_adjustments_stand(make_user, login, settings):
    from evidence.models import SelfAssessment
    from rounds.workflow import decide_categories
    _round(settings)
    office = make_user("office", "office")
    with session_scope(settings.database_url) as session:
        session.add(SelfAssessment(year=2023, unit_code="JS", self_category="优秀", status="draft"))
        session.add(SelfAssessment(year=2023, unit_code="SH", self_category="良好", status="submitted"))
        session.commit()
        outcome = decide_categories(session, office, 2023)
        session.commit()
        decided = {d.unit_code: d.category for d in outcome.decisions}
        assert decided == {"SH": "良好"}, "an unsubmitted draft decided a category"
        try:
            decide_categories(session, office, 2023, {"SH": "一般"})
            raise AssertionError("an adjustment without a reason was accepted")
        except RoundError as exc:
            assert "理由" in str(exc)
        session.rollback()
        decide_categories(session, office, 2023, {"SH": "一般"}, note="材料与实际不符")
        session.commit()
        decide_categories(session, office, 2023)  # recomputing later keeps the office's decision
        session.commit()
        sh = session.exec(select(CategoryDecision).where(CategoryDecision.unit_code == "SH")).one()
        assert sh.category == "一般" and sh.source == "adjusted" and "材料与实际不符" in sh.note


def test_an_approved_spotcheck_cannot_be_redrawn(make_user, settings):
    from datetime import date as d
    from rounds.workflow import approve_spotcheck, current_spotcheck, propose_spotcheck
    _round(settings)
    office = make_user("office", "office")
    with session_scope(settings.database_url) as session:
        sc = propose_spotcheck(session, office, 2023, seed=1)
        approve_spotcheck(session, office, sc, d(2024, 3, 1), "第1次会议")
        session.commit()
        try:
            propose_spotcheck(session, office, 2023, seed=2)
            raise AssertionError("redrew an approved list")
        except RoundError as exc:
            assert "已审定" in str(exc)
        assert current_spotcheck(session, 2023).id == sc.id


def test_viewing_the_self_assessment_creates_nothing(make_user, login, settings):
    _round(settings)
    make_user("js", "province", unit="JS")
    login("js").get("/self-assessment")
    with session_scope(settings.database_url) as session:
        assert session.exec(select(SelfAssessment)).first() is None


def test_bad_numbers_get_a_chinese_message_not_a_500(make_user, login, settings):
    _round(settings)
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    office = login("office")
    for url in ("/rounds/99999999999999999999", "/collections/99999999999999999999",
                "/progress?year=99999999999999999999"):
        r = office.get(url)
        assert r.status_code in (400, 404, 422), url
        assert any(word in r.text for word in ("超出", "不存在", "格式")), url
    r = office.post("/rounds/2023/spotcheck", data={"csrf_token": office.csrf, "action": "propose", "seed": "abc"},
                    follow_redirects=True)
    assert "随机种子" in r.text
    js = login("js")
    r = js.post("/self-assessment/2023", data={"csrf_token": js.csrf, "value_23_" + _first_measure(23): "nan",
                                               "report": ""}, follow_redirects=True)
    assert "应为有限的数字" in r.text and "本次未保存" in r.text


def test_unit_home_shows_what_is_due(make_user, login, settings, add_evidence):
    _round(settings)
    make_user("js", "province", unit="JS")
    page = login("js").get("/").text
    assert "提交 2023 年度自评报告和自评类别" in page and "未开始" in page and "待完成" in page


def test_ratings_by_a_reviewer_who_later_declared_a_conflict_do_not_count(make_user, settings):
    from evidence.models import Conflict
    from rounds.workflow import unit_scores
    _round(settings)
    reviewer = make_user("rev", "reviewer")
    with session_scope(settings.database_url) as session:
        session.add(Rating(year=2023, unit_code="JS", indicator_no=4, indicator_version="2022.1",
                           reviewer_id=reviewer.id, level_value=4, rationale="好", status="submitted"))
        session.commit()
        assert 4 not in unit_scores(session, 2023)["JS"]["missing"]
        session.add(Conflict(user_id=reviewer.id, unit_code="JS", kind="declared", reason="亲属在江苏省总工会任职"))
        session.commit()
        assert 4 in unit_scores(session, 2023)["JS"]["missing"]


def test_messages_travel_in_the_session_not_the_url(make_user, login, settings):
    make_user("office", "office")
    office = login("office")
    r = office.post("/rounds", data={"year": "2024", "csrf_token": office.csrf}, follow_redirects=False)
    assert r.headers["location"] == "/rounds/2024"
    assert "已创建 2024 年度评价" in office.get("/rounds/2024").text
    assert "已创建 2024 年度评价" not in office.get("/rounds/2024").text  # shown once
    assert "伪造的通知" not in office.get("/rounds?error=伪造的通知").text


def test_an_unfinished_round_reports_as_such(make_user, login, settings, tmp_path):
    """Nothing scored: the 专报 says 未定稿 and lists what is missing; 未评 not 0; 31 provinces + 兵团."""
    _round(settings)
    make_user("office", "office")
    office = login("office")
    path = tmp_path / "r.docx"
    path.write_bytes(office.get("/rounds/2023/report.docx").content)
    document = docx.Document(path)
    text = "\n".join(p.text for p in document.paragraphs)
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "（未定稿）" in text and "未完成事项" in text
    assert "未评分" in text and "尚未认定类别的单位（32个）" in text
    assert "31个省（区、市）和新疆生产建设兵团" in text and "32个省（区、市）" not in text
    assert "主要亮点：无" not in text and "存在问题：无" not in text
    assert "未评" in cells and "0" not in cells
    page = office.get("/rounds/2023").text
    assert "0/32" in page and "已完成" not in page


def test_step_counts_are_done_only_when_every_unit_is(make_user, login, settings):
    _round(settings)
    province = make_user("js", "province", unit="JS")
    make_user("office", "office")
    with session_scope(settings.database_url) as session:
        save_self_assessment(session, province, 2023, category="良好", report="报告", levels={}, narratives={},
                             values={})
        from rounds.workflow import submit_self_assessment
        submit_self_assessment(session, province, 2023)
        session.commit()
        from rounds.status import dashboard
        steps = {s.label: s for s in dashboard(session, 2023)["steps"]}
    assert steps["年度自评"].count == "1/32" and not steps["年度自评"].complete
    assert steps["类别认定"].count == "0/32"
