"""Spreadsheets the office downloads, fills in and gives back: the parts the statistics template
(rounds/statistics_sheet.py) and the survey-response template (rounds/surveys.py) share.

- a marker of what a file is (kind, year, version): readable in the title row, and machine-readable
  on a hidden sheet, so a template of another year or kind is refused by name;
- reading XLSX (openpyxl, read-only, formulas taken as their computed values) and CSV (UTF-8 or
  GB18030, as Excel and WPS save it) into plain rows, with a cap on size;
- a problem per cell, by sheet, row and column, in Chinese; a file with any problem is refused whole;
- the look of a template: title row, header styling, frozen headers, print setup;
- formula-safe text for every text cell written (``reports.cells``: the one escaping rule).
"""
from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from reports.cells import xlsx_safe

#: bump when the layout of a template changes: files of an older layout are refused by name
TEMPLATE_FORMAT = 1
MARKER_SHEET = "模板信息"
KIND_LABELS = {"statistics": "统计数据填报模板", "survey": "满意度问卷录入模板"}

# ── markers ────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Marker:
    """What a template is: its kind, year, the version of the rules it was made from, its audience
    (survey templates) and the layout format."""
    kind: str
    year: int
    version: str
    audience: str = ""        # a survey audience key (rubrics/questionnaires); "" for statistics
    audience_label: str = ""  # its Chinese name, for the title
    fmt: int = TEMPLATE_FORMAT

    def title(self) -> str:
        who = f"·{self.audience_label}" if self.audience_label else ""
        version = "问卷版本" if self.kind == "survey" else "指标体系版本"
        return f"{self.year}年度{KIND_LABELS[self.kind]}{who}（{version} {self.version}，模板格式 {self.fmt}）"


TITLE_PATTERN = re.compile(r"(\d{4})年度(" + "|".join(KIND_LABELS.values()) + r")(?:·([^（]+))?"
                           r"（(?:问卷版本|指标体系版本) ([^，]+)，模板格式 (\d+)）")


def marker_from_title(text) -> Marker | None:
    match = TITLE_PATTERN.search(str(text or ""))
    if not match:
        return None
    kind = next(k for k, v in KIND_LABELS.items() if v == match.group(2))
    return Marker(kind, int(match.group(1)), match.group(4), "", match.group(3) or "", int(match.group(5)))


def write_marker(wb, marker: Marker) -> None:
    """The machine-readable marker on a hidden sheet (the title row carries the readable one)."""
    ws = wb.create_sheet(MARKER_SHEET)
    for row in (("说明", "本表由考评系统生成，用于识别模板，请勿修改。"), ("kind", marker.kind), ("year", marker.year),
                ("version", marker.version), ("audience", marker.audience), ("audience_label", marker.audience_label),
                ("format", marker.fmt)):
        ws.append([xlsx_safe(v) for v in row])
    ws.sheet_state = "hidden"


def _marker_from_sheet(rows: list[list]) -> Marker | None:
    values = {str(r[0]): r[1] for r in rows if len(r) >= 2 and r[0] is not None}
    try:
        return Marker(str(values["kind"]), int(values["year"]), str(values["version"]),
                      str(values.get("audience") or ""), str(values.get("audience_label") or ""), int(values["format"]))
    except (KeyError, TypeError, ValueError):
        return None


def marker_problem(found: Marker | None, expected: Marker, sheet: str) -> CellProblem | None:
    """Why a file's marker does not fit what is being imported; None when it fits."""
    what = KIND_LABELS[expected.kind]
    if found is None:
        return CellProblem(sheet, 1, "A", f"不是考评系统生成的{what}（找不到模板标识），请重新下载模板后填写")
    if found.kind != expected.kind:
        return CellProblem(sheet, 1, "A", f"这是{KIND_LABELS.get(found.kind, '其他')}，不是{what}")
    if found.year != expected.year:
        return CellProblem(sheet, 1, "A", f"这是{found.year}年度的模板，不能导入{expected.year}年度；请下载{expected.year}年度的模板")
    if expected.audience and found.audience and found.audience != expected.audience:
        return CellProblem(sheet, 1, "A", f"这是“{found.audience_label or found.audience}”问卷的模板，"
                                          f"不是“{expected.audience_label}”问卷")
    if found.version != expected.version or found.fmt != expected.fmt:
        return CellProblem(sheet, 1, "A", f"模板是按版本 {found.version}（格式 {found.fmt}）生成的，与现行版本 "
                                          f"{expected.version}（格式 {expected.fmt}）不一致，请重新下载模板")
    return None


