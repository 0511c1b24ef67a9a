"""The statistics template of a year: units × measures in one XLSX, written for the office and read back.

Layout of the sheet “统计数据” (one rule here for the writer and the reader):

    row 1   title: year, indicator-system version and template format (the readable marker)
    row 2   指标 N 名称          (merged over the indicator's columns)
    row 3   the measure's label  (its 统计口径 as a cell comment)
    row 4   本年值（unit）/ 基期值（unit）
    row 5…  one row per unit in the national order: code (A), name (B), then the numbers

A hidden sheet carries the machine-readable marker; “填报说明” lists every measure with its unit,
definition and direction.  Pure: no database; rounds/statistics_office.py stores what this reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment
from openpyxl.worksheet.datavalidation import DataValidation

from rounds.sheets import (BORDER, CODE_FILL, HEADER_FONT, CellProblem, Marker, RowUnits, cell_number, column,
                           open_template, print_setup, reject_if, style_headers, text_cell, title_row, write_marker)
from rounds.statistics import WHOLE_UNITS, check_value
from rubrics.indicators import DIRECTIONS

SHEET = "统计数据"
NOTES_SHEET = "填报说明"
HEADER_ROWS = (2, 3, 4)
FIRST_DATA_ROW = 5
MAX_ROWS = 300


@dataclass(frozen=True)
class Column:
    indicator: object
    measure: object
    field: str  # "value" | "base_value"

    @property
    def header(self) -> str:
        what = "基期值" if self.field == "base_value" else "本年值"
        return f"{what}（{self.measure.unit}{'，0–100' if self.measure.share else ''}）"


def template_measures(system) -> list[tuple[object, object]]:
    """(indicator, measure) pairs the template asks for: every measure of the quantitative and mixed
    indicators except the satisfaction surveys' (their numbers come from the survey responses)."""
    return [(ind, m) for ind in system.indicators if ind.measures and ind.source != "survey" for m in ind.measures]


def columns(system) -> list[Column]:
    out = []
    for ind, m in template_measures(system):
        out.append(Column(ind, m, "value"))
        if m.growth:
            out.append(Column(ind, m, "base_value"))
    return out


def marker_for(system, year: int) -> Marker:
    return Marker("statistics", year, system.version)


def expected_headers(system) -> list[list[str | None]]:
    """Rows 2–4 as the template writes them (merged cells read back as their first cell)."""
    cols = columns(system)
    row2, row3, row4 = ["单位代码", "单位名称"], [None, None], [None, None]
    for i, col in enumerate(cols):
        first_of_indicator = i == 0 or cols[i - 1].indicator.no != col.indicator.no
        first_of_measure = first_of_indicator or cols[i - 1].measure.key != col.measure.key
        row2.append(f"指标{col.indicator.no} {col.indicator.name}" if first_of_indicator else None)
        row3.append(col.measure.label if first_of_measure else None)
        row4.append(col.header)
    return [row2, row3, row4]


