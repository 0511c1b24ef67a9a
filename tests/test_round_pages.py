"""The round's pages as people read them: unit names (never codes) in messages and records, a unit typed
by its Chinese name, the national order everywhere, Beijing time, 未评 instead of 0 on the radar, and
demo data marked wherever it is shown."""
from __future__ import annotations

import io
import math
import re
from datetime import date, datetime, timezone
from urllib.parse import unquote

import openpyxl
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Rating, Round, SelfAssessment, SpotCheck, User
from rubrics.indicators import load_units

YEAR = 2023
NAMES_IN_ORDER = [u.name for u in load_units()]  # units.yaml lists them in the national order
CODE = re.compile(r"(?<![A-Za-z])(?:%s)(?![A-Za-z])" % "|".join(u.code for u in load_units()))


def _round(settings, demo=False, year=YEAR):
    with session_scope(settings.database_url) as session:
        d = date(2099, 2, 28)
        session.add(Round(year=year, indicator_version="2022.1", self_assessment_due=d, spotcheck_due=d, review_due=d,
                          category_thresholds={"优秀": 90, "良好": 75, "一般": 60}, is_demo=demo))
        session.commit()


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": client.csrf, **data}, follow_redirects=True)


def _text(html: str) -> str:
    """The text a person reads: no tags, no attribute values (codes may live in URLs)."""
    body = html.split("<main>", 1)[-1]
    return re.sub(r"<[^>]+>", " ", body)


def _in_order(text: str, names: list[str]) -> bool:
    positions = [text.find(name) for name in names]
    return all(p >= 0 for p in positions) and positions == sorted(positions)


def test_a_unit_is_typed_by_its_chinese_name_and_records_read_as_people_do(make_user, login, settings):
    _round(settings)
    make_user("office", "office")
    with session_scope(settings.database_url) as session:
        user = session.exec(select(User).where(User.username == "office")).one()
        user.display_name = "王处长"
        session.add(user)
        session.commit()
    office = login("office")
    _post(office, f"/rounds/{YEAR}/spotcheck", action="propose", seed="7")
    with session_scope(settings.database_url) as session:
        selected = set(session.exec(select(SpotCheck)).one().selected)
    wanted = [c for c in ("JS", "SH", "GD", "ZJ") if c not in selected][:2]
    names = {"JS": "江苏", "SH": "上海市", "GD": "广东", "ZJ": "zj"}  # short name, full name, code in any case
    typed = "、".join(names[c] for c in wanted)
    page = _post(office, f"/rounds/{YEAR}/spotcheck", action="override", add=typed, reason="专项工作需要")
    assert "已调整抽查名单" in page.text
    with session_scope(settings.database_url) as session:
        sc = session.exec(select(SpotCheck)).one()
        assert set(wanted) <= set(sc.selected)
        at = datetime.fromisoformat(sc.overrides[-1]["at"])
    record = _text(page.text).split("调整记录")[1]
    beijing = at.astimezone(timezone.utc).replace(tzinfo=None)
    assert "王处长" in record and "office" not in record  # who, by name, not by login
    assert f"{(beijing.hour + 8) % 24:02d}:{beijing.minute:02d}" in record and "+00:00" not in record
    assert "T" not in record.split("理由")[0]  # no ISO time
    assert not CODE.search(record), record
    unknown = _post(office, f"/rounds/{YEAR}/spotcheck", action="override", add="火星", reason="试试")
    assert "无法识别的单位：火星" in unknown.text


def test_spotcheck_messages_and_pages_name_units_in_the_national_order(make_user, login, settings):
    _round(settings, year=YEAR - 1)
    _round(settings)
    make_user("office", "office")
    with session_scope(settings.database_url) as session:  # last year: every unit checked, so repeats conflict
        session.add(SpotCheck(year=YEAR - 1, seed=1, selected=[u.code for u in load_units()], reasons={},
                              conflicts=[], draw={}, status="approved"))
        session.commit()
    office = login("office")
    page = _post(office, f"/rounds/{YEAR}/spotcheck", action="propose", seed="3").text
    text = _text(page)
    assert "上年已被抽查" in text and "规则冲突" in text
    assert not CODE.search(text), CODE.findall(text)
    table = text.split("当前名单")[1]
    assert _in_order(table, NAMES_IN_ORDER)
    dashboard = _text(office.get(f"/rounds/{YEAR}").text).split("各单位")[1]
    assert _in_order(dashboard, NAMES_IN_ORDER)


