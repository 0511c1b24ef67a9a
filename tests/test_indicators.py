"""The indicator system files against the seed document, and the loader's validation."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from rubrics.indicators import (
    RUBRICS_DIR,
    RubricError,
    available_years,
    clear_cache,
    get_unit,
    load_system,
    load_units,
)
from shared_data import shared

CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
TABLE_HEADERS = {"一级指标", "二级指标", "三级指标", "指标具体内涵"}


# ---------------------------------------------------------------- the seed table, parsed independently

def cn_number(text: str) -> int:
    if text.startswith("十"):
        text = "一" + text
    if "十" in text:
        tens, _, ones = text.partition("十")
        return CN_DIGITS[tens] * 10 + (CN_DIGITS[ones] if ones else 0)
    return CN_DIGITS[text]


def parse_seed_table(text: str):
    """附件1 as (level1 names, level2 (name, parent), indicator rows); the table repeats its header per page."""
    start = text.index("落实情况评价考核指标体系")
    lines = [line.strip() for line in text[start:].splitlines()[1:]]
    lines = [line for line in lines if line and line not in TABLE_HEADERS]
    level1, level2, rows = {}, {}, []
    current1 = current2 = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m1 = re.fullmatch(r"([一二三四五六七八九])、(.+)", line)
        m2 = re.fullmatch(r"（([一二三四五六七八九十]+)）(.*)", line)
        if m1:
            current1 = cn_number(m1.group(1))
            level1[current1] = m1.group(2)
            i += 1
        elif m2:
            current2 = cn_number(m2.group(1))
            name = m2.group(2).strip()
            if not name:  # the name usually sits on the next line of the cell
                i += 1
                name = lines[i]
            level2[current2] = (name, current1)
            i += 1
        elif re.fullmatch(r"\d+", line):
            rows.append({"no": int(line), "name": lines[i + 1], "meaning": lines[i + 2],
                         "level1_no": current1, "level2_no": current2})
            i += 3
        else:
            raise AssertionError(f"unexpected line in the seed table: {line!r}")
    return level1, level2, rows


@pytest.fixture(scope="module")
def seed():
    files = list(shared("seed").glob("*.txt"))
    assert len(files) == 1, files
    return parse_seed_table(files[0].read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def base():
    return load_system(2022)


def test_seed_parser_finds_the_whole_table(seed):
    level1, level2, rows = seed
    assert len(level1) == 7 and len(level2) == 25
    assert [r["no"] for r in rows] == list(range(1, 89))


def test_every_indicator_matches_the_seed_word_for_word(seed, base):
    level1, level2, rows = seed
    assert len(base.indicators) == 88
    for row, ind in zip(rows, base.indicators, strict=True):
        assert (ind.no, ind.name, ind.meaning) == (row["no"], row["name"], row["meaning"])
        assert (ind.level1_no, ind.level1) == (row["level1_no"], level1[row["level1_no"]])
        assert (ind.level2_no, ind.level2) == (row["level2_no"], level2[row["level2_no"]][0])
    # the seed's own characters are kept, typos included
    assert base.get(86).meaning.endswith("被确定为全国试点项目情况情况")
    assert "“职工之家”" in base.get(76).meaning


def test_level_tree_matches_the_seed(seed, base):
    level1, level2, rows = seed
    assert [(l1.no, l1.name) for l1 in base.level1] == list(level1.items())
    assert {l1.name: l1.category for l1 in base.level1} == {
        "组织领导": "总体指标", "思想引领": "绩效指标", "素质提升": "绩效指标", "队伍壮大": "绩效指标",
        "地位提高": "绩效指标", "权益维护": "绩效指标", "社会评价": "满意度指标"}
    tree = {l2.no: (l2.name, l1.no, l2.indicator_nos) for l1 in base.level1 for l2 in l1.level2}
    assert {no: (name, parent) for no, (name, parent, _) in tree.items()} == level2
    assert tree[7][0] == "贯彻《关于加强和改进新时代产业工人队伍思想政治工作的意见》"
    for no, (_, _, nos) in tree.items():
        assert list(nos) == [r["no"] for r in rows if r["level2_no"] == no]


def test_rated_indicators_have_four_ordered_distinct_levels(base):
    rated = base.rated_indicators()
    assert rated and all(ind.kind in ("qualitative", "mixed") for ind in rated)
    assert len(rated) == sum(1 for ind in base.indicators if ind.kind != "quantitative")
    for ind in rated:
        values = ind.level_values
        assert len(values) >= 4, ind.no
        assert list(values) == sorted(set(values), reverse=True), ind.no
        descriptors = [level.descriptor for level in ind.rubric]
        assert all(d.strip() for d in descriptors), ind.no
        assert len(set(descriptors)) == len(descriptors), ind.no
        assert ind.kind_reason.strip()


def test_descriptors_are_specific_to_each_indicator(base):
    # A descriptor copied between indicators would not help a reviewer tell them apart.
    seen: dict[str, int] = {}
    for ind in base.rated_indicators():
        top = ind.rubric[0].descriptor
        assert top not in seen, (ind.no, seen.get(top))
        seen[top] = ind.no
    leader = base.get(4)
    assert "专题会议" in leader.rubric[0].descriptor and "批示" in leader.rubric[0].descriptor


def test_quantitative_and_mixed_indicators_list_their_measures(base):
    for ind in base.indicators:
        assert bool(ind.measures) == (ind.kind != "qualitative"), ind.no
        assert bool(ind.rubric) == ind.is_rated, ind.no
    members = base.get(23)
    assert members.kind == "quantitative" and not members.is_rated
    assert [(m.label, m.unit, m.growth) for m in members.measures] == [("产业工人党员数量", "人", True)]
    assert any(m.share for m in base.get(54).measures)


def test_satisfaction_indicators_come_from_surveys(base):
    assert [ind.no for ind in base.indicators if ind.source == "survey"] == [83, 84, 85]
    assert all(not base.get(no).is_rated for no in (83, 84, 85))


def test_weights_sum_to_one_hundred_every_year(base):
    assert base.total_weight == 100
    assert all(ind.weight >= 0 for ind in base.indicators)
    org = sum(ind.weight for ind in base.indicators if ind.level1 == "组织领导")
    assert org == max(sum(ind.weight for ind in base.indicators if ind.level1_no == n) for n in range(1, 8))
    assert load_system(2023).total_weight == 100


def test_evidence_kinds_are_from_the_allowed_set(base):
    allowed = {"policy", "notice", "media", "summary", "briefing", "case", "research", "statistics", "other"}
    for ind in base.indicators:
        assert ind.evidence_kinds and set(ind.evidence_kinds) <= allowed, ind.no


def test_to_json_carries_every_field(base):
    rows = base.to_json()
    assert len(rows) == 88
    row = rows[3]
    assert {"no", "name", "meaning", "level1", "level1_no", "level2", "level2_no", "kind", "kind_reason",
            "weight", "rubric", "evidence_kinds", "measures", "terms", "source", "version"} <= set(row)
    assert row["no"] == 4 and row["version"] == "2022.1"
    assert row["rubric"][0] == {"value": 4, "label": "好", "descriptor": base.get(4).rubric[0].descriptor}


def test_get_unknown_number_is_a_rubric_error(base):
    with pytest.raises(RubricError, match="没有编号为 99"):
        base.get(99)


# ---------------------------------------------------------------- years

def test_derived_year_applies_its_changes_and_keeps_the_rest(base):
    derived = load_system(2023)
    assert (derived.year, derived.version, derived.derive_from) == (2023, "2023.1", 2022)
    assert (base.get(28).weight, derived.get(28).weight) == (0.5, 1.0)
    assert (base.get(14).weight, derived.get(14).weight) == (1.0, 0.5)
    changed = {14, 28}
    for old, new in zip(base.to_json(), derived.to_json(), strict=True):
        for key in ("version", "year") + (("weight",) if old["no"] in changed else ()):
            old.pop(key), new.pop(key)
        assert old == new


def test_latest_year_is_the_default_and_cached():
    assert available_years() == sorted(available_years())
    assert {2022, 2023} <= set(available_years())
    assert load_system().year == max(available_years())
    assert load_system(2022) is load_system(2022)


def test_unknown_year_lists_available_years():
    with pytest.raises(RubricError) as err:
        load_system(1999)
    assert "1999" in str(err.value) and "2022、2023" in str(err.value)


# ---------------------------------------------------------------- broken files

@pytest.fixture
def tree(tmp_path):
    """A private copy of the rubrics tree that a test may break."""
    shutil.copytree(RUBRICS_DIR / "indicators", tmp_path / "indicators")
    shutil.copy(RUBRICS_DIR / "units.yaml", tmp_path / "units.yaml")
    return tmp_path


def edit(path: Path, old: str, new: str) -> int:
    """Replace the one occurrence of ``old``; returns the 1-based line where the replacement starts."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1 + (len(new) - len(new.lstrip("\n")))


