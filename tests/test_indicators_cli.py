"""`kaoping indicators` and `kaoping units` through the real command group."""
from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

import rubrics.indicators as indicators_module
from review_ui.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_indicators_json_lists_every_indicator_of_the_year():
    result = run("indicators", "--year", "2022", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["no"] for row in rows] == list(range(1, 89))
    assert sum(row["weight"] for row in rows) == 100
    assert {row["version"] for row in rows} == {"2022.1"}
    leader = rows[3]
    assert leader["name"] == "领导重视" and leader["level2"] == "党政重视" and leader["kind"] == "qualitative"
    assert [level["value"] for level in leader["rubric"]] == [4, 3, 2, 1]
    assert "领导重视" in result.stdout  # ensure_ascii=False: Chinese stays readable


def test_indicators_json_defaults_to_the_latest_year():
    rows = json.loads(run("indicators", "--json").stdout)
    assert {row["year"] for row in rows} == {max(indicators_module.available_years())}


def test_indicators_table_is_grouped_by_levels():
    result = run("indicators", "--year", "2022")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "一、组织领导〔总体指标〕 30 分" in out
    assert "（七）贯彻《关于加强和改进新时代产业工人队伍思想政治工作的意见》" in out
    assert out.index("一、组织领导") < out.index("（一）顶层设计") < out.index("纳入当地国民经济和社会发展规划") \
        < out.index("二、思想引领")
    assert "88 个三级指标" in out


def test_one_indicator_shows_its_rubric():
    result = run("indicators", "--year", "2022", "--no", "4")
    assert result.exit_code == 0, result.output
    assert "4 好：省委书记" in result.stdout and "1 差：" in result.stdout


def test_unknown_year_exits_2_with_available_years():
    result = run("indicators", "--year", "1999")
    assert result.exit_code == 2
    assert "可用年份：2022、2023" in result.stderr
    assert result.stdout == ""


def test_unknown_indicator_number_exits_2():
    result = run("indicators", "--json", "--no", "99")
    assert result.exit_code == 2 and "没有编号为 99" in result.stderr


def test_broken_rubric_file_is_reported_in_chinese(tmp_path, monkeypatch):
    shutil.copytree(indicators_module.RUBRICS_DIR / "indicators", tmp_path / "indicators")
    path = tmp_path / "indicators" / "2022.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("kind: mixed", "kind: blend", 1), encoding="utf-8")
    monkeypatch.setattr(indicators_module, "RUBRICS_DIR", tmp_path)
    result = run("indicators", "--year", "2022")
    assert result.exit_code == 2
    assert "2022.yaml" in result.stderr and "blend" in result.stderr and "第 " in result.stderr


def test_units_json_lists_the_32_units():
    result = run("units", "--json")
    assert result.exit_code == 0, result.output
    units = json.loads(result.stdout)
    assert len(units) == 32 and len({u["code"] for u in units}) == 32
    corps = next(u for u in units if u["code"] == "BT")
    assert corps == {"code": "BT", "name": "新疆生产建设兵团", "short_name": "兵团", "gb_code": "",
                     "aliases": ["新疆兵团"]}


def test_unknown_unit_exits_2():
    result = run("units", "--code", "XX")
    assert result.exit_code == 2 and "未知的单位代码" in result.stderr