# ── problems ───────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class CellProblem:
    sheet: str
    row: int
    column: str  # the column letter, "" for a problem of the whole row
    reason: str

    def text(self) -> str:
        where = f"第{self.row}行" + (f"{self.column}列" if self.column else "")
        return f"工作表“{self.sheet}”{where}：{self.reason}"


class SheetRejected(ValueError):
    """A file with problems: nothing of it was stored. problems lists each by sheet, row and column."""

    def __init__(self, problems: list[CellProblem], filename: str = ""):
        self.problems = list(problems)
        self.filename = filename
        super().__init__(self.summary())

    def summary(self) -> str:
        name = f"“{self.filename}”" if self.filename else "文件"
        return f"{name}有 {len(self.problems)} 处错误，未导入任何数据。请按下列位置修改后重新导入。"


MAX_PROBLEMS = 500  # beyond this a file is wrong as a whole; listing more helps nobody


def reject_if(problems: list[CellProblem], filename: str = "") -> None:
    if problems:
        raise SheetRejected(problems[:MAX_PROBLEMS], filename)


# ── reading ────────────────────────────────────────────────────────────────

@dataclass
class Table:
    """One sheet as plain rows (row 1 is rows[0]); the marker found in the file, if any."""
    sheet: str
    rows: list[list] = field(default_factory=list)
    marker: Marker | None = None
    uncomputed: set[tuple[int, int]] = field(default_factory=set)  # (row, col) of formulas without a value

    def cell(self, row: int, col: int):
        """1-based, like the spreadsheet; None beyond the data."""
        if row - 1 >= len(self.rows):
            return None
        values = self.rows[row - 1]
        return values[col - 1] if col - 1 < len(values) else None


def column(col: int) -> str:
    return get_column_letter(col)