def error_for(tree: Path, year: int = 2022) -> str:
    with pytest.raises(RubricError) as err:
        load_system(year, rubrics_dir=tree)
    return str(err.value)


def assert_names(message: str, file: str, line: int, *problem: str) -> None:
    assert file in message, message
    assert f"第 {line} 行" in message, message
    for words in problem:
        assert words in message, message


def test_bad_kind_names_file_line_and_key(tree):
    line = edit(tree / "indicators/2022.yaml", "kind: qualitative\n            kind_reason: 重视程度",
                "kind: qualitive\n            kind_reason: 重视程度")
    assert_names(error_for(tree), "2022.yaml", line, "指标 4「领导重视」", "kind", "qualitive")


def test_duplicate_number_is_reported(tree):
    line = edit(tree / "indicators/2022.yaml", "- no: 5\n            name: 列入年度工作要点", "- no: 4\n            name: 列入年度工作要点")
    assert_names(error_for(tree), "2022.yaml", line, "重复", "应为 5")


def test_skipped_number_is_reported(tree):
    line = edit(tree / "indicators/2022.yaml", "- no: 5\n            name: 列入年度工作要点", "- no: 6\n            name: 列入年度工作要点")
    assert_names(error_for(tree), "2022.yaml", line, "不连续", "应为 5")


