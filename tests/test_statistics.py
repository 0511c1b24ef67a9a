"""Statistic values: the one value rule (self-assessment, template import, corrections), plausibility flags
and their confirmation, the office's corrections, and the year's template — written, filled, imported."""
from __future__ import annotations

import io
import math
import re
from datetime import date

import openpyxl
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlmodel import select

from evidence.models import AuditEvent, SelfAssessment, SelfAssessmentItem, StatisticValue
from rounds import statistics_office as SO
from rounds import workflow as R
from rounds.sheets import SheetRejected, cell_number
from rounds.statistics import (MIN_PEERS, check_value, plausibility_flags, robust_z, validate_values,
                               value_problems, ValueRejected)
from rounds.statistics_sheet import FIRST_DATA_ROW, SHEET, columns, write_template
from rubrics.indicators import Measure, load_units, system_in_force

SYSTEM = system_in_force(2023)
COUNT = Measure("n", "会议数量", "次", growth=True, share=False)
SHARE = Measure("s", "入会率", "%", growth=True, share=True)
MONEY = Measure("m", "专项经费", "万元", growth=True, share=False)


# ── the value rule ────────────────────────────────────────────────────────

@pytest.mark.parametrize("measure, value, words", [
    (COUNT, -5, ["不能为负数", "-5次"]),
    (SHARE, 130, ["比例", "不能超过100%", "130%"]),
    (COUNT, 3.5, ["应为整数", "3.5"]),
    (MONEY, math.inf, ["有限的数字"]),
    (MONEY, math.nan, ["有限的数字"]),
    (MONEY, "约50", ["有限的数字"]),
    (MONEY, True, ["有限的数字"]),
    (MONEY, 5e13, ["超出合理范围"]),
])
def test_impossible_values_are_refused_in_chinese(measure, value, words):
    problem = check_value(measure, value)
    assert problem and all(w in problem for w in words), problem


def test_possible_values_pass():
    assert check_value(COUNT, 0) is None and check_value(COUNT, 12.0) is None
    assert check_value(SHARE, 100) is None and check_value(SHARE, 35.2) is None
    assert check_value(MONEY, 1234.56) is None and check_value(MONEY, None) is None


@hsettings(max_examples=300, deadline=None)
@given(st.one_of(st.floats(), st.integers(-10**15, 10**15)), st.sampled_from([COUNT, SHARE, MONEY]))
def test_the_rule_accepts_exactly_the_finite_non_negative_numbers_the_measure_allows(value, measure):
    allowed = (math.isfinite(value) and 0 <= value <= 1e12 and not (measure.share and value > 100)
               and not (measure.unit == "次" and value != int(value)))
    assert (check_value(measure, value) is None) == allowed


def test_value_problems_name_the_indicator_and_measure_and_check_the_base_too():
    ind = SYSTEM.get(64)  # 职工入会率: shares with a base year
    problems = value_problems(ind, {"membership_rate": {"value": 130, "base_value": -1}, "nope": {"value": 1}})
    assert len(problems) == 3
    assert "指标 64“职工入会率”" in problems[0] and "130%" in problems[0]
    assert "基期值不能为负数" in problems[1]
    assert "没有数值项“nope”" in problems[2]
    with pytest.raises(ValueRejected) as err:
        validate_values(ind, {"membership_rate": {"value": 130}})
    assert "不能超过100%" in str(err.value)
    validate_values(ind, {"membership_rate": {"value": 99.5, "base_value": 98}})


@hsettings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.floats(), st.integers(), st.none(), st.booleans(), st.dates()))
def test_any_cell_is_a_number_or_a_chinese_reason_never_an_exception(raw):
    number, why = cell_number(raw)
    assert number is None or why is None
    if number is not None:
        assert math.isfinite(number)
    if why is not None:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in why)