def read_table(data: bytes, filename: str, sheet: str, *, max_rows: int, max_cols: int = 400) -> Table:
    """The named sheet of an XLSX (or the only sheet of a CSV) as rows; SheetRejected when unreadable."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return _read_csv(data, filename, sheet, max_rows, max_cols)
    if name.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, filename, sheet, max_rows, max_cols)
    raise SheetRejected([CellProblem(sheet, 1, "", "只能导入 Excel（.xlsx）或 CSV 文件；"
                                                  "WPS 或旧版 Excel 的 .xls 文件请先另存为 .xlsx")], filename)


def _too_big(sheet: str, max_rows: int, max_cols: int, filename: str) -> SheetRejected:
    return SheetRejected([CellProblem(sheet, max_rows + 1, "", f"超过模板允许的大小（最多 {max_rows} 行、{max_cols} 列），"
                                                             "请拆分后分批导入")], filename)


#: an XLSX is a zip; its parts unpacked may not exceed this (a few MB of XML is a full template)
MAX_UNPACKED = 64 * 1024 * 1024


def _read_xlsx(data: bytes, filename: str, sheet: str, max_rows: int, max_cols: int) -> Table:
    from zipfile import BadZipFile, ZipFile

    from openpyxl.utils.exceptions import InvalidFileException
    broken = SheetRejected([CellProblem(sheet, 1, "", "文件已损坏或不是 Excel（.xlsx）文件，无法读取")], filename)
    try:
        unpacked = sum(part.file_size for part in ZipFile(io.BytesIO(data)).infolist())
    except (BadZipFile, OSError, ValueError):
        raise broken from None
    if unpacked > MAX_UNPACKED:  # a small file that unpacks to gigabytes is refused before any part is read;
        # zipfile never returns more than a part's declared size
        raise SheetRejected([CellProblem(sheet, 1, "", "文件解压后过大，不是正常的模板文件")], filename)
    try:
        table = _xlsx_table(data, filename, sheet, max_rows, max_cols)
    except SheetRejected:
        raise
    except (BadZipFile, InvalidFileException, zlib.error, EOFError, KeyError, IndexError, OSError, ValueError,
            TypeError, SyntaxError):
        raise broken from None  # a damaged part: bad deflate data, not the XML it claims (SyntaxError), …
    if table.marker is None and table.rows:
        table.marker = marker_from_title(table.rows[0][0] if table.rows[0] else None)
    return table


def _xlsx_table(data: bytes, filename: str, sheet: str, max_rows: int, max_cols: int) -> Table:
    from openpyxl import load_workbook
    table = Table(sheet)
    formulas = set()
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        if sheet not in wb.sheetnames:
            shown = "、".join(n for n in wb.sheetnames if n != MARKER_SHEET)
            raise SheetRejected([CellProblem(sheet, 1, "", f"找不到工作表“{sheet}”（文件中的工作表：{shown}）；"
                                                          "请使用下载的模板，不要改工作表名称")], filename)
        if MARKER_SHEET in wb.sheetnames:
            table.marker = _marker_from_sheet([list(r) for r in wb[MARKER_SHEET].iter_rows(
                max_row=20, max_col=2, values_only=True)])
        # one column past the limit, never the whole declared width: a file may claim column XFD
        for r, values in enumerate(wb[sheet].iter_rows(values_only=True, max_col=max_cols + 1), 1):
            values = list(values)
            while values and values[-1] is None:
                values.pop()
            if r > max_rows or len(values) > max_cols:
                raise _too_big(sheet, max_rows, max_cols, filename)
            formulas.update((r, c) for c, v in enumerate(values, 1)
                            if isinstance(v, str) and v.startswith("=") and len(v) > 1)
            table.rows.append(values)
    finally:
        wb.close()
    if formulas:  # a formula counts by the value Excel computed and saved with it: one more pass reads those
        computed = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            rows = computed[sheet].iter_rows(values_only=True, max_row=len(table.rows), max_col=max_cols + 1)
            for r, values in enumerate(rows, 1):
                for c, value in enumerate(values, 1):
                    if (r, c) in formulas:
                        table.rows[r - 1][c - 1] = value
                        if value is None:
                            table.uncomputed.add((r, c))
        finally:
            computed.close()
    return table


def _read_csv(data: bytes, filename: str, sheet: str, max_rows: int, max_cols: int) -> Table:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetRejected([CellProblem(sheet, 1, "", "无法识别 CSV 文件的编码（应为 UTF-8 或 GBK）")], filename)
    table = Table(sheet)
    r = 0
    try:
        for r, values in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
            if r > max_rows or len(values) > max_cols:
                raise _too_big(sheet, max_rows, max_cols, filename)
            values = [None if v.strip() == "" else v for v in values]
            while values and values[-1] is None:
                values.pop()
            table.rows.append(values)
    except csv.Error:
        raise SheetRejected([CellProblem(sheet, r + 1, "", "CSV 格式错误，无法读取（可能是引号不成对或单元格内容过长）")], filename) from None
    if table.rows:
        table.marker = marker_from_title(table.rows[0][0] if table.rows[0] else None)
    return table


def header_problems(table: Table, expected: list[list[str | None]], first_row: int) -> list[CellProblem]:
    """Each header cell that differs from the template's (a renamed, moved, added or deleted column)."""
    problems = []
    for i, want_row in enumerate(expected):
        r = first_row + i
        got_row = table.rows[r - 1] if r - 1 < len(table.rows) else []
        for c in range(1, max(len(want_row), len(got_row)) + 1):
            want = want_row[c - 1] if c - 1 < len(want_row) else None
            got = got_row[c - 1] if c - 1 < len(got_row) else None
            if want is None or _same_text(want, got):
                if want is None and got not in (None, "") and c > len(want_row):
                    problems.append(CellProblem(table.sheet, r, column(c), f"模板没有这一列（“{_shown(got)}”），"
                                                                        "请不要增加列"))
                continue
            problems.append(CellProblem(table.sheet, r, column(c), f"表头被改动：应为“{want}”，实际为“{_shown(got)}”"
                                                                  "；请不要修改、插入或删除模板的列"))
    return problems


def _same_text(want: str, got) -> bool:
    return got is not None and _norm(str(got)) == _norm(want)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lstrip("'")


def _shown(value) -> str:
    text = "" if value is None else str(value)
    return (text[:40] + "…") if len(text) > 40 else text


def open_template(data: bytes, filename: str, sheet: str, marker: Marker, headers: list[list[str | None]],
                  header_row: int, *, max_rows: int) -> Table:
    """A filled-in template's sheet, once it is known to be the expected template with its header intact;
    SheetRejected otherwise (another kind, year, audience or version; a changed header)."""
    table = read_table(data, filename, sheet, max_rows=max_rows, max_cols=max(len(row) for row in headers) + 20)
    problem = marker_problem(table.marker, marker, sheet)
    reject_if([problem] if problem else [], filename)
    reject_if(header_problems(table, headers, header_row), filename)
    return table