def test_rubric_with_three_levels_is_rejected(tree):
    path = tree / "indicators/2022.yaml"
    edit(path, "              - value: 1\n                label: 差\n"
               "                descriptor: 年内无主要负责同志或分管领导关于产改的会议、批示或推进记录\n", "")
    text = path.read_text(encoding="utf-8")
    rubric_line = text[: text.index("rubric:", text.index("name: 领导重视"))].count("\n") + 1
    assert_names(error_for(tree), "2022.yaml", rubric_line, "指标 4", "只有 3 档", "至少需要 4 档")


def test_rubric_out_of_order_is_rejected(tree):
    line = edit(tree / "indicators/2022.yaml",
                "- value: 3\n                label: 较好\n                descriptor: 党委主要负责同志",
                "- value: 5\n                label: 较好\n                descriptor: 党委主要负责同志")
    assert_names(error_for(tree), "2022.yaml", line, "由高到低", "value=5")


def test_unknown_key_is_rejected(tree):
    line = edit(tree / "indicators/2022.yaml", "name: 领导重视\n", "name: 领导重视\n            colour: red\n") + 1
    assert_names(error_for(tree), "2022.yaml", line, "未知的键", "colour")


def test_duplicate_key_is_rejected(tree):
    line = edit(tree / "indicators/2022.yaml", "name: 领导重视\n", "name: 领导重视\n            name: 领导\n") + 1
    assert_names(error_for(tree), "2022.yaml", line, "name", "重复")