def test_scores_and_the_score_table_follow_the_national_order(make_user, login, settings, tmp_path):
    from rounds.workflow import round_scores
    _round(settings, demo=True)
    make_user("office", "office")
    with session_scope(settings.database_url) as session:
        assert [u.name for u in round_scores(session, YEAR)] == NAMES_IN_ORDER
    r = login("office").get(f"/rounds/{YEAR}/scores.xlsx")
    assert "演示数据" in unquote(r.headers["content-disposition"])
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    names = [row[1].value for row in wb["汇总"].iter_rows(min_row=2) if row[1].value in NAMES_IN_ORDER]
    assert names == NAMES_IN_ORDER
    for ws in wb.worksheets:  # every sheet says so, on screen and in print
        assert any("演示数据" in str(c.value) for row in ws.iter_rows() for c in row), ws.title
        assert "演示数据" in ws.oddHeader.center.text
    report = login("office").get(f"/rounds/{YEAR}/report.docx")
    assert "演示数据" in unquote(report.headers["content-disposition"])


def test_reopening_names_the_unit(make_user, login, settings):
    _round(settings)
    make_user("office", "office")
    with session_scope(settings.database_url) as session:
        session.add(SelfAssessment(year=YEAR, unit_code="JS", status="submitted", self_category="良好", report="r"))
        session.commit()
    office = login("office")
    done = _post(office, f"/rounds/{YEAR}/self/JS/reopen", reason="数据有误")
    assert "已退回江苏省的自评" in done.text
    again = _post(office, f"/rounds/{YEAR}/self/JS/reopen", reason="数据有误")
    assert "江苏省的 2023 年度自评尚未提交" in again.text and not CODE.search(_text(again.text).split("退回自评")[0])
    make_user("rev", "reviewer")
    rev = login("rev")
    assert rev.post(f"/rounds/{YEAR}/self/JS/reopen", data={"csrf_token": rev.csrf, "reason": "x"}).status_code == 403


def test_the_radar_shows_an_unscored_group_as_missing_not_zero(make_user, login, settings):
    from reports import charts
    from rounds.status import radar
    _round(settings)
    reviewer = make_user("rev", "reviewer")
    with session_scope(settings.database_url) as session:
        session.add(Rating(year=YEAR, unit_code="JS", indicator_no=4, indicator_version="2022.1",
                           reviewer_id=reviewer.id, level_value=4, rationale="好", status="submitted"))
        session.commit()
        data = radar(session, YEAR, "JS")
    assert data["own"]["组织领导"] > 0
    assert data["own"]["社会评价"] is None  # nothing scored there: missing, not 0
    drawn = charts.radar(data["own"], maxima=data["maxima"], fmt="svg")
    as_zero = charts.radar({k: v or 0 for k, v in data["own"].items()}, maxima=data["maxima"], fmt="svg")
    assert drawn != as_zero
    png = charts.radar({"组织领导": None, "思想引领": 3.0, "素质提升": 2.0}, maxima={"组织领导": 5, "思想引领": 5,
                                                                         "素质提升": 5})
    assert png[:4] == b"\x89PNG"
    make_user("office", "office")
    assert login("office").get(f"/rounds/{YEAR}/charts/radar/JS.svg").status_code == 200
    assert not math.isnan(data["maxima"]["社会评价"])


def test_demo_rounds_are_marked_on_every_page_that_shows_them(make_user, login, settings):
    _round(settings, demo=True)
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    make_user("rev", "reviewer")
    office, js, rev = login("office"), login("js"), login("rev")
    for client, path in ((office, f"/rounds/{YEAR}"), (office, f"/rounds/{YEAR}/spotcheck"),
                         (office, f"/scoring?year={YEAR}"), (office, f"/rounds/{YEAR}/self/JS"),
                         (office, "/rounds"), (office, "/"), (js, "/self-assessment"), (js, "/evidence"),
                         (rev, f"/scoring?year={YEAR}"), (rev, "/")):
        page = client.get(path).text
        assert 'class="demo-banner"' in page and "演示数据" in page, path


def test_a_real_round_carries_no_demo_banner(make_user, login, settings):
    _round(settings, demo=True, year=YEAR - 1)
    _round(settings, year=YEAR)
    make_user("office", "office")
    office = login("office")
    assert 'class="demo-banner"' not in office.get(f"/rounds/{YEAR}").text
    assert 'class="demo-banner"' in office.get(f"/rounds/{YEAR - 1}").text
    xlsx = office.get(f"/rounds/{YEAR}/scores.xlsx")
    assert "演示" not in unquote(xlsx.headers["content-disposition"])
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert not any("演示" in str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row)
