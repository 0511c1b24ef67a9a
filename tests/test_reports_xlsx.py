"""The score workbook holds numbers (not text) in the right places."""

from __future__ import annotations

import openpyxl
import pytest

from test_reports_samples import sample_score_sheet

from reports.scores_xlsx import HEADER_ROW, write_scores_xlsx


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    out = tmp_path_factory.mktemp("xlsx") / "评分.xlsx"
    write_scores_xlsx(sample_score_sheet(), out)
    return openpyxl.load_workbook(out)


def rows_as_dicts(ws):
    header = [c.value for c in ws[HEADER_ROW]]
    return [dict(zip(header, (c for c in row))) for row in ws.iter_rows(min_row=HEADER_ROW + 1)
            if row[0].value is not None and not str(row[0].value).startswith("注：")]


def test_sheet_names_and_frozen_headers(workbook):
    assert workbook.sheetnames == ["汇总", "评分明细", "一致性"]
    assert workbook["汇总"].freeze_panes == "C3"  # below the title and the headers, right of the unit
    assert workbook["评分明细"].freeze_panes == "A3"
    assert workbook["一致性"].freeze_panes == "A3"
    assert workbook["汇总"].column_dimensions["B"].width >= 10  # 省（区、市） fits


def test_summary_sums_consensus_per_first_level_indicator(workbook):
    ws = workbook["汇总"]
    assert [c.value for c in ws[HEADER_ROW]] == ["单位代码", "省（区、市）", "组织领导", "素质提升", "总分", "评价类别", "待定指标数"]
    rows = {r["省（区、市）"].value: r for r in rows_as_dicts(ws)}
    js = rows["江苏省"]
    assert js["组织领导"].value == pytest.approx(6.25)
    assert js["组织领导"].data_type == "n" and js["组织领导"].number_format == "0.00"
    assert js["素质提升"].value == 0  # the only 素质提升 score is still disputed
    assert js["总分"].value == pytest.approx(86.5)  # explicit total wins
    assert js["评价类别"].value == "优秀"
    assert js["待定指标数"].value == 1
    # without an explicit total the agreed scores are summed
    assert rows["广东省"]["总分"].value == pytest.approx(6.0)


def test_details_one_row_per_review_with_numbers(workbook):
    rows = rows_as_dicts(workbook["评分明细"])
    assert len(rows) == 11  # 7 reviews for 江苏, 3 for 广东 + 1 placeholder for an unreviewed indicator
    disputed = next(r for r in rows if r["省（区、市）"].value == "江苏省" and r["指标序号"].value == 30
                    and r["评审人"].value == "李四")
    assert disputed["评分"].value == pytest.approx(3.5) and disputed["评分"].data_type == "n"
    assert disputed["状态"].value == "有争议"
    assert disputed["共识分"].value is None
    assert disputed["α系数"].value == pytest.approx(0.7)
    assert disputed["κ系数"].value == pytest.approx(0.66)
    agreed = next(r for r in rows if r["省（区、市）"].value == "江苏省" and r["指标序号"].value == 1
                  and r["评审人"].value == "张三")
    assert agreed["共识分"].value == pytest.approx(2.75)
    missing = next(r for r in rows if r["省（区、市）"].value == "广东省" and r["指标序号"].value == 30)
    assert missing["状态"].value == "未评" and missing["评分"].value is None


def test_agreement_sheet_values_and_low_alpha_highlight(workbook):
    ws = workbook["一致性"]
    rows = {r["指标序号"].value: r for r in rows_as_dicts(ws) if isinstance(r["指标序号"].value, int)}
    assert rows[1]["α系数"].value == pytest.approx(0.81)
    assert rows[1]["α系数"].number_format == "0.000"
    assert rows[2]["κ系数"].value is None
    assert rows[19]["α系数"].value is None
    assert rows[1]["评分记录数"].value == 3
    assert rows[30]["待定单位数"].value == 2
    assert rows[2]["α系数"].fill.fgColor.rgb.endswith("F4CCCC")  # 0.52 < 0.667
    assert not rows[1]["α系数"].fill.fgColor.rgb.endswith("F4CCCC")


def test_every_sheet_has_a_title_row_and_prints_as_an_office_table(workbook):
    for ws in workbook.worksheets:
        title = ws["A1"].value
        assert title.startswith("2023年度") and "评价考核" in title, ws.title
        assert ws["A1"].font.bold and any(str(r).startswith("A1:") for r in ws.merged_cells.ranges)
        assert ws.print_title_rows.replace("$", "") == "1:2"  # title and headers on every printed page
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.page_setup.fitToHeight == 0
        assert ws.auto_filter.ref.startswith("A2:")
        assert "&P" in ws.oddFooter.center.text
        for column, header in enumerate(ws[HEADER_ROW], 1):
            width = ws.column_dimensions[header.column_letter].width
            needed = sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(header.value))  # CJK is two columns wide
            assert 8 <= width <= 50 and width >= min(needed, 50), (ws.title, header.value)
