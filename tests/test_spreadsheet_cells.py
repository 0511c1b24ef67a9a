"""Text from users never becomes a live formula in a CSV or XLSX Kaoping writes (reports/cells.py)."""
from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from reports.cells import FORMULA_STARTS, formula_safe, xlsx_safe
from reports.model import ScoreSheet
from reports.scores_xlsx import write_scores_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example/x","点此查看")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1", "=cmd|' /C notepad'!A1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_spreadsheet_would_read_as_a_formula_is_kept_as_text(text):
    assert formula_safe(text) == "'" + text
    assert xlsx_safe(text).startswith("'")


def test_plain_text_numbers_and_empty_cells_are_left_alone():
    assert formula_safe("江苏省") == "江苏省" and formula_safe("a=b") == "a=b"
    assert formula_safe(-3.5) == -3.5 and formula_safe(7) == 7
    assert formula_safe(None) == "" and xlsx_safe(None) is None


def hostile_sheet() -> ScoreSheet:
    """A score sheet whose every text field came from a hostile user."""
    return ScoreSheet(year=2023, indicators=[(4, HOSTILE[3], HOSTILE[4])], units=[(HOSTILE[5], HOSTILE[0])],
                      raw={(HOSTILE[5], 4): [(HOSTILE[1], 3.0, HOSTILE[2]), ("评审专家\x01乙", -1.0, "已提交")]},
                      consensus={(HOSTILE[5], 4): 3.0}, categories={HOSTILE[5]: HOSTILE[6]},
                      points={(HOSTILE[5], 4): 2.5}, basis={(HOSTILE[5], 4): HOSTILE[0]},
                      weights={4: ("定性", 3.0)})


def test_the_score_workbook_holds_no_formula_from_user_text(tmp_path):
    out = write_scores_xlsx(hostile_sheet(), tmp_path / "评分表.xlsx")
    with zipfile.ZipFile(out) as zf:
        xml = "".join(zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml  # not a single formula in any sheet
    workbook = openpyxl.load_workbook(out)
    texts = {c.value for ws in workbook for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for text in HOSTILE:
        assert "'" + text in texts, text
    assert "评审专家乙" in texts  # a control character XML cannot hold is dropped, the name kept
    numbers = [c.value for c in workbook["评分明细"]["G"][1:]]
    assert -1.0 in numbers  # a negative number stays a number


def lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")  # XML keeps line breaks, not their kind


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_any_text_round_trips_through_a_workbook_as_text(tmp_path_factory, texts):
    out = tmp_path_factory.mktemp("cells") / "t.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append([xlsx_safe(t) for t in texts])
    wb.save(out)
    ws = openpyxl.load_workbook(out).active
    for column, text in enumerate(texts, 1):
        cell, expected = ws.cell(row=1, column=column), xlsx_safe(text)
        if expected == "":
            assert cell.value is None
            continue
        assert cell.data_type == "s" and lines(cell.value) == lines(expected)
        assert not cell.value.startswith(FORMULA_STARTS)


@given(st.text())
def test_any_text_is_a_safe_csv_cell(text):
    out = io.StringIO()
    csv.writer(out).writerow([formula_safe(text)])
    [[cell]] = list(csv.reader(io.StringIO(out.getvalue())))
    assert cell == formula_safe(text) and not cell.startswith(FORMULA_STARTS)
    assert cell in (text, "'" + text)


def test_the_audit_csv_uses_the_same_rule(make_user, login):
    make_user("office", "office")
    office = login("office")
    make_user(HOSTILE[0], "office")
    login(HOSTILE[0])  # the audit log's user column now holds the name
    rows = list(csv.reader(io.StringIO(office.get("/admin/audit.csv").content.decode("utf-8-sig"))))
    assert not [c for row in rows[1:] for c in row if c.startswith(FORMULA_STARTS)]
    assert "'" + HOSTILE[0] in [row[2] for row in rows[1:]]