def write_template(system, year: int, units, out: Path, values: dict | None = None) -> Path:
    """The template of `year`; values {(unit, no, key): MeasureValue} pre-fills the cells (optional)."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    marker = marker_for(system, year)
    cols = columns(system)
    last = 2 + len(cols)
    title_row(ws, marker, last)
    headers = expected_headers(system)
    for r, row in zip(HEADER_ROWS, headers):
        for c, text in enumerate(row, 1):
            if text is not None:
                text_cell(ws, r, c, text)
    # merge: the unit columns over rows 2–4, each indicator over its columns, each measure over value/base
    for c in (1, 2):
        ws.merge_cells(start_row=2, start_column=c, end_row=4, end_column=c)
    _merge_runs(ws, 2, headers[0])
    _merge_runs(ws, 3, headers[1])
    style_headers(ws, 2, 4, last)
    for c, col in enumerate(cols, 3):
        if headers[1][c - 1] is not None:
            ws.cell(row=3, column=c).comment = Comment(f"统计口径：{col.measure.definition}", "考评")
    ws.row_dimensions[2].height = 48
    ws.row_dimensions[3].height = 64
    ws.row_dimensions[4].height = 30
    ws.column_dimensions["A"].width = 9
    ws.column_dimensions["B"].width = 16
    for c in range(3, last + 1):
        ws.column_dimensions[column(c)].width = 14
    for i, unit in enumerate(units):
        r = FIRST_DATA_ROW + i
        text_cell(ws, r, 1, unit.code, fill=CODE_FILL, border=BORDER)
        text_cell(ws, r, 2, unit.name, font=HEADER_FONT, border=BORDER)
        for c, col in enumerate(cols, 3):
            cell = ws.cell(row=r, column=c)
            cell.border = BORDER
            mv = (values or {}).get((unit.code, col.indicator.no, col.measure.key))
            number = None if mv is None else (mv.value if col.field == "value" else mv.base)
            if number is not None:
                cell.value = number
    _validations(ws, cols, FIRST_DATA_ROW, FIRST_DATA_ROW + len(units) - 1)
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=3)
    print_setup(ws, 4)
    _notes(wb.create_sheet(NOTES_SHEET), system, year)
    write_marker(wb, marker)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def _merge_runs(ws, row: int, texts: list[str | None]) -> None:
    """Merge each header text over the empty (continuation) cells after it."""
    starts = [c for c in range(3, len(texts) + 1) if texts[c - 1] is not None] + [len(texts) + 1]
    for start, following in zip(starts, starts[1:]):
        if following - 1 > start:
            ws.merge_cells(start_row=row, start_column=start, end_row=row, end_column=following - 1)


def _validations(ws, cols: list[Column], first: int, last: int) -> None:
    """Excel/WPS refuse an impossible number as it is typed (the import checks again, whatever the file)."""
    rules = {
        "share": DataValidation(type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True,
                                error="比例应填写0到100之间的数字。", errorTitle="数值无效", showErrorMessage=True),
        "whole": DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                error="应填写不小于0的整数。", errorTitle="数值无效", showErrorMessage=True),
        "decimal": DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                  error="应填写不小于0的数字。", errorTitle="数值无效", showErrorMessage=True),
    }
    for c, col in enumerate(cols, 3):
        kind = "share" if col.measure.share else ("whole" if col.measure.unit in WHOLE_UNITS else "decimal")
        rules[kind].add(f"{column(c)}{first}:{column(c)}{last}")
    for rule in rules.values():
        if rule.sqref:
            ws.add_data_validation(rule)


def _notes(ws, system, year: int) -> None:
    lines = [
        f"{year}年度统计数据填报说明",
        "1. 每个单位一行，单位按全国统一顺序排列；请不要修改表头、单位代码，不要插入、删除或移动行列。",
        "2. 只填数字：比例（%）填 0–100 之间的数（如 35.2 表示 35.2%）；人数、件数等填整数；没有数据请留空。",
        "3. “基期值”为本单位 2022 年（评价基准年）的数值，用于计算增长。",
        "4. 空白单元格不导入，系统中已有的数值保持不变；填写的数值取代自评报告中的同项数值，来源记为“统计导入”。",
        "5. 导入时逐格检查：任一单元格有误（文字、负数、比例超过100、单位不存在、非本年度模板等），整份文件不导入，"
        "并列出每处错误所在的行列。较上年或基期变化超过3倍、明显偏离其他单位的数值会标为“待核实”，由办公室确认。",
    ]
    for i, line in enumerate(lines, 1):
        cell = text_cell(ws, i, 1, line)
        if i == 1:
            cell.font = HEADER_FONT
    header = ["指标编号", "指标名称", "数值项", "计量单位", "是否比例", "需填基期值", "计分方向", "统计口径"]
    start = len(lines) + 2
    for c, text in enumerate(header, 1):
        text_cell(ws, start, c, text)
    style_headers(ws, start, start, len(header))
    for r, (ind, m) in enumerate(template_measures(system), start + 1):
        row = [str(ind.no), ind.name, m.label, m.unit, "是" if m.share else "否", "是" if m.growth else "否",
               DIRECTIONS.get(m.direction, ""), m.definition]
        for c, text in enumerate(row, 1):
            text_cell(ws, r, c, text, border=BORDER, alignment=Alignment(wrap_text=True, vertical="top"))
    for letter, width in zip("ABCDEFGH", (9, 24, 30, 9, 9, 11, 12, 70)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = ws.cell(row=start + 1, column=1)
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows = f"{start}:{start}"


@dataclass
class ParsedStatistics:
    """What a template carried: {(unit, indicator no, measure key): {"value": …, "base_value": …}},
    only the cells that were filled in."""
    values: dict[tuple[str, int, str], dict]
    units: list[str]


def read_template(system, year: int, units, data: bytes, filename: str) -> ParsedStatistics:
    """Every value of a filled-in template, or SheetRejected listing every bad cell (sheet, row, column,
    reason): text in a number cell, a negative count, a share above 100, an unknown or repeated unit,
    a template of another year or version, a changed header."""
    table = open_template(data, filename, SHEET, marker_for(system, year), expected_headers(system), HEADER_ROWS[0],
                          max_rows=MAX_ROWS)
    cols = columns(system)
    problems: list[CellProblem] = []
    seen: dict[str, int] = {}
    values: dict[tuple[str, int, str], dict] = {}
    for r, row, unit in RowUnits(units).rows(table, FIRST_DATA_ROW, problems):
        if unit.code in seen:
            problems.append(CellProblem(SHEET, r, "A", f"{unit.name}重复出现（已在第{seen[unit.code]}行）"))
            continue
        seen[unit.code] = r
        for c, col in enumerate(cols, 3):
            raw = table.cell(r, c)
            where = f"“{col.measure.label}”{'（基期值）' if col.field == 'base_value' else ''}"
            if (r, c) in table.uncomputed:
                problems.append(CellProblem(SHEET, r, column(c), f"{where}是公式但没有计算结果；请在 Excel 中重新计算"
                                                                f"或粘贴为数值后保存"))
                continue
            number, why = cell_number(raw)
            why = why or check_value(col.measure, number)
            if why:
                problems.append(CellProblem(SHEET, r, column(c), f"{where}：{why}"))
                continue
            if number is not None:
                values.setdefault((unit.code, col.indicator.no, col.measure.key), {})[col.field] = number
        for c in range(len(cols) + 3, len(row) + 1):
            if row[c - 1] not in (None, ""):
                problems.append(CellProblem(SHEET, r, column(c), "模板没有这一列，请把数值填在对应指标的列中"))
    reject_if(problems, filename)
    return ParsedStatistics(values, list(seen))