def test_yaml_syntax_error_names_the_line(tree):
    line = edit(tree / "indicators/2022.yaml", "name: 领导重视\n", "name: [领导重视\n")
    message = error_for(tree)
    assert "2022.yaml" in message and "YAML 语法错误" in message
    reported = int(re.search(r"第 (\d+) 行", message).group(1))
    assert line <= reported <= line + 2  # the parser notices the unclosed bracket on the next line


def test_weights_not_summing_to_total_are_rejected(tree):
    edit(tree / "indicators/2022.yaml", "weight: 2\n            evidence_kinds: [notice, briefing",
         "weight: 3\n            evidence_kinds: [notice, briefing")
    message = error_for(tree)
    assert "2022.yaml" in message and "合计为 101" in message and "total_weight" in message


def test_negative_weight_is_rejected(tree):
    line = edit(tree / "indicators/2022.yaml", "weight: 2\n            evidence_kinds: [notice, briefing",
                "weight: -2\n            evidence_kinds: [notice, briefing")
    assert_names(error_for(tree), "2022.yaml", line, "weight", "不小于 0")


def test_quantitative_indicator_without_measures_is_rejected(tree):
    path = tree / "indicators/2022.yaml"
    edit(path, "              - {key: party_members, label: 产业工人党员数量, unit: 人, growth: true, share: false,\n"
               "                 definition: 年末（12月31日）当地产业工人中中共党员人数}\n", "")
    text = path.read_text(encoding="utf-8")
    measures_line = text[: text.index("measures:", text.index("name: 党员比例"))].count("\n") + 1
    assert_names(error_for(tree), "2022.yaml", measures_line, "指标 23「党员比例」", "measures")


def test_missing_indicator_in_a_derived_change_is_rejected(tree):
    line = edit(tree / "indicators/2023.yaml", "indicator: 28 ", "indicator: 99 ")
    assert_names(error_for(tree, 2023), "2023.yaml", line, "没有编号为 99 的三级指标")


def test_derived_change_breaking_a_field_blames_the_derived_file(tree):
    line = edit(tree / "indicators/2023.yaml", "weight: 1          # 0.5 → 1", "kind: numeric")
    assert_names(error_for(tree, 2023), "2023.yaml", line, "指标 28", "numeric")


def test_derived_change_breaking_the_total_is_rejected(tree):
    edit(tree / "indicators/2023.yaml", "weight: 1          # 0.5 → 1", "weight: 2")
    message = error_for(tree, 2023)
    assert "2023.yaml" in message and "合计为 101" in message


def test_add_and_retire_in_a_chain_of_derived_years(tree):
    (tree / "indicators/2024.yaml").write_text(
        "year: 2024\nversion: '2024.1'\nderive_from: 2023\nchanges:\n"
        "  - op: retire\n    indicator: 13\n    reason: 并入 12\n"
        "  - op: add\n    level2: 4\n    reason: 年度新增\n    indicator:\n"
        "      no: 89\n      name: 数字化产改平台\n      meaning: 建设产改数字化工作平台情况\n"
        "      kind: qualitative\n      kind_reason: 看平台建设与使用\n      weight: 1\n"
        "      evidence_kinds: [summary]\n      rubric:\n"
        "        - {value: 4, label: 好, descriptor: 平台建成并常态使用}\n"
        "        - {value: 3, label: 较好, descriptor: 平台建成但使用不多}\n"
        "        - {value: 2, label: 一般, descriptor: 平台在建}\n"
        "        - {value: 1, label: 差, descriptor: 无平台}\n",
        encoding="utf-8")
    system = load_system(2024, rubrics_dir=tree)
    assert system.get(28).weight == 1.0  # 2023's change carried through the chain
    assert system.get(89).level2 == "工作指导"
    assert [l2.indicator_nos for l2 in system.level1[0].level2 if l2.no == 4][0] == (11, 12, 14, 15, 16, 17, 18, 19, 89)
    with pytest.raises(RubricError):
        system.get(13)
    assert len(system.indicators) == 88 and system.total_weight == 100


