"""The office's round forms: a refused post answers the page again (400) with the reason and every field
as it was typed, nothing stored; an accepted post redirects (303), so reloading never posts twice."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import CategoryDecision, Round, SpotCheck, StatisticValue, Survey
from round_support import add_round

YEAR = 2023


@pytest.fixture
def office(settings, make_user, login):
    add_round(settings, YEAR)
    make_user("office", "office")
    return login("office")


def post(client, path, **data):
    return client.post(path, data={"csrf_token": client.csrf, **data}, follow_redirects=False)


def field(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page) or \
        re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{re.escape(name)}"', page)
    return match.group(1) if match else ""


def test_categories_without_a_note_keep_the_chosen_adjustments(office, settings):
    page = post(office, f"/rounds/{YEAR}/categories", adj_JS="优秀", adj_SH="差", note="")
    assert page.status_code == 400 and "调整类别须在“认定说明”中写明理由" in page.text
    assert re.search(r'name="adj_JS".*?<option selected>优秀</option>', page.text, re.S)
    assert re.search(r'name="adj_SH".*?<option selected>差</option>', page.text, re.S)
    with session_scope(settings.database_url) as s:
        assert s.exec(select(CategoryDecision)).all() == []
    done = post(office, f"/rounds/{YEAR}/categories", adj_JS="优秀", note="协调小组会议决定")
    assert done.status_code == 303


def test_settings_with_a_bad_threshold_keep_every_typed_date_and_number(office, settings):
    page = post(office, f"/rounds/{YEAR}/settings", self_assessment_due="2099-03-15", upload_due="2099-01-20",
                spotcheck_due="2099-04-01", review_due="2099-08-01", **{"t_优秀": "九十", "t_良好": "75", "t_一般": "60"})
    assert page.status_code == 400 and "类别分数线无效" in page.text
    assert field(page.text, "self_assessment_due") == "2099-03-15" and field(page.text, "upload_due") == "2099-01-20"
    assert field(page.text, "t_优秀") == "九十" and field(page.text, "review_due") == "2099-08-01"
    with session_scope(settings.database_url) as s:
        rnd = s.exec(select(Round).where(Round.year == YEAR)).one()
        assert str(rnd.self_assessment_due) == "2099-02-28" and rnd.upload_due is None
    assert post(office, f"/rounds/{YEAR}/settings", self_assessment_due="2099-03-15", **{"t_优秀": "90", "t_良好": "75",
                                                                                       "t_一般": "60"}).status_code == 303


def test_a_spotcheck_change_naming_an_unknown_unit_keeps_what_was_typed(office, settings):
    assert post(office, f"/rounds/{YEAR}/spotcheck", action="propose", seed="7").status_code == 303
    page = post(office, f"/rounds/{YEAR}/spotcheck", action="override", add="江苏、火星", remove="", reason="协调小组决定增加")
    assert page.status_code == 400 and "无法识别的单位：火星" in page.text
    assert field(page.text, "add") == "江苏、火星" and field(page.text, "reason") == "协调小组决定增加"
    with session_scope(settings.database_url) as s:
        assert s.exec(select(SpotCheck)).one().overrides == []


def test_a_statistics_correction_that_is_not_a_number_keeps_the_row_as_typed(office, settings):
    page = post(office, f"/rounds/{YEAR}/statistics/JS/correct", indicator="3", measure="policy_documents",
                value="约50", reason="按文件目录核对")
    assert page.status_code == 400 and "本年值应填写数字，实际是“约50”" in page.text
    row = page.text.split('id="m-3-policy_documents"')[1].split("</tr>")[0]
    assert field(row, "value") == "约50" and field(row, "reason") == "按文件目录核对"
    other = page.text.split('id="m-4-')[1].split("</tr>")[0] if 'id="m-4-' in page.text else ""
    assert "约50" not in other
    with session_scope(settings.database_url) as s:
        assert s.exec(select(StatisticValue)).all() == []
    assert post(office, f"/rounds/{YEAR}/statistics/JS/correct", indicator="3", measure="policy_documents",
                value="50", reason="按文件目录核对").status_code == 303


def test_publishing_surveys_with_a_bad_cap_keeps_the_chosen_units_and_audiences(office, settings):
    page = office.post(f"/rounds/{YEAR}/surveys/publish", data={
        "csrf_token": office.csrf, "audience": ["workers"], "unit": ["JS", "ZJ"], "max_responses": "很多"},
        follow_redirects=False)
    assert page.status_code == 400 and "份数上限应为整数" in page.text
    assert field(page.text, "max_responses") == "很多"
    checked_units = re.findall(r'name="unit" value="(\w+)" checked', page.text)
    assert checked_units == ["JS", "ZJ"]
    checked_audiences = re.findall(r'name="audience" value="(\w+)" checked', page.text)
    assert checked_audiences == ["workers"]
    with session_scope(settings.database_url) as s:
        assert s.exec(select(Survey)).all() == []


def test_a_new_round_with_an_unreadable_year_keeps_it(office):
    page = post(office, "/rounds", year="二〇二四")
    assert page.status_code == 400 and "年度应为四位数字" in page.text and field(page.text, "year") == "二〇二四"
    assert post(office, "/rounds", year="2024").status_code == 303
