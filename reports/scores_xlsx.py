"""Score workbook for the evaluation office (Excel/WPS 表格).

Sheets: 汇总 (unit × first-level totals), 评分明细 (every reviewer's raw score)
and 一致性 (inter-rater agreement per indicator).  Scores are written as
numbers so staff can sort, sum and pivot them.

Every sheet reads like an office table: a title in row 1, the column headers in row 2 frozen
while scrolling, columns as wide as their content, and it prints as it is — A4 landscape, all
columns on one page width, title and headers repeated on every page, page numbers in the footer.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .cells import xlsx_safe
from .model import LEVEL1_INDICATORS, ScoreSheet

SCORE_FORMAT = "0.00"
AGREEMENT_FORMAT = "0.000"
#: Krippendorff's lower bound for drawing even tentative conclusions
ALPHA_TENTATIVE = 0.667

HEADER_ROW = 2  # row 1 holds the sheet's title
_TITLE_FONT = Font(name="黑体", bold=True, size=14)
_HEADER_FONT = Font(name="黑体", bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
_LOW_FILL = PatternFill("solid", fgColor="F4CCCC")
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def level1_order(sheet: ScoreSheet) -> list[str]:
    """First-level indicators present in the sheet, in the official order."""
    present = []
    for _, _, level1 in sheet.indicators:
        if level1 not in present:
            present.append(level1)
    official = [name for name in LEVEL1_INDICATORS if name in present]
    return official + [name for name in present if name not in official]


def level1_totals(sheet: ScoreSheet, code: str) -> dict[str, float]:
    """Points per first-level indicator: the computed points when the sheet carries them, else the
    agreed scores (undecided ones skipped)."""
    totals = {name: 0.0 for name in level1_order(sheet)}
    source = sheet.points if sheet.points else sheet.consensus
    for no, _, level1 in sheet.indicators:
        value = source.get((code, no))
        if value is not None:
            totals[level1] = round(totals[level1] + float(value), 4)  # no float dust in the cells
    return totals


def _title(sheet: ScoreSheet, what: str) -> str:
    return f"{sheet.year}年度产业工人队伍建设改革评价考核{what}"


def write_scores_xlsx(sheet: ScoreSheet, out: Path) -> Path:
    wb = Workbook()
    _summary(wb.active, sheet)
    if sheet.points:
        _points(wb.create_sheet("指标得分"), sheet)
    _details(wb.create_sheet("评分明细"), sheet)
    _agreement(wb.create_sheet("一致性"), sheet)
    if sheet.notice:
        _mark(wb, sheet.notice)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def _summary(ws, sheet: ScoreSheet) -> None:
    ws.title = "汇总"
    groups = level1_order(sheet)
    headers = ["单位代码", "省（区、市）", *groups, "总分", "评价类别", "待定指标数"]
    if sheet.points:
        headers.append("已评权重占比")
    rows = []
    for code, name in sheet.units:
        per_group = level1_totals(sheet, code)
        source = sheet.points if sheet.points else sheet.consensus
        pending = sum(1 for no, _, _ in sheet.indicators if source.get((code, no)) is None)
        total = sheet.totals.get(code)
        if total is None:
            total = sum(per_group.values())
        cells = [per_group[g] for g in groups]
        if sheet.points:  # a group or total with nothing scored is 未评, never 0
            scored = {level1 for no, _, level1 in sheet.indicators if sheet.points.get((code, no)) is not None}
            cells = [c if g in scored else "未评" for g, c in zip(groups, cells)]
            total = total if scored else "未评"
        row = [code, name, *cells, total if isinstance(total, str) else float(total),
               sheet.categories.get(code, ""), pending]
        if sheet.points:
            row.append(f"{sheet.scored_share.get(code, 0):.0%}")
        rows.append(row)
    _write_table(ws, _title(sheet, "得分汇总"), headers, rows, score_columns=range(3, 3 + len(groups) + 1),
                 frozen_columns=2)  # keep the unit visible while scrolling sideways


def _points(ws, sheet: ScoreSheet) -> None:
    """Every unit × indicator: the points the computation gave and where they came from."""
    headers = ["单位代码", "省（区、市）", "指标序号", "指标名称", "一级指标", "类型", "分值", "得分", "计分依据"]
    rows = []
    for code, name in sheet.units:
        for no, ind_name, level1 in sheet.indicators:
            kind, weight = sheet.weights.get(no, ("", None))
            points = sheet.points.get((code, no))
            rows.append([code, name, no, ind_name, level1, kind, _num(weight),
                         "未评" if points is None else float(points), sheet.basis.get((code, no), "")])
    _write_table(ws, _title(sheet, "指标得分"), headers, rows, score_columns=(7, 8), frozen_columns=2)


def _details(ws, sheet: ScoreSheet) -> None:
    headers = ["单位代码", "省（区、市）", "指标序号", "指标名称", "一级指标", "评审人", "评分",
               "状态", "共识分", "α系数", "κ系数"]
    rows = []
    for code, name in sheet.units:
        for no, ind_name, level1 in sheet.indicators:
            alpha, kappa = sheet.agreement.get(no, (None, None))
            consensus = sheet.consensus.get((code, no))
            # keep a row even without reviews so missing work is visible
            reviews = sheet.raw.get((code, no)) or [("", None, "未评")]
            for reviewer, value, status in reviews:
                rows.append([code, name, no, ind_name, level1, reviewer, _num(value), status,
                             _num(consensus), _num(alpha), _num(kappa)])
    _write_table(ws, _title(sheet, "评分明细"), headers, rows, score_columns=(7, 9), agreement_columns=(10, 11))


def _agreement(ws, sheet: ScoreSheet) -> None:
    headers = ["指标序号", "指标名称", "一级指标", "α系数", "κ系数", "评分记录数", "待定单位数"]
    rows = []
    for no, name, level1 in sheet.indicators:
        alpha, kappa = sheet.agreement.get(no, (None, None))
        records = sum(len(sheet.raw.get((code, no), [])) for code, _ in sheet.units)
        pending = sum(1 for code, _ in sheet.units if sheet.consensus.get((code, no)) is None)
        rows.append([no, name, level1, _num(alpha), _num(kappa), records, pending])
    _write_table(ws, _title(sheet, "评审一致性"), headers, rows, agreement_columns=(4, 5))
    for row in ws.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(rows), min_col=4, max_col=4):
        cell = row[0]
        if isinstance(cell.value, float) and cell.value < ALPHA_TENTATIVE:
            cell.fill = _LOW_FILL
    ws.cell(row=HEADER_ROW + len(rows) + 2, column=1,  # our own text: no user input in it
            value=f"注：α低于{ALPHA_TENTATIVE}的指标以浅红色标出，评审尺度不一致，建议复核。")


def _mark(wb, notice: str) -> None:
    """The notice on every sheet, where it is read: under the table, in the printed header, in the file's title."""
    wb.properties.title = notice
    for ws in wb.worksheets:
        cell = ws.cell(row=ws.max_row + 2, column=1, value=f"注：{notice}")
        cell.font = Font(bold=True, color="C00000")
        ws.oddHeader.center.text = notice