def test_added_indicator_may_not_reuse_a_number(tree):
    (tree / "indicators/2024.yaml").write_text(
        "year: 2024\nversion: '2024.1'\nderive_from: 2023\nchanges:\n"
        "  - op: retire\n    indicator: 13\n    reason: 停用\n"
        "  - op: add\n    level2: 4\n    reason: 新增\n    indicator:\n      no: 13\n      name: x\n",
        encoding="utf-8")
    assert_names(error_for(tree, 2024), "2024.yaml", 12, "已被使用过")


def test_vocabulary_terms_and_synonyms_are_attached(tree):
    assert load_system(2022, rubrics_dir=tree).get(4).terms == ()  # no vocabulary file: no terms
    (tree / "vocabulary.yaml").write_text(
        "indicators:\n  4:\n    terms: [专题会议, 批示]\n    synonyms: {书记批示: [主要领导批示]}\n", encoding="utf-8")
    tree2 = tree.parent / "copy"
    shutil.copytree(tree, tree2)  # a new directory, so the cached system without vocabulary is not reused
    assert load_system(2022, rubrics_dir=tree2).get(4).terms == ("专题会议", "批示", "书记批示")


# ---------------------------------------------------------------- units

def test_thirty_two_units_with_unique_codes():
    units = load_units()
    assert len(units) == 32
    assert len({u.code for u in units}) == 32
    corps = get_unit("BT")
    assert corps.name == "新疆生产建设兵团" and corps.gb_code == ""
    assert get_unit("BJ").gb_code == "110000"


def test_unknown_unit_is_a_rubric_error():
    with pytest.raises(RubricError, match="未知的单位代码.*XX.*BT"):
        get_unit("XX")


# ---------------------------------------------------------------- scoring rules and measures

SCORING_14 = ("            scoring: {level: percentile, growth: [[0.15, 1.0], [0.08, 0.8], [0.03, 0.6], [0.0, 0.4], "
              "[-0.05, 0.2]], blend: {level: 0.4, growth: 0.6}}\n")
AFTER_14 = ("            source: statistics\n            evidence_kinds: [notice, summary, statistics]\n"
            "            measures:\n              - {key: meetings")


@pytest.mark.parametrize("scoring, words", [
    (None, ["必须设计分规则 scoring"]),
    ("percentile", ["scoring 应为键值映射"]),
    ("{level: percentile, blend: {level: 1}, weight: 2}", ["未知的键", "weight"]),
    ("{level: percentile}", ["缺少必填的键：blend"]),
    ("{level: median, blend: {level: 1}}", ["scoring.level", "median", "无效"]),
    ("{level: {top: 1}, blend: {level: 1}}", ["scoring.level", "无效"]),
    ("{level: [[10, 1.5]], blend: {level: 1}}", ["scoring.level 分档", "应在 0–1 之间"]),
    ("{level: percentile, growth: [[0.1]], blend: {level: 0.4, growth: 0.6}}", ["[门槛, 得分比例]"]),
    ("{level: percentile, growth: [[0.1, 1], [0.1, 0.5]], blend: {level: 0.4, growth: 0.6}}", ["重复的门槛"]),
    ("{level: percentile, growth: [], blend: {level: 0.4, growth: 0.6}}", ["scoring.growth 分档不能为空"]),
    ("{level: percentile, growth: [[0.1, 1]], blend: {level: 0.5, growth: 0.6}}", ["之和应为 1", "1.1"]),
    ("{level: percentile, blend: {level: 0.5, effort: 0.5}}", ["“effort” 无效"]),
    ("{level: percentile, growth: [[0.1, 1]], blend: {level: 0, growth: 1}}", ["blend.level", "0–1 之间的正数"]),
    ("{level: percentile, blend: {level: 0.4, growth: 0.6}}", ["须设 scoring.growth 分档"]),
    ("{level: percentile, growth: [[0.1, 1]], blend: {level: 1}}", ["blend 中没有 growth"]),
    ("{level: percentile, target: {people: 10}, blend: {level: 0.5, target: 0.5}}", ["“people” 不是本指标计分的 measure"]),
    ("{level: percentile, target: {meetings: 0}, blend: {level: 0.5, target: 0.5}}", ["目标值 meetings 应为正数"]),
    ("{level: percentile, target: {meetings: 12}, blend: {level: 1}}", ["blend 中没有 target"]),
    ("{level: percentile, blend: {level: 0.5, target: 0.5}}", ["须设 scoring.target"]),
    ("{level: percentile, target: {meetings: 12}, blend: {target: 1}}", ["不含 level", "“attendees”", "没有可计分的部分"]),
    ("{level: percentile, blend: {level: 1}, rated_share: 0.6}", ["定量指标", "不设 rated_share"]),
    ("{level: percentile, blend: {level: 1}, min_sample: 30}", ["不是问卷指标", "不设 min_sample"]),
])
def test_bad_scoring_rules_are_refused_naming_file_line_and_indicator(tree, scoring, words):
    new = "" if scoring is None else f"            scoring: {scoring}\n"
    line = edit(tree / "indicators/2022.yaml", SCORING_14 + AFTER_14, new + AFTER_14)
    if scoring is None:  # a missing rule is blamed on the indicator itself
        text = (tree / "indicators/2022.yaml").read_text(encoding="utf-8")
        line = text[: text.index("- no: 14")].count("\n") + 1
    assert_names(error_for(tree), "2022.yaml", line, "指标 14「产改工作推进会、现场会、经验交流会」", *words)