@pytest.mark.parametrize("raw, number", [(12, 12.0), ("12", 12.0), (" １２ ", 12.0), ("1,234.5", 1234.5), ("35%", 35.0),
                                         ("3e2", 300.0), (None, None), ("", None)])
def test_numbers_typed_as_people_type_them(raw, number):
    assert cell_number(raw) == (number, None)


@pytest.mark.parametrize("raw", ["约50", "nan", "inf", "1,23", "—", "五十"])
def test_words_in_a_number_cell_are_reported(raw):
    number, why = cell_number(raw)
    assert number is None and why and "应填写" in why


def test_robust_z_flags_a_value_far_from_the_other_units():
    peers = [100 + i for i in range(20)]
    assert abs(robust_z(1000, peers)) > 3.5 and abs(robust_z(110, peers)) < 3.5
    assert robust_z(1000, peers[:MIN_PEERS - 1]) is None  # too few units to say what is usual
    mostly_zero = [0] * 15 + [1, 2, 3, 4]  # MAD is 0; the mean absolute deviation stands in
    assert abs(robust_z(40, mostly_zero)) > 3.5 and abs(robust_z(1, mostly_zero)) < 3.5
    assert robust_z(5, [0] * 10) == math.inf and robust_z(0, [0] * 10) == 0.0


def test_plausibility_flags_say_why():
    peers = {f"U{i}": 100.0 + i for i in range(20)}
    assert plausibility_flags(COUNT, 110, 100, peers, previous=105) == []
    flags = plausibility_flags(COUNT, 1000, 100, peers, previous=90)
    assert any("较上年（90次）增长到11.1倍（超过3倍）" in f for f in flags)
    assert any("较基期（100次）增长到10.0倍" in f for f in flags)
    fallen = plausibility_flags(COUNT, 12, 240, {}, previous=245)  # a fall is said as a fall
    assert "较上年（245次）下降95%（不足上年的三分之一）" in fallen
    assert "较基期（240次）下降95%（不足基期的三分之一）" in fallen
    assert not any("0.0倍" in f or "变化为" in f for f in fallen)
    assert any("远离其他单位" in f and "中位数" in f and "稳健z值" in f for f in flags)
    assert plausibility_flags(COUNT, 5, 0, {}, previous=0) == []  # growth from nothing is scoring's business


# ── the database: self-assessment, corrections, confirmations ────────────

@pytest.fixture
def year_round(settings, make_user):
    from evidence.db import session_scope
    office = make_user("office", "office")
    province = make_user("js", "province", unit="JS")
    with session_scope(settings.database_url) as session:
        R.create_round(session, 2023, office, self_assessment_due=date(2099, 2, 28))
        session.commit()
    return {"office": office, "province": province, "url": settings.database_url}


def _session(year_round):
    from sqlmodel import Session

    from evidence.db import get_engine
    return Session(get_engine(year_round["url"]), expire_on_commit=False)


def test_the_self_assessment_refuses_impossible_values_and_stores_nothing(year_round):
    with _session(year_round) as session:
        with pytest.raises(R.RoundError) as err:
            R.save_self_assessment(session, year_round["province"], 2023, category=None, report="",
                                   levels={}, narratives={},
                                   values={64: {"membership_rate": {"value": 130, "base_value": 90}},
                                           14: {"meetings": {"value": -5, "base_value": 3}}})
        session.rollback()
        message = str(err.value)
        assert "130%" in message and "不能为负数" in message and "指标 14" in message and "指标 64" in message
        assert session.exec(select(SelfAssessmentItem)).all() == []


def _submitted_values(session, unit: str, values: dict[int, dict]):
    sa = SelfAssessment(year=2023, unit_code=unit, status="submitted", self_category="良好", report="自评")
    session.add(sa)
    session.flush()
    for no, measures in values.items():
        session.add(SelfAssessmentItem(self_assessment_id=sa.id, indicator_no=no, values=measures))
    return sa


