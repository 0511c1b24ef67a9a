"""The response template of a questionnaire: written for responses gathered on paper or another platform
(XLSX, or CSV by the file name) and read back, every bad cell reported (rounds/sheets.py).

Layout of the sheet “问卷录入”: row 1 the title (the readable marker: year, audience, questionnaire
version), row 2 the header (单位代码, 单位名称, 第1题 … with the item's text), one response per row from
row 3.  An answer is 1–5 or the scale's word, 0 or the “don't know” word, or blank (not answered).
Pure: no database; rounds/surveys.import_responses stores what this reads.
"""
from __future__ import annotations

from pathlib import Path

from rounds.sheets import (BORDER, CODE_FILL, HEADER_FONT, CellProblem, Marker, RowUnits, SheetRejected, column,
                           open_template, print_setup, reject_if, style_headers, text_cell, title_row,
                           write_marker)
from reports.cells import formula_safe
from rubrics.indicators import load_units
from rubrics.questionnaires import Questionnaire, questionnaire

MAX_IMPORT_ROWS = 50_000
SHEET = "问卷录入"
NOTES_SHEET = "录入说明"
HEADER_ROW = 2
FIRST_DATA_ROW = 3


def marker_for(q: Questionnaire, year: int) -> Marker:
    return Marker("survey", year, q.version, q.audience, q.name)


def expected_header(q: Questionnaire) -> list[str]:
    return ["单位代码", "单位名称"] + [f"第{n}题 {item.text}" for n, item in enumerate(q.items, 1)]


def write_response_template(year: int, audience: str, out: Path) -> Path:
    """The template for responses gathered on paper or another platform: XLSX, or CSV by the file name."""
    q = questionnaire(audience)
    marker = marker_for(q, year)
    header = expected_header(q)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        import csv
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([formula_safe(marker.title())])
            writer.writerow([formula_safe(h) for h in header])
        return out
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    title_row(ws, marker, len(header))
    for c, text in enumerate(header, 1):
        text_cell(ws, HEADER_ROW, c, text)
    style_headers(ws, HEADER_ROW, HEADER_ROW, len(header))
    ws.row_dimensions[HEADER_ROW].height = 90
    ws.column_dimensions["A"].width = 9
    ws.column_dimensions["B"].width = 14
    for c in range(3, len(header) + 1):
        ws.column_dimensions[column(c)].width = 13
    for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + 3):  # a few ruled rows to show where answers go
        for c in range(1, len(header) + 1):
            ws.cell(row=r, column=c).border = BORDER
        ws.cell(row=r, column=1).fill = CODE_FILL
    from openpyxl.worksheet.datavalidation import DataValidation
    rule = DataValidation(type="whole", operator="between", formula1="0", formula2="5", allow_blank=True,
                          error="请填写 1–5 的整数，“不了解”填 0，未作答留空。", errorTitle="答案无效", showErrorMessage=True)
    rule.add(f"C{FIRST_DATA_ROW}:{column(len(header))}{MAX_IMPORT_ROWS}")
    ws.add_data_validation(rule)
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=3)
    print_setup(ws, HEADER_ROW)
    notes = wb.create_sheet(NOTES_SHEET)
    lines = [f"{year}年度{q.title}：录入说明",
             f"问卷对象：{q.respondents}；对应指标 {q.indicator_no}。",
             "1. 每份问卷填一行：单位代码（如 JS）或单位名称（如 江苏省），然后逐题填写答案。",
             "2. 答案填 1–5 的整数：" + "，".join(f"{i} = {label}" for i, label in enumerate(q.scale, 1))
             + (f"；“{q.unknown}”填 0" if q.unknown else "") + "；未作答留空。也可以直接填写等级文字（如“比较满意”）。",
             "3. 每份问卷至少要对一半的题目作出评价，否则为无效问卷。",
             "4. 不要修改第1–2行和列的顺序。导入时逐格检查，任一单元格有误，整份文件不导入，并列出每处错误所在的行列；"
             "同一文件只能导入一次。"]
    for i, line in enumerate(lines, 1):
        cell = text_cell(notes, i, 1, line)
        if i == 1:
            cell.font = HEADER_FONT
    notes.column_dimensions["A"].width = 120
    write_marker(wb, marker)
    wb.save(out)
    return out


def _answer_cell(q: Questionnaire, value) -> tuple[int | None, str | None]:
    """An answer as typed in a cell: 1–5, 0 / the “don't know” label, a scale label; blank is no answer."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, "应填写 1–5 的整数"
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text in q.scale:
        return q.scale.index(text) + 1, None
    if q.unknown and text in (q.unknown, "0"):
        return 0, None
    if text in {"1", "2", "3", "4", "5"}:
        return int(text), None
    allowed = f"1–5 的整数{'或 0（' + q.unknown + '）' if q.unknown else ''}"
    return None, f"答案应为 {allowed}，实际是“{text[:20]}”"


def read_responses(q: Questionnaire, year: int, data: bytes, filename: str) -> list[tuple[str, dict[str, int]]]:
    """Every answer sheet of a filled-in response template, or SheetRejected listing every bad cell."""
    table = open_template(data, filename, SHEET, marker_for(q, year), [expected_header(q)], HEADER_ROW,
                          max_rows=MAX_IMPORT_ROWS + FIRST_DATA_ROW)
    sheets, problems = [], []
    last_col = 2 + len(q.items)
    for r, row, unit in RowUnits(load_units()).rows(table, FIRST_DATA_ROW, problems):
        answers, bad = {}, False
        for n, item in enumerate(q.items, 1):
            value, why = _answer_cell(q, table.cell(r, 2 + n))
            if why:
                problems.append(CellProblem(SHEET, r, column(2 + n), f"第{n}题{why}"))
                bad = True
            elif value is not None:
                answers[item.key] = value
        for c in range(last_col + 1, len(row) + 1):
            if row[c - 1] not in (None, ""):
                problems.append(CellProblem(SHEET, r, column(c), "模板没有这一列"))
                bad = True
        if not bad and q.score(answers) is None:
            problems.append(CellProblem(SHEET, r, "", f"有效作答不足一半的题目（{len(answers)}/{len(q.items)}，"
                                                      "“不了解”不计入），是无效问卷；请删去这一行或补全答案"))
            continue
        if not bad:
            sheets.append((unit.code, answers))
    reject_if(problems, filename)
    if not sheets:
        raise SheetRejected([CellProblem(SHEET, FIRST_DATA_ROW, "", "文件中没有问卷数据")], filename)
    return sheets


def write_links(year: int, rows: list[tuple[str, str, str, str]], out: Path) -> Path:
    """The links to hand out, one row per survey: unit, audience, link, state (text cells formula-safe)."""
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "问卷链接"
    header = ["单位", "问卷对象", "填写链接", "状态"]
    text_cell(ws, 1, 1, f"{year}年度满意度问卷填写链接（请按单位分发，链接不要公开张贴）", font=HEADER_FONT)
    for c, text in enumerate(header, 1):
        text_cell(ws, 2, c, text)
    style_headers(ws, 2, 2, len(header))
    for r, row in enumerate(rows, 3):
        for c, text in enumerate(row, 1):
            text_cell(ws, r, c, text, border=BORDER)
    for letter, width in zip("ABCD", (16, 22, 70, 8)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A3"
    print_setup(ws, 2, "A:B")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