def test_mixed_and_survey_indicators_need_their_own_scoring_keys(tree):
    path = tree / "indicators/2022.yaml"
    mixed = ("            scoring: {level: percentile, blend: {level: 1}, rated_share: 0.6}\n"
             "            evidence_kinds: [policy, summary, statistics]")
    line = edit(path, mixed, mixed.replace("rated_share: 0.6", "rated_share: 1"))
    assert_names(error_for(tree), "2022.yaml", line, "指标 3", "rated_share", "0 与 1 之间")
    edit(path, mixed.replace("rated_share: 0.6", "rated_share: 1"), mixed)
    survey = ("{level: score, blend: {level: 1}, min_sample: 100}\n            source: survey\n"
              "            evidence_kinds: [statistics]\n            measures:\n"
              "              - {key: satisfaction_score, label: 产业工人满意度得分")
    line = edit(path, survey, survey.replace("min_sample: 100", "min_sample: 1"))
    assert_names(error_for(tree), "2022.yaml", line, "指标 83", "min_sample", "不小于 2")
    edit(path, survey.replace("min_sample: 100", "min_sample: 1"), survey.replace("level: score", "level: percentile"))
    assert_names(error_for(tree), "2022.yaml", line, "指标 83", "应为 score")


def test_a_target_rule_loads_and_a_measure_without_definition_is_refused(tree):
    path = tree / "indicators/2022.yaml"
    edit(path, SCORING_14 + AFTER_14, "            scoring: {level: percentile, target: {meetings: 12}, "
                                      "blend: {level: 0.5, target: 0.5}}\n" + AFTER_14)
    indicator = load_system(2022, rubrics_dir=tree).get(14)
    assert indicator.scoring.targets() == {"meetings": 12.0} and dict(indicator.scoring.blend) == {"level": 0.5, "target": 0.5}
    clear_cache()
    line = edit(path, "growth: true, share: false,\n                 definition: 上述会议实际参会人数之和（含视频分会场人数，同一人参加多次按次累计）}",
                "growth: true, share: false}")
    assert_names(error_for(tree), "2022.yaml", line, "指标 14", "attendees", "统计口径 definition")


def test_every_measure_says_how_it_is_counted(base):
    for ind in base.indicators:
        for m in ind.measures:
            assert len(m.definition) >= 10, (ind.no, m.key)