class RowUnits:
    """Which unit a data row is for: its code in column A, else its name (or short name, alias) in column B."""

    def __init__(self, units):
        self.known = {u.code: u for u in units}
        self.by_name = {name: u for u in units for name in (u.name, u.short_name, *u.aliases)}

    def of(self, table: Table, r: int):
        """(unit, None), or (None, the CellProblem) for an unknown unit or a code and name that disagree."""
        code_cell, name_cell = table.cell(r, 1), table.cell(r, 2)
        code = str(code_cell or "").strip().lstrip("'").upper()
        name = str(name_cell or "").strip()
        unit = self.known.get(code) if code else self.by_name.get(name)
        if unit is None:
            shown = _shown(code_cell if code else name_cell)
            return None, CellProblem(table.sheet, r, "A" if code else "B",
                                     f"未知单位“{shown}”；请使用模板中的单位代码或名称" if shown else "缺少单位代码和单位名称")
        if code and name and name not in (unit.name, unit.short_name, *unit.aliases):
            return None, CellProblem(table.sheet, r, "B", f"单位名称“{name}”与单位代码 {code}（{unit.name}）不符")
        return unit, None

    def rows(self, table: Table, first_row: int, problems: list[CellProblem]):
        """(row number, cells, unit) of each filled row from first_row on whose unit is known; the problem of
        each other filled row is added to problems."""
        for r in range(first_row, len(table.rows) + 1):
            row = table.rows[r - 1]
            if all(v is None or str(v).strip() == "" for v in row):
                continue
            unit, problem = self.of(table, r)
            if problem:
                problems.append(problem)
            else:
                yield r, row, unit


# ── numbers in cells ───────────────────────────────────────────────────────

_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def cell_number(value) -> tuple[float | None, str | None]:
    """(number, None), (None, None) for an empty cell, or (None, why it is not a number) in Chinese.

    Accepts what people type in Excel and WPS: numbers, numbers stored as text, full-width digits,
    thousands separators and a trailing %; refuses words, dates and yes/no."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, f"应填写数字，实际是{'是' if value else '否'}（逻辑值）"
    if isinstance(value, (datetime, date, time)):
        return None, "应填写数字，实际是日期或时间（请把单元格格式设为“常规”或“数值”）"
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
        if text in ("", "-", "—", "/"):
            return None, None if text == "" else f"应填写数字，实际是“{_shown(value)}”；没有数据请留空"
        stripped = text[:-1] if text.endswith("%") else text
        if _THOUSANDS.fullmatch(stripped):
            stripped = stripped.replace(",", "")
        try:
            number = float(stripped)
        except ValueError:
            return None, f"应填写数字，实际是文字“{_shown(value)}”"
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", stripped):
            return None, f"应填写数字，实际是文字“{_shown(value)}”"  # float() also reads "nan", "inf"
    if not math.isfinite(number):
        return None, "应填写有限的数字"
    return number, None


# ── the look of a template ─────────────────────────────────────────────────

HEADER_FONT = Font(name="黑体", bold=True)
TITLE_FONT = Font(name="黑体", bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="D9E2F3")
CODE_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="999999")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")


def text_cell(ws, row: int, col: int, value: str, **style):
    cell = ws.cell(row=row, column=col, value=xlsx_safe(str(value)))
    cell.data_type = "s"  # never a formula, whatever the text
    for key, val in style.items():
        setattr(cell, key, val)
    return cell


def title_row(ws, marker: Marker, last_col: int) -> None:
    text_cell(ws, 1, 1, marker.title(), font=TITLE_FONT, alignment=Alignment(vertical="center"))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(last_col, 2))
    ws.row_dimensions[1].height = 28


def style_headers(ws, first_row: int, last_row: int, last_col: int) -> None:
    for row in ws.iter_rows(min_row=first_row, max_row=last_row, max_col=last_col):
        for cell in row:
            cell.font, cell.fill, cell.border, cell.alignment = HEADER_FONT, HEADER_FILL, BORDER, WRAP


def print_setup(ws, header_last_row: int, repeat_cols: str = "A:B") -> None:
    """Landscape, A3, as many pages wide as needed and one page tall per screen of rows; the title,
    headers and the unit columns repeat on every printed page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A3
    ws.page_setup.fitToWidth = 0
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.print_title_rows = f"1:{header_last_row}"
    ws.print_title_cols = repeat_cols
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