def test_a_correction_needs_the_office_and_a_reason_and_is_audited_old_to_new(year_round):
    with _session(year_round) as session:
        _submitted_values(session, "JS", {14: {"meetings": {"value": 8, "base_value": 6},
                                               "attendees": {"value": 800, "base_value": 700}}})
        session.commit()
        for user, reason, value, words in ((year_round["province"], "核对", 9, "只有协调小组办公室"),
                                           (year_round["office"], " ", 9, "必须写明理由"),
                                           (year_round["office"], "核对", -1, "不能为负数")):
            with pytest.raises(R.RoundError, match=words):
                SO.correct_value(session, user, 2023, "JS", 14, "meetings", value=value, base_value=6, reason=reason)
            session.rollback()
        with pytest.raises(R.RoundError, match="没有可填报的数值项"):
            SO.correct_value(session, year_round["office"], 2023, "JS", 83, "respondents", value=5, base_value=None,
                             reason="问卷数由问卷得出")
        session.rollback()
        SO.correct_value(session, year_round["office"], 2023, "JS", 14, "meetings", value=9, base_value=6,
                         reason="以省委办公厅通报为准", ip="10.0.0.9")
        session.commit()
        mv = R.measure_values(session, 2023)[("JS", 14, "meetings")]
        assert (mv.value, mv.base) == (9, 6) and mv.source == "办公室更正（以省委办公厅通报为准）"
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "statistic")).one()
        assert event.detail["from"] == [8, 6, "自评报告"] and event.detail["to"] == [9, 6]
        assert event.detail["reason"] == "以省委办公厅通报为准" and event.ip == "10.0.0.9"
        basis = next(r.basis for u in R.round_scores(session, 2023) if u.code == "JS" for r in u.indicators if r.no == 14)
        assert "办公室更正（以省委办公厅通报为准）" in basis


def _spread(session, no: int, key: str, js_value: float, base: float = 100.0):
    """Every unit reports about 100 (a little spread), JS reports js_value."""
    for i, unit in enumerate(load_units()):
        value = js_value if unit.code == "JS" else 100.0 + i
        _submitted_values(session, unit.code, {no: {key: {"value": value, "base_value": base}}})


def test_a_flagged_self_assessed_value_is_confirmed_for_that_value_only(year_round):
    office = year_round["office"]
    with _session(year_round) as session:
        _spread(session, 14, "meetings", 2000.0)
        session.commit()
        flagged = [r for r in SO.to_confirm(session, 2023) if r.key == ("JS", 14, "meetings")]
        assert flagged and any("远离其他单位" in f for f in flagged[0].flags) and flagged[0].source == "自评报告"
        SO.confirm_value(session, office, 2023, "JS", 14, "meetings", note="经电话核实属实")
        session.commit()
        assert not [r for r in SO.to_confirm(session, 2023) if r.key == ("JS", 14, "meetings")]
        mv = R.measure_values(session, 2023)[("JS", 14, "meetings")]
        assert mv.source == "自评报告" and mv.value == 2000.0  # the confirmation is no value of its own
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "statistic_confirm")).one()
        assert event.detail["value"] == [2000.0, 100.0] and event.detail["reason"] == "经电话核实属实"
        # the unit changes its value (after a reopened self-assessment): the new value is flagged afresh
        item = session.exec(select(SelfAssessmentItem).join(SelfAssessment).where(
            SelfAssessment.unit_code == "JS", SelfAssessmentItem.indicator_no == 14)).one()
        item.values = {"meetings": {"value": 3000.0, "base_value": 100.0}}
        session.add(item)
        session.commit()
        assert [r for r in SO.to_confirm(session, 2023) if r.key == ("JS", 14, "meetings")]


# ── the template ─────────────────────────────────────────────────────────

def _column(no: int, key: str, field: str = "value") -> int:
    for c, col in enumerate(columns(SYSTEM), 3):
        if (col.indicator.no, col.measure.key, col.field) == (no, key, field):
            return c
    raise AssertionError((no, key, field))


