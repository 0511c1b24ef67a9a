"""`kaoping stats` and `kaoping survey`: the same services as the office's pages, from the command line."""
from __future__ import annotations

import json
import openpyxl
from click.testing import CliRunner
from sqlmodel import Session, func, select

from evidence.db import get_engine
from evidence.models import StatisticValue, Survey, SurveyResponse
from review_ui.cli import main
from rounds.statistics_sheet import FIRST_DATA_ROW, SHEET, columns
from rubrics.indicators import load_units, system_in_force
from round_support import add_round
from rubrics.questionnaires import questionnaire


def _world(settings, make_user):
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    add_round(settings)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["--data-dir", str(settings.data_dir), *args])


def _column(no: int, key: str) -> int:
    return next(c for c, col in enumerate(columns(system_in_force(2023)), 3)
                if (col.indicator.no, col.measure.key, col.field) == (no, key, "value"))


def test_stats_template_import_show_correct_confirm(settings, make_user, tmp_path):
    kaoping = _world(settings, make_user)
    out = tmp_path / "统计.xlsx"
    assert kaoping("stats", "template", "--year", "2023", "--out", str(out)).exit_code == 0
    wb = openpyxl.load_workbook(out)
    js_row = FIRST_DATA_ROW + [u.code for u in load_units()].index("JS")
    wb[SHEET].cell(row=js_row, column=_column(14, "meetings"), value="约50")
    wb.save(out)
    result = kaoping("stats", "import", str(out), "--year", "2023", "--user", "office")
    assert result.exit_code == 2
    letter = openpyxl.utils.get_column_letter(_column(14, "meetings"))
    assert f"工作表“统计数据”第{js_row}行{letter}列：“产改工作推进会、现场会、经验交流会数量”：应填写数字，实际是文字“约50”" \
        in result.output
    assert kaoping("stats", "import", str(out), "--year", "2023", "--user", "js").exit_code == 2  # not the office
    wb[SHEET].cell(row=js_row, column=_column(14, "meetings"), value=50)
    wb.save(out)
    result = kaoping("stats", "import", str(out), "--year", "2023", "--user", "office")
    assert result.exit_code == 0 and "已导入 1 个数值" in result.output
    result = kaoping("stats", "correct", "--year", "2023", "--unit", "js", "--indicator", "14", "--measure", "meetings",
                     "--value", "-3", "--reason", "核对", "--user", "office")
    assert result.exit_code == 2 and "不能为负数" in result.output
    result = kaoping("stats", "correct", "--year", "2023", "--unit", "js", "--indicator", "14", "--measure", "meetings",
                     "--value", "48", "--reason", "以通报为准", "--user", "office")
    assert result.exit_code == 0
    shown = json.loads(kaoping("stats", "show", "--year", "2023", "--unit", "JS", "--json").output)
    meetings = next(r for r in shown if (r["indicator"], r["measure"]) == (14, "meetings"))
    assert meetings["value"] == 48 and meetings["source"] == "办公室更正（以通报为准）"
    with Session(get_engine(settings.database_url)) as session:
        assert session.exec(select(StatisticValue)).one().value == 48


def test_survey_publish_links_template_import_results_close(settings, make_user, tmp_path):
    kaoping = _world(settings, make_user)
    result = kaoping("survey", "publish", "--year", "2023", "--unit", "JS", "--audience", "workers", "--user", "office",
                     "--base-url", "https://kaoping.example.cn")
    assert result.exit_code == 0 and "已发布 1 份问卷" in result.output
    with Session(get_engine(settings.database_url)) as session:
        token = session.exec(select(Survey)).one().token
    assert f"https://kaoping.example.cn/s/{token}" in result.output
    listed = kaoping("survey", "links", "--year", "2023", "--base-url", "https://kaoping.example.cn")
    assert listed.output.strip() == f"江苏省\t产业工人\thttps://kaoping.example.cn/s/{token}\t进行中"
    template = tmp_path / "问卷.csv"
    assert kaoping("survey", "template", "--year", "2023", "--audience", "workers", "--out", str(template)).exit_code == 0
    items = len(questionnaire("workers").items)
    with template.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(",".join(["JS", "江苏省"] + ["5"] * items) for _ in range(3)) + "\n")
        fh.write(",".join(["JS", "江苏省", "很好"] + ["5"] * (items - 1)) + "\n")
    result = kaoping("survey", "import", str(template), "--year", "2023", "--audience", "workers", "--user", "office")
    assert result.exit_code == 2 and "第6行C列：第1题答案应为" in result.output
    lines = template.read_text(encoding="utf-8-sig").splitlines()[:-1]
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = kaoping("survey", "import", str(template), "--year", "2023", "--audience", "workers", "--user", "office")
    assert result.exit_code == 0 and "已导入“产业工人”问卷 3 份" in result.output
    data = json.loads(kaoping("survey", "results", "--year", "2023", "--json").output)
    js83 = next(r for r in data["results"] if (r["unit"], r["indicator"]) == ("JS", 83))
    assert js83["responses"] == 3 and js83["index"] == 100 and js83["enough"] is False and js83["min_sample"] == 100
    assert kaoping("survey", "close", "--year", "2023", "--user", "office").exit_code == 0
    with Session(get_engine(settings.database_url)) as session:
        assert session.exec(select(Survey)).one().status == "closed"
        assert session.exec(select(func.count(SurveyResponse.id))).one() == 3
