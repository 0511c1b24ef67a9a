"""Scores, agreement, category thresholds and the consequences of categories."""
from __future__ import annotations

import pytest

from rounds.categories import (
    HONOUR_QUOTA, RECTIFICATION, CategoryError, category_for, decide_category, flags_for,
    thresholds_for_year, validate_thresholds,
)
from rounds.scoring import RatingInput, ScoringError, agreement, agreement_for, rating_value


# --- ratings (the score computation itself is tested in test_round_scores.py) ---------------

def test_consensus_beats_the_mean_of_independent_ratings():
    assert rating_value(RatingInput(consensus=3, independent=(4, 4))) == 3
    assert rating_value(RatingInput(independent=(4, 3))) == 3.5
    assert rating_value(RatingInput(self_assessed=2)) == 2
    assert rating_value(RatingInput(independent=(3,), self_assessed=1)) == 3  # reviewers before the self-assessment
    assert rating_value(RatingInput()) is None
    assert rating_value(None) is None


# --- agreement ------------------------------------------------------------------------

def two_raters(a, b):
    return {f"U{i}": {"甲": x, "乙": y} for i, (x, y) in enumerate(zip(a, b))}


def test_quadratic_kappa_matches_the_hand_computation():
    # Marginals of both raters p = (.2,.2,.2,.4): expected quadratic disagreement
    # = 2·Var/9 = 2.72/9; observed = (1/9 + 1/9)/5 = 0.4/9; κ = 1 − 0.4/2.72 = 29/34.
    result = agreement(two_raters([1, 2, 3, 4, 4], [1, 2, 4, 4, 3]))
    assert result.kappa == pytest.approx(29 / 34)
    assert result.raters == 2 and result.units == 5
    assert 0 < result.alpha < 1


def test_perfect_agreement_gives_one_and_single_ratings_are_ignored():
    ratings = two_raters([1, 2, 3, 4], [1, 2, 3, 4])
    assert agreement(ratings).alpha == pytest.approx(1.0)
    assert agreement(ratings).kappa == pytest.approx(1.0)
    base = agreement(two_raters([1, 2, 3, 4, 4], [1, 2, 4, 4, 3])).alpha
    with_missing = two_raters([1, 2, 3, 4, 4], [1, 2, 4, 4, 3])
    with_missing["U9"] = {"甲": 1, "乙": None}
    assert agreement(with_missing).alpha == pytest.approx(base)


def test_kappa_only_for_exactly_two_raters():
    ratings = {f"U{i}": {"甲": v, "乙": v, "丙": 5 - v} for i, v in enumerate([1, 2, 3, 4])}
    result = agreement(ratings)
    assert result.kappa is None and "恰好2名" in result.kappa_reason
    assert result.alpha is not None and result.alpha < 0.5


@pytest.mark.parametrize("ratings, reason", [
    ({"U1": {"甲": 3}}, "少于2名"),
    ({"U1": {"甲": 3, "乙": 3}, "U2": {"甲": 3, "乙": 3}}, "无差异"),
    ({"U1": {"甲": 3, "乙": None}, "U2": {"甲": None, "乙": 2}}, "没有任何单位"),
])
def test_undefined_alpha_is_none_with_a_reason(ratings, reason):
    result = agreement(ratings)
    assert result.alpha is None and reason in result.alpha_reason


def test_undefined_kappa_is_none_with_a_reason():
    result = agreement({"U1": {"甲": 3, "乙": 4}})
    assert result.kappa is None and "少于2个" in result.kappa_reason
    same = agreement(two_raters([2, 2, 2], [2, 2, 2]))
    assert same.kappa is None and "无差异" in same.kappa_reason


def test_ratings_outside_the_rubric_are_refused():
    with pytest.raises(ScoringError, match="取值范围"):
        agreement(two_raters([1, 7], [1, 2]))


# --- thresholds and categories -----------------------------------------------------------

def test_category_boundaries():
    t = {"优秀": 90, "良好": 75, "一般": 60}
    assert [category_for(s, t) for s in (100, 90, 89.99, 75, 60, 59.9, 0)] == \
        ["优秀", "优秀", "良好", "良好", "一般", "差", "差"]
    with pytest.raises(CategoryError, match="0–100"):
        category_for(101, t)