def _row(code: str) -> int:
    return FIRST_DATA_ROW + [u.code for u in load_units()].index(code)


def _template(tmp_path, year: int = 2023, edit=None) -> bytes:
    path = write_template(system_in_force(year), year, load_units(), tmp_path / f"t{year}.xlsx")
    if edit:
        wb = openpyxl.load_workbook(path)
        edit(wb[SHEET])
        wb.save(path)
    return path.read_bytes()


def test_the_template_lists_units_in_the_national_order_with_units_of_measure_and_definitions(tmp_path):
    wb = openpyxl.load_workbook(io.BytesIO(_template(tmp_path)))
    ws = wb[SHEET]
    assert "2023年度统计数据填报模板" in ws["A1"].value and "指标体系版本 2023.1" in ws["A1"].value
    assert [ws.cell(row=FIRST_DATA_ROW + i, column=2).value for i in range(3)] == ["北京市", "天津市", "河北省"]
    assert ws.cell(row=FIRST_DATA_ROW, column=1).value == "BJ"
    assert ws.freeze_panes == "C5" and ws.print_title_rows == "$1:$4"
    c = _column(64, "membership_rate")
    assert ws.cell(row=2, column=c).value == "指标64 职工入会率" and ws.cell(row=4, column=c).value == "本年值（%，0–100）"
    assert ws.cell(row=4, column=c + 1).value == "基期值（%，0–100）"
    assert "统计口径" in ws.cell(row=3, column=c).comment.text
    notes = [c.value for row in wb["填报说明"].iter_rows() for c in row]
    assert wb["模板信息"].sheet_state == "hidden" and "统计口径" in notes and SYSTEM.get(64).measures[0].definition in notes
    covered = {(col.indicator.no, col.measure.key) for col in columns(SYSTEM)}
    assert not any(no in (83, 84, 85) for no, _ in covered) and (57, "voluntary_turnover_rate") in covered


def test_every_bad_cell_is_reported_by_sheet_row_and_column_and_nothing_is_stored(year_round, tmp_path):
    def bad(ws):
        ws.cell(row=_row("JS"), column=_column(14, "meetings"), value="约50")
        ws.cell(row=_row("SH"), column=_column(14, "attendees"), value=-5)
        ws.cell(row=_row("ZJ"), column=_column(64, "membership_rate"), value=130)
        ws.cell(row=_row("GD"), column=_column(14, "meetings"), value=3.5)
        ws.cell(row=_row("BJ"), column=_column(64, "membership_rate"), value=88)  # a good cell in a bad file
        ws.cell(row=_row("BT") + 1, column=1, value="XX")
        ws.cell(row=_row("BT") + 1, column=_column(14, "meetings"), value=3)
        ws.cell(row=_row("TJ"), column=_column(14, "meetings"), value="=1+1")
    data = _template(tmp_path, edit=bad)
    with _session(year_round) as session:
        with pytest.raises(SheetRejected) as err:
            SO.import_statistics(session, year_round["office"], 2023, data, "统计.xlsx")
        session.rollback()
        found = {(p.sheet, p.row, p.column): p.reason for p in err.value.problems}
        letter = lambda no, key: openpyxl.utils.get_column_letter(_column(no, key))
        assert "实际是文字“约50”" in found[(SHEET, _row("JS"), letter(14, "meetings"))]
        assert "不能为负数" in found[(SHEET, _row("SH"), letter(14, "attendees"))]
        assert "不能超过100%" in found[(SHEET, _row("ZJ"), letter(64, "membership_rate"))]
        assert "应为整数" in found[(SHEET, _row("GD"), letter(14, "meetings"))]
        assert "未知单位“XX”" in found[(SHEET, _row("BT") + 1, "A")]
        assert "公式但没有计算结果" in found[(SHEET, _row("TJ"), letter(14, "meetings"))]
        assert len(found) == 6 and "未导入任何数据" in str(err.value)
        assert session.exec(select(StatisticValue)).all() == []
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "statistic_import")).all() == []


