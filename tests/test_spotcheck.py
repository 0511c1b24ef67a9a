"""The spot-check draw keeps the seed text's rules, or says which one gave way and why."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from rubrics.units import unit_name
from rounds.spotcheck import (
    SpotcheckInputError, SpotcheckOverrideError, UnitHistory, apply_override,
    draw_spotcheck, quota,
)

REPO = Path(__file__).resolve().parents[1]
CODES = [u["code"] for u in yaml.safe_load((REPO / "rubrics" / "units.yaml").read_text(encoding="utf-8"))["units"]]
CATS = ["优秀", "良好", "一般", "差"]
MAYBE_CAT = st.sampled_from(CATS + [None])


def h(code, prev=None, self_=None, prev_self=None, checked=False):
    return UnitHistory(code, prev, self_, prev_self, checked)


def steady(codes=CODES, category="良好", checked=()):
    """Every unit keeps its category; nobody is forced in."""
    return [h(c, category, category, category, c in checked) for c in codes]


@st.composite
def histories(draw):
    codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=32, unique=True))
    return [UnitHistory(c, draw(MAYBE_CAT), draw(MAYBE_CAT), draw(MAYBE_CAT), draw(st.booleans())) for c in codes]


def changed(u: UnitHistory, basis: str) -> bool:
    other = getattr(u, basis)
    return u.self_category is not None and other is not None and u.self_category != other


# --- properties ---------------------------------------------------------------

@settings(max_examples=1500, deadline=None)
@given(units=histories(), seed=st.integers(0, 2**31 - 1),
       basis=st.sampled_from(["previous_category", "previous_self_category"]), data=st.data())
def test_every_rule_holds_or_the_conflict_is_reported(units, seed, basis, data):
    extra = data.draw(st.lists(st.sampled_from([u.code for u in units]), max_size=3, unique=True))
    result = draw_spotcheck(units, seed=seed, change_basis=basis, extra=extra)
    by_code = {u.code: u for u in units}
    chosen = set(result.selected)
    n = len(units)
    poor = [u.code for u in units if u.previous_category == "差"]
    forced = {u.code for u in units if changed(u, basis)} | set(extra)

    assert result.selected == sorted(chosen) and chosen <= set(by_code)
    # ≥30% of all units, ≥60% of last year's 差 units.
    assert len(chosen) >= -(-3 * n // 10)
    assert sum(c in chosen for c in poor) >= -(-6 * len(poor) // 10)
    # Changed self-category (and office picks) always in.
    assert forced <= chosen
    assert set(result.forced) == forced
    # Nothing beyond what the rules need.
    forced_poor = sum(c in forced for c in poor)
    needed = len(forced) + max(0, quota(0.6, len(poor)) - forced_poor)
    assert len(chosen) == max(quota(0.3, n), needed)
    # A unit checked last year is in only with a reason and a conflict naming it,
    # and only once the units not checked last year have run out.
    for code in chosen:
        if by_code[code].checked_last_year:
            assert any("上年已被抽查" in r for r in result.reasons[code])
            assert any(unit_name(code, short=True) in message for message in result.conflicts)
            if code not in forced:
                pool = poor if code in poor else list(by_code)
                assert all(c in chosen for c in pool if not by_code[c].checked_last_year)
    # People read these: units by name, never by code.
    for message in result.conflicts + [r for reasons in result.reasons.values() for r in reasons]:
        assert not re.search(r"(?<![A-Za-z])[A-Z]{2}(?![A-Za-z])", message), message
    # Out because of last year's check is listed as excluded.
    assert set(result.excluded) == {c for c in by_code if c not in chosen and by_code[c].checked_last_year}
    # Every unit, in or out, says why.
    assert set(result.reasons) == set(by_code)
    assert all(result.reasons[c] for c in by_code)
    # Same inputs + seed, in any order, give the same draw.
    shuffled = list(units)
    random.Random(seed).shuffle(shuffled)
    again = draw_spotcheck(shuffled, seed=seed, change_basis=basis, extra=extra)
    assert (again.selected, again.reasons, again.conflicts) == (result.selected, result.reasons, result.conflicts)


def test_the_draw_changes_with_the_seed():
    draws = {tuple(draw_spotcheck(steady(), seed=s).selected) for s in range(20)}
    assert len(draws) >= 15


def test_a_missing_seed_is_drawn_and_recorded_so_the_draw_can_be_repeated():
    first = draw_spotcheck(steady())
    assert isinstance(first.seed, int)
    assert draw_spotcheck(steady(), seed=first.seed).selected == first.selected


# --- examples -------------------------------------------------------------------

def test_quota_is_the_exact_ceiling():
    assert quota(0.3, 10) == 3  # float 0.3 × 10 is 3.0000000000000004
    assert quota(0.3, 32) == 10
    assert quota(0.6, 5) == 3
    assert quota(0.6, 0) == 0


def test_first_year_without_categories_draws_thirty_percent_without_conflicts():
    result = draw_spotcheck([h(c) for c in CODES], seed=1)
    assert len(result.selected) == 10
    assert result.conflicts == []
    for code in result.selected:
        assert "随机抽中以满足不少于30%的比例" in result.reasons[code]


def test_a_changed_self_category_is_forced_in_with_the_seed_wording():
    units = steady()
    units[0] = h(CODES[0], "一般", "良好", "一般")
    result = draw_spotcheck(units, seed=3)
    assert CODES[0] in result.selected
    assert "自评类别（良好）与上年类别（一般）不同，直接纳入" in result.reasons[CODES[0]]


def test_change_basis_decides_what_counts_as_a_change():
    # Last year: self-rated 良好, the office made it 一般; this year self-rates 良好 again.
    units = steady()
    units[0] = h(CODES[0], prev="一般", self_="良好", prev_self="良好")
    by_category = draw_spotcheck(units, seed=5, change_basis="previous_category")
    by_self = draw_spotcheck(units, seed=5, change_basis="previous_self_category")
    assert CODES[0] in by_category.forced
    assert CODES[0] not in by_self.forced
    units[1] = h(CODES[1], prev="良好", self_="良好", prev_self="优秀")
    assert CODES[1] in draw_spotcheck(units, seed=5, change_basis="previous_self_category").forced
    assert "上年自评类别（优秀）" in draw_spotcheck(units, seed=5, change_basis="previous_self_category").reasons[CODES[1]][0]


def test_units_checked_last_year_stay_out_while_others_remain():
    checked = set(CODES[:20])
    result = draw_spotcheck(steady(checked=checked), seed=11)
    assert not set(result.selected) & checked
    assert result.conflicts == []
    assert set(result.excluded) == checked
    assert "上年已被抽查，原则上不连续抽查" in result.reasons[CODES[0]]


def test_overall_quota_reached_only_by_recheck_is_reported():
    result = draw_spotcheck(steady(checked=set(CODES[:28])), seed=2)
    assert len(result.selected) == 10
    assert set(CODES[28:]) <= set(result.selected)
    assert any("总体抽查比例" in m and "6 个" in m for m in result.conflicts)


def test_poor_quota_is_met_and_rechecks_poor_units_when_it_must():
    units = steady()
    for i in range(5):  # five 差 units last year, four of them checked
        units[i] = h(CODES[i], "差", "差", "差", checked=i < 4)
    result = draw_spotcheck(units, seed=9)
    poor_in = [c for c in CODES[:5] if c in result.selected]
    assert len(poor_in) == 3 and CODES[4] in poor_in
    assert any("差类单位抽查比例须不少于60%（3/5）" in m for m in result.conflicts)
    for code in poor_in:
        assert "上年类别为差，差类单位抽查比例不少于60%" in result.reasons[code]


def test_forced_unit_checked_last_year_is_in_and_the_conflict_said():
    units = steady()
    units[0] = h(CODES[0], "良好", "优秀", "良好", checked=True)
    result = draw_spotcheck(units, seed=4)
    assert CODES[0] in result.selected
    assert any(m.startswith(unit_name(CODES[0])) and "连续抽查" in m for m in result.conflicts)


def test_office_can_name_extra_units():
    result = draw_spotcheck(steady(), seed=4, extra=["BT"])
    assert "BT" in result.selected and "协调小组办公室指定纳入" in result.reasons["BT"]


@pytest.mark.parametrize("units, message", [
    ([], "为空"),
    ([h("BJ"), h("BJ")], "单位重复：北京"),
    ([h("BJ", prev="很好")], "很好"),
    ([h("BJ", self_="Excellent")], "Excellent"),
])
def test_bad_input_is_refused_in_chinese(units, message):
    with pytest.raises(SpotcheckInputError, match=message):
        draw_spotcheck(units, seed=1)


def test_bad_shares_and_unknown_extra_are_refused():
    with pytest.raises(SpotcheckInputError):
        draw_spotcheck(steady(), min_share=1.5)
    with pytest.raises(SpotcheckInputError, match="不在单位列表"):
        draw_spotcheck(steady(CODES[:5]), extra=["BT"])


def test_jiaocha_in_the_seed_text_means_cha():
    result = draw_spotcheck([h("BJ", "较差", "较差", "较差")] + steady(CODES[1:]), seed=1)
    assert "BJ" in result.poor_units and "BJ" in result.selected


# --- overrides and thematic evaluations -----------------------------------------

def test_override_refuses_to_remove_forced_units_and_needs_a_reason():
    units = steady()
    units[0] = h(CODES[0], "一般", "良好", "一般")
    result = draw_spotcheck(units, seed=1)
    with pytest.raises(SpotcheckOverrideError, match="不能移出"):
        apply_override(result, remove=[CODES[0]], reason="工作需要")
    with pytest.raises(SpotcheckOverrideError, match="理由"):
        apply_override(result, add=["BT"], reason="  ")


def test_override_records_reasons_and_quota_breaches_without_touching_the_original():
    result = draw_spotcheck(steady(checked={"BT"}), seed=1)
    drop = result.selected[0]
    changed_result = apply_override(result, add=["BT"], remove=[drop], reason="协调小组会议审定")
    assert "BT" in changed_result.selected and drop not in changed_result.selected
    assert "人工调整纳入：协调小组会议审定" in changed_result.reasons["BT"]
    assert "人工调整移出：协调小组会议审定" in changed_result.reasons[drop]
    assert any("新疆生产建设兵团" in m and "再次纳入" in m for m in changed_result.conflicts)
    assert drop in result.selected and "BT" not in result.selected

    fewer = apply_override(result, remove=[drop], reason="协调小组会议审定")
    assert any("少于规定的 10 个" in m for m in fewer.conflicts)


# --- CLI ------------------------------------------------------------------------------

def run(args, tmp_path=None, payload=None):
    from review_ui.cli import main
    if payload is not None:
        path = tmp_path / "history.json"
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False),
                        encoding="utf-8")
        args = args + ["--history", str(path)]
    return CliRunner().invoke(main, ["spotcheck"] + args)


def full_history(**overrides):
    rows = [{"code": c, "previous_category": "良好", "self_category": "良好", "previous_self_category": "良好",
             "checked_last_year": False} for c in CODES]
    for code, changes in overrides.items():
        next(r for r in rows if r["code"] == code).update(changes)
    return {"units": rows}


def test_cli_json_output_is_the_draw_and_repeats_with_the_seed(tmp_path):
    payload = full_history(JS={"self_category": "优秀"})
    result = run(["--year", "2024", "--seed", "42", "--json"], tmp_path, payload)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["year"] == 2024 and data["seed"] == 42
    assert "JS" in data["selected"] and len(data["selected"]) == 10
    assert "自评类别（优秀）与上年类别（良好）不同，直接纳入" in data["reasons"]["JS"]
    assert set(data["reasons"]) == set(CODES)
    assert "优秀" in result.stdout  # ensure_ascii=False keeps Chinese readable
    again = json.loads(run(["--year", "2024", "--seed", "42", "--json"], tmp_path, payload).stdout)
    assert again["selected"] == data["selected"]


def test_cli_change_basis_option_is_used(tmp_path):
    payload = full_history(JS={"previous_category": "一般"})  # self 良好 == last self 良好
    data = json.loads(run(["--year", "2024", "--seed", "1", "--json", "--change-basis",
                           "previous_self_category"], tmp_path, payload).stdout)
    assert not any("直接纳入" in r for r in data["reasons"]["JS"])


def test_cli_plain_output_lists_units_in_chinese(tmp_path):
    result = run(["--year", "2024", "--seed", "1"], tmp_path, full_history())
    assert result.exit_code == 0
    assert "随机种子 1" in result.stdout and "共抽取 10/32" in result.stdout


@pytest.mark.parametrize("payload, message", [
    ("{not json", "不是有效的JSON"),
    ({"rows": []}, "格式"),
    (full_history(BJ={"self_category": "很好"}), "很好"),
    ({"units": full_history()["units"] + [full_history()["units"][0]]}, "单位重复"),
    ({"units": full_history()["units"] + [{"code": "XX"}]}, "未知的单位代码"),
    ({"units": full_history()["units"][:31]}, "缺少以下单位"),
])
def test_cli_bad_history_exits_2_with_a_chinese_message(tmp_path, payload, message):
    result = run(["--year", "2024", "--json"], tmp_path, payload)
    assert result.exit_code == 2
    assert message in result.output
    assert result.stdout == ""


def test_cli_missing_file_or_history_exits_2(tmp_path):
    missing = run(["--year", "2024", "--history", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "找不到历史记录文件" in missing.output
    none = run(["--year", "2024"])
    assert none.exit_code == 2 and "--history" in none.output
