"""The office's statistics pages: template download and import (with the per-cell error report), values per
unit with their source, corrections with a reason (audited old → new), confirmation of flagged values."""
from __future__ import annotations

import io
import re
import openpyxl
import pytest
from sqlmodel import Session, select

from evidence.db import get_engine
from evidence.models import AuditEvent, SelfAssessment, SelfAssessmentItem, StatisticValue
from rounds.statistics_sheet import FIRST_DATA_ROW, SHEET, columns
from round_support import add_round
from rubrics.indicators import load_units, system_in_force

SYSTEM = system_in_force(2023)


@pytest.fixture
def office(settings, make_user, login):
    make_user("office", "office")
    add_round(settings)
    with Session(get_engine(settings.database_url)) as session:
        for i, unit in enumerate(load_units()):  # everyone reports about 100 meetings; 江苏 reports 5000
            sa = SelfAssessment(year=2023, unit_code=unit.code, status="submitted", self_category="良好", report="自评")
            session.add(sa)
            session.flush()
            session.add(SelfAssessmentItem(self_assessment_id=sa.id, indicator_no=14, values={
                "meetings": {"value": 5000.0 if unit.code == "JS" else 100.0 + i, "base_value": 90.0},
                "attendees": {"value": 1000.0, "base_value": 900.0}}))
        session.commit()
    return login("office")


def _cell(no: int, key: str, field: str = "value") -> str:
    c = next(i for i, col in enumerate(columns(SYSTEM), 3) if (col.indicator.no, col.measure.key, col.field) == (no, key, field))
    return openpyxl.utils.get_column_letter(c)


def _row(code: str) -> int:
    return FIRST_DATA_ROW + [u.code for u in load_units()].index(code)


def test_the_statistics_pages_are_the_offices(office, make_user, login):
    make_user("js", "province", unit="JS")
    js = login("js")
    for url in ("/rounds/2023/statistics", "/rounds/2023/statistics/JS", "/rounds/2023/statistics/template.xlsx"):
        assert js.get(url).status_code == 403, url
    r = js.post("/rounds/2023/statistics/JS/correct", data={"csrf_token": js.csrf, "indicator": "14",
                                                            "measure": "meetings", "value": "1", "reason": "x"})
    assert r.status_code == 403
    dashboard = office.get("/rounds/2023")
    assert 'href="/rounds/2023/statistics"' in dashboard.text


def test_import_reports_each_bad_cell_and_stores_nothing_then_a_good_file_goes_in(office, settings):
    template = office.get("/rounds/2023/statistics/template.xlsx")
    assert template.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(template.content))
    ws = wb[SHEET]
    ws[f"{_cell(14, 'meetings')}{_row('SH')}"] = "十二"
    ws[f"{_cell(64, 'membership_rate')}{_row('ZJ')}"] = 130
    ws[f"{_cell(14, 'attendees')}{_row('GD')}"] = -5
    bad = io.BytesIO()
    wb.save(bad)
    r = office.post("/rounds/2023/statistics/import", data={"csrf_token": office.csrf},
                    files={"file": ("统计.xlsx", bad.getvalue())})
    assert r.status_code == 422 and "有 3 处错误，未导入任何数据" in r.text
    assert f"<td>统计数据</td><td>{_row('SH')}</td><td>{_cell(14, 'meetings')}</td>" in r.text and "实际是文字“十二”" in r.text
    assert "不能超过100%（填写的是130%）" in r.text and "不能为负数（填写的是-5人）" in r.text
    with Session(get_engine(settings.database_url)) as session:
        assert session.exec(select(StatisticValue)).all() == []
    ws[f"{_cell(14, 'meetings')}{_row('SH')}"] = 12
    ws[f"{_cell(64, 'membership_rate')}{_row('ZJ')}"] = 93.5
    ws[f"{_cell(14, 'attendees')}{_row('GD')}"] = 5
    good = io.BytesIO()
    wb.save(good)
    r = office.post("/rounds/2023/statistics/import", data={"csrf_token": office.csrf},
                    files={"file": ("统计.xlsx", good.getvalue())}, follow_redirects=True)
    assert "已导入 3 个数值" in r.text
    page = office.get("/rounds/2023/statistics/ZJ").text
    assert "93.5%" in page and "统计导入" in page


def test_a_flagged_value_is_confirmed_and_a_value_corrected_with_its_reason(office, settings):
    overview = office.get("/rounds/2023/statistics").text
    assert "待核实（1）" in overview and "远离其他单位" in overview and "江苏省" in overview
    r = office.post("/rounds/2023/statistics/JS/confirm", data={"csrf_token": office.csrf, "indicator": "14",
                                                                "measure": "meetings", "note": "核实属实",
                                                                "back": "overview"}, follow_redirects=True)
    assert "已确认指标 14" in r.text and "待核实（0）" in r.text
    r = office.post("/rounds/2023/statistics/SH/correct", data={"csrf_token": office.csrf, "indicator": "14",
                                                                "measure": "meetings", "value": "12", "base_value": "90",
                                                                "reason": ""}, follow_redirects=True)
    assert "必须写明理由" in r.text
    r = office.post("/rounds/2023/statistics/SH/correct", data={"csrf_token": office.csrf, "indicator": "14",
                                                                "measure": "meetings", "value": "十二", "base_value": "90",
                                                                "reason": "笔误"}, follow_redirects=True)
    assert "本年值应填写数字" in r.text
    r = office.post("/rounds/2023/statistics/SH/correct", data={"csrf_token": office.csrf, "indicator": "14",
                                                                "measure": "meetings", "value": "112", "base_value": "90",
                                                                "reason": "以会议通知为准"}, follow_redirects=True)
    assert "已更正指标 14" in r.text and "办公室更正（以会议通知为准）" in r.text
    with Session(get_engine(settings.database_url)) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "statistic")).one()
        assert event.detail["from"][0] == 108.0 and event.detail["to"] == [112.0, 90.0] and event.ip
    audit = office.get("/admin/audit").text
    assert "更正统计数值" in audit and "核实统计数值" in audit and "以会议通知为准" in audit
    assert re.search(r"单位：上海", audit)