@pytest.mark.parametrize("raw, message", [
    ({"优秀": 75, "良好": 90, "一般": 60}, "严格递减"),
    ({"优秀": 90, "良好": 90, "一般": 60}, "严格递减"),
    ({"优秀": 120, "良好": 75, "一般": 60}, "0–100"),
    ({"优秀": 90, "良好": 75}, "缺少“一般”"),
    ({"优秀": 90, "良好": 75, "一般": 60, "合格": 50}, "合格"),
    ({"优秀": 90, "良好": 75, "一般": 60, "差": 40}, "无需设定"),
    ({"优秀": "九十", "良好": 75, "一般": 60}, "数字"),
])
def test_bad_thresholds_are_refused_in_chinese(raw, message):
    with pytest.raises(CategoryError, match=message):
        validate_thresholds(raw)


def test_thresholds_per_year_fall_back_to_the_latest_earlier_year():
    table = {2022: {"优秀": 90, "良好": 75, "一般": 60}, 2024: {"优秀": 92, "良好": 80, "一般": 65}}
    assert thresholds_for_year(table, 2023).excellent == 90
    assert thresholds_for_year(table, 2025).excellent == 92
    with pytest.raises(CategoryError):
        thresholds_for_year(table, 2021)


def test_decide_category_by_score_self_category_and_office():
    t = {"优秀": 90, "良好": 75, "一般": 60}
    checked = decide_category("JS", spot_checked=True, score=80, thresholds=t, self_category="优秀")
    assert checked.category == "良好" and "抽查" in checked.basis
    unchecked = decide_category("GD", spot_checked=False, self_category="优秀")
    assert unchecked.category == "优秀" and "自评" in unchecked.basis
    with pytest.raises(CategoryError, match="理由"):
        decide_category("GD", spot_checked=False, self_category="优秀", office_category="良好")
    adjusted = decide_category("GD", spot_checked=False, self_category="优秀", office_category="良好",
                               office_reason="自评材料与实际不符")
    assert adjusted.category == "良好" and adjusted.computed == "优秀" and "自评材料与实际不符" in adjusted.notes[0]
    first = decide_category("BT", spot_checked=False, initial=True, office_category="一般")
    assert first.category == "一般" and "初始类别" in first.basis
    with pytest.raises(CategoryError, match="初始类别"):
        decide_category("BT", spot_checked=False, initial=True, self_category="优秀")
    with pytest.raises(CategoryError, match="未报送自评类别"):
        decide_category("BT", spot_checked=False)


# --- consequences -------------------------------------------------------------------------

def kinds(history, year):
    return [f.kind for f in flags_for(history, year)]


def test_excellent_gets_the_nomination_quota_flag():
    flags = flags_for({2023: "良好", 2024: "优秀"}, 2024)
    assert [f.kind for f in flags] == [HONOUR_QUOTA]
    assert "全国五一劳动奖" in flags[0].message and "工人先锋号" in flags[0].message


@pytest.mark.parametrize("previous, current", [("一般", "一般"), ("一般", "差"), ("差", "一般"), ("差", "差"),
                                               ("较差", "一般")])
def test_two_weak_years_running_trigger_rectification(previous, current):
    flags = flags_for({2023: previous, 2024: current}, 2024)
    assert [f.kind for f in flags] == [RECTIFICATION]
    assert "批评、约谈" in flags[0].message and "限期督查整改" in flags[0].message


def test_no_rectification_without_two_consecutive_weak_years():
    assert kinds({2022: "一般", 2023: "良好", 2024: "差"}, 2024) == []
    assert kinds({2022: "差", 2024: "差"}, 2024) == []            # 2023 unknown: not consecutive
    assert kinds({2023: "差", 2024: "良好"}, 2024) == []
    assert kinds({2023: "差"}, 2024) == []


def test_agreement_for_takes_unit_rater_cells_and_returns_alpha_and_kappa():
    cells = {(f"U{i}", rater): v for i, (a, b) in enumerate(zip([1, 2, 3, 4, 4], [1, 2, 4, 4, 3]))
             for rater, v in ((7, a), (9, b))}
    alpha, kappa = agreement_for(cells)
    assert kappa == pytest.approx(29 / 34)
    assert alpha == pytest.approx(agreement(two_raters([1, 2, 3, 4, 4], [1, 2, 4, 4, 3])).alpha)