@pytest.mark.parametrize("edit, words", [
    (lambda ws: ws.cell(row=3, column=_column(14, "meetings"), value="会议"), ["表头被改动", "应为“产改工作推进会"]),
    (lambda ws: ws.insert_cols(4), ["表头被改动"]),
    (lambda ws: ws.cell(row=2, column=ws.max_column + 1, value="备注"), ["模板没有这一列"]),
    (lambda ws: ws.cell(row=_row("JS"), column=2, value="浙江省"), ["与单位代码 JS（江苏省）不符"]),
    (lambda ws: ws.cell(row=_row("BT") + 1, column=1, value="JS"), ["江苏省重复出现"]),
])
def test_a_changed_header_or_unit_column_is_reported(year_round, tmp_path, edit, words):
    with _session(year_round) as session:
        with pytest.raises(SheetRejected) as err:
            SO.import_statistics(session, year_round["office"], 2023, _template(tmp_path, edit=edit), "统计.xlsx")
        text = "；".join(p.text() for p in err.value.problems)
        assert all(w in text for w in words), text


def test_a_template_of_another_year_or_no_template_at_all_is_refused(year_round, tmp_path):
    with _session(year_round) as session:
        with pytest.raises(SheetRejected) as err:
            SO.import_statistics(session, year_round["office"], 2023, _template(tmp_path, 2022), "2022.xlsx")
        assert "这是2022年度的模板，不能导入2023年度" in err.value.problems[0].reason
        wb = openpyxl.Workbook()
        wb.active.title = SHEET
        buf = io.BytesIO()
        wb.save(buf)
        with pytest.raises(SheetRejected) as err:
            SO.import_statistics(session, year_round["office"], 2023, buf.getvalue(), "自制.xlsx")
        assert "不是考评系统生成的统计数据填报模板" in err.value.problems[0].reason
        for data, name, words in ((b"not a workbook", "x.xlsx", "已损坏"), (b"a,b\n1,2\n", "x.xls", "只能导入"),
                                  ("单位代码,单位名称\nJS,江苏省\n".encode(), "x.csv", "不是考评系统生成的")):
            with pytest.raises(SheetRejected) as err:
                SO.import_statistics(session, year_round["office"], 2023, data, name)
            assert words in err.value.problems[0].reason


def test_a_good_template_is_stored_whole_with_flags_and_an_audit_of_every_change(year_round, tmp_path):
    office = year_round["office"]
    with _session(year_round) as session:
        _submitted_values(session, "JS", {14: {"meetings": {"value": 8, "base_value": 6},
                                               "attendees": {"value": 800, "base_value": 700}}})
        session.commit()

        def fill(ws):
            for i, unit in enumerate(load_units()):
                ws.cell(row=_row(unit.code), column=_column(64, "membership_rate"), value=60 + i * 0.5)
                ws.cell(row=_row(unit.code), column=_column(64, "membership_rate", "base_value"), value=58)
            ws.cell(row=_row("JS"), column=_column(14, "meetings"), value="12")  # text that is a number
            ws.cell(row=_row("SH"), column=_column(64, "membership_rate"), value=1.5)  # a slip far below the rest
        outcome = SO.import_statistics(session, office, 2023, _template(tmp_path, edit=fill), "统计.xlsx", ip="10.1.1.1")
        session.commit()
        assert outcome.changed == 33 and outcome.unchanged == 0
        assert [r.key for r in outcome.flagged] == [("SH", 64, "membership_rate")]
        values = R.measure_values(session, 2023)
        assert values[("JS", 14, "meetings")].value == 12 and values[("JS", 14, "meetings")].base == 6  # base kept
        assert values[("JS", 14, "meetings")].source == "统计导入"
        assert values[("JS", 14, "attendees")].source == "自评报告"  # a blank cell changes nothing
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "statistic_import")).one()
        assert event.detail["values"] == 33
        assert "江苏省 指标14“产改工作推进会、现场会、经验交流会数量”：8（基期6） → 12（基期6）" in event.detail["changes"]
        assert event.ip == "10.1.1.1"
        again = SO.import_statistics(session, office, 2023, _template(tmp_path, edit=fill), "统计.xlsx")
        assert (again.changed, again.unchanged) == (0, 33)
        # filled template: today's values, ready to correct in bulk
        filled = SO.write_statistics_template(session, 2023, tmp_path / "filled.xlsx", filled=True)
        ws = openpyxl.load_workbook(filled)[SHEET]
        assert ws.cell(row=_row("JS"), column=_column(14, "meetings")).value == 12
        assert ws.cell(row=_row("JS"), column=_column(14, "attendees")).value == 800