def _num(value):
    """Numbers stay numbers; None stays an empty cell (not the text 'None')."""
    if value is None or value == "":
        return None
    return float(value)


def _write_table(ws, title, headers, rows, *, score_columns=(), agreement_columns=(), frozen_columns=0) -> None:
    """Every sheet's one writer: each text cell goes through xlsx_safe (names and reasons come from users)."""
    rows = [[xlsx_safe(value) for value in row] for row in rows]
    ws.append([xlsx_safe(title)])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = _TITLE_FONT
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 28
    ws.append([xlsx_safe(h) for h in headers])
    for cell in ws[HEADER_ROW]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BORDER
    for values in rows:
        ws.append(values)
    for row in ws.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(rows)):
        for cell in row:
            cell.border = _BORDER
            if cell.column in score_columns:
                cell.number_format = SCORE_FORMAT
            elif cell.column in agreement_columns:
                cell.number_format = AGREEMENT_FORMAT
    _layout(ws, headers, rows, frozen_columns)


def _layout(ws, headers, rows, frozen_columns: int) -> None:
    """Column widths from the content, frozen headers, a filter on them, and print setup."""
    for i, header in enumerate(headers, 1):
        longest = max([_display_width(header)] + [_display_width(r[i - 1]) for r in rows])
        width = min(max(longest + 2, 8), MAX_WIDTH)
        ws.column_dimensions[get_column_letter(i)].width = width
        if width == MAX_WIDTH:  # long text (indicator names, bases) wraps instead of running off the page
            for (cell,) in ws.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(rows), min_col=i, max_col=i):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = get_column_letter(len(headers))
    ws.freeze_panes = f"{get_column_letter(frozen_columns + 1)}{HEADER_ROW + 1}"
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(len(rows), 1)}"
    ws.print_title_rows = f"1:{HEADER_ROW}"
    ws.print_area = f"A1:{last}{ws.max_row}"
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


MAX_WIDTH = 50


def _display_width(value) -> int:
    """Excel column units: a CJK character is about two Latin characters wide."""
    if value is None:
        return 0
    if isinstance(value, float):
        value = f"{value:.3f}"
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(value))