def test_a_closed_round_takes_no_more_values(year_round, tmp_path):
    with _session(year_round) as session:
        R.get_round(session, 2023).status = "closed"
        session.commit()
        with pytest.raises(R.RoundError, match="已结束"):
            SO.import_statistics(session, year_round["office"], 2023, _template(tmp_path), "统计.xlsx")
        with pytest.raises(R.RoundError, match="已结束"):
            SO.correct_value(session, year_round["office"], 2023, "JS", 14, "meetings", value=1, base_value=1,
                             reason="晚到的更正")


def test_a_file_that_unpacks_to_too_much_is_refused_before_it_is_read(year_round, tmp_path, monkeypatch):
    import rounds.sheets as sheets
    data = _template(tmp_path)
    monkeypatch.setattr(sheets, "MAX_UNPACKED", 10_000)  # the template unpacks to more than this
    with _session(year_round) as session:
        with pytest.raises(SheetRejected) as err:
            SO.import_statistics(session, year_round["office"], 2023, data, "统计.xlsx")
    assert "解压后过大" in err.value.problems[0].reason


def test_a_cell_far_beyond_the_template_is_refused_without_reading_the_empty_space(year_round, tmp_path):
    data = _template(tmp_path, edit=lambda ws: ws.cell(row=1_048_576, column=16_384, value=1))
    with _session(year_round) as session:
        with pytest.raises(SheetRejected) as err:
            SO.import_statistics(session, year_round["office"], 2023, data, "统计.xlsx")
    assert "超过模板允许的大小" in err.value.problems[0].reason


_TEMPLATE_BYTES: list[bytes] = []


def _template_bytes() -> bytes:
    if not _TEMPLATE_BYTES:
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as tmp:
            _TEMPLATE_BYTES.append(write_template(SYSTEM, 2023, load_units(), Path(tmp) / "t.xlsx").read_bytes())
    return _TEMPLATE_BYTES[0]


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
       st.one_of(st.none(), st.integers(0, 10**6)))
def test_a_damaged_template_is_refused_in_chinese_never_with_an_exception(flips, cut):
    from rounds.statistics_sheet import read_template
    data = bytearray(_template_bytes())
    for position, byte in flips:
        data[position % len(data)] = byte
    if cut is not None:
        data = data[: cut % len(data)]
    try:
        read_template(SYSTEM, 2023, load_units(), bytes(data), "统计.xlsx")
    except SheetRejected as exc:
        assert exc.problems and all(any("\u4e00" <= ch <= "\u9fff" for ch in p.reason) for p in exc.problems)


@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False), st.floats(min_value=1e-6, max_value=1e9,
                                                                           allow_nan=False))
def test_a_jump_is_said_in_its_own_direction_with_no_zero_times(value, before):
    flags = plausibility_flags(COUNT, value, None, {}, previous=before)
    for flag in flags:
        assert ("增长到" in flag) == (value > before) and ("下降" in flag) == (value < before)
        assert not re.search(r"(?<![0-9.])0\.0倍", flag) and "下降100" not in flag
