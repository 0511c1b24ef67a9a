"""The one score computation: every indicator kind, growth from any base, the effort blend, surveys."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from rounds.scoring import (
    MeasureValue, RatingInput, SurveyIndex, improvement, measure_fraction, percentile_rank, score_round, survey_index,
)
from rubrics.indicators import Measure, Scoring, system_in_force

SYSTEM = system_in_force(2023)
UNITS = [("JS", "江苏省"), ("SH", "上海市"), ("GS", "甘肃省")]
GROWTH = ((0.15, 1.0), (0.08, 0.8), (0.03, 0.6), (0.0, 0.4), (-0.05, 0.2))
COUNT = Measure("n", "数量", "个", growth=True, share=False)


def test_direction_decides_who_ranks_first():
    assert percentile_rank(10, [5, 1]) == 1.0
    assert percentile_rank(10, [5, 1], "lower") == 0.0
    assert percentile_rank(3, [3, 1]) == 0.75  # a tie counts half
    # 主动离职率: less is better, so the lower rate earns the points
    (no, turnover), = [(ind.no, m) for ind in SYSTEM.indicators for m in ind.measures if m.direction == "lower"]
    rule = SYSTEM.get(no).scoring
    values = {("JS", no, turnover.key): MeasureValue(2.0, 2.0), ("SH", no, turnover.key): MeasureValue(9.0, 9.0)}
    js, sh = (next(r for r in u.indicators if r.no == no) for u in score_round(SYSTEM, UNITS[:2], {}, values))
    assert rule is not None and js.points > sh.points


def test_growth_from_a_zero_or_negative_base():
    assert improvement(120, 100) == pytest.approx(0.2)
    assert improvement(5, 0) == math.inf          # from nothing to something: unbounded growth
    assert improvement(0, 0) == 0.0
    assert improvement(-1, 0) == -math.inf
    assert improvement(-5, -10) == pytest.approx(0.5)   # up from a negative base is growth
    assert improvement(-15, -10) == pytest.approx(-0.5)
    rule = Scoring(level="percentile", growth=GROWTH, blend=(("growth", 1.0),))
    assert measure_fraction(COUNT, rule, MeasureValue(3, 0), [])[0] == 1.0
    assert measure_fraction(COUNT, rule, MeasureValue(0, 0), [])[0] == 0.4   # flat
    fraction, why = measure_fraction(COUNT, rule, MeasureValue(3, None), [])
    assert fraction is None and "缺少基期值" in why


def test_effort_blend_rewards_a_low_base_unit_that_improves_a_lot():
    rule = Scoring(level="percentile", growth=GROWTH, blend=(("level", 0.4), ("growth", 0.6)))
    # 甘肃 reports the lowest level but doubled it; 江苏 has the highest level and stood still
    low_riser = measure_fraction(COUNT, rule, MeasureValue(20, 10), [100, 60])[0]
    high_flat = measure_fraction(COUNT, rule, MeasureValue(100, 100), [20, 60])[0]
    level_only = Scoring(level="percentile", blend=(("level", 1.0),))
    assert measure_fraction(COUNT, level_only, MeasureValue(20, 10), [100, 60])[0] == 0.0
    assert low_riser == pytest.approx(0.6) and high_flat == pytest.approx(0.4 + 0.6 * 0.4)
    assert low_riser > 0


def test_survey_below_the_minimum_sample_is_not_scored():
    minimum = SYSTEM.get(83).scoring.min_sample
    few = score_round(SYSTEM, UNITS[:1], {}, {}, {("JS", 83): SurveyIndex(95.0, minimum - 1)})[0]
    r83 = next(r for r in few.indicators if r.no == 83)
    assert r83.points is None and "样本不足" in r83.basis
    enough = score_round(SYSTEM, UNITS[:1], {}, {}, {("JS", 83): SurveyIndex(80.0, minimum, 78, 82)})[0]
    r83 = next(r for r in enough.indicators if r.no == 83)
    assert r83.points == pytest.approx(r83.weight * 0.8) and "置信区间" in r83.basis


def test_survey_index_interval_narrows_with_n():
    small, large = survey_index([60, 80, 100, 70]), survey_index([60, 80, 100, 70] * 25)
    assert small.index == large.index == pytest.approx(77.5)
    assert (large.high - large.low) < (small.high - small.low)


def test_mixed_indicator_combines_rated_and_measured_parts_by_share():
    mixed = next(i for i in SYSTEM.indicators if i.kind == "mixed")
    share = mixed.scoring.rated_share
    values = {(code, mixed.no, m.key): MeasureValue(v, v) for m in mixed.measures
              for code, v in (("JS", 100.0), ("SH", 50.0))}
    ratings = {("JS", mixed.no): RatingInput(consensus=2), ("SH", mixed.no): RatingInput(consensus=2)}
    js, sh = (next(r for r in u.indicators if r.no == mixed.no) for u in score_round(SYSTEM, UNITS[:2], ratings, values))
    # same rating, same (zero) growth: the level part decides; JS ranks first, SH last
    blend = dict(mixed.scoring.blend)
    growth_part = 0.4 if "growth" in blend else 0
    measured_js = blend.get("level", 0) * 1.0 + blend.get("growth", 0) * growth_part if any(m.growth for m in mixed.measures) else 1.0
    assert js.points == pytest.approx(mixed.weight * (share * 0.5 + (1 - share) * measured_js), abs=1e-3)
    assert js.points > sh.points
    only_rated = score_round(SYSTEM, UNITS[:1], {("JS", mixed.no): RatingInput(consensus=4)}, {})[0]
    r = next(r for r in only_rated.indicators if r.no == mixed.no)
    assert r.points is None and "缺少" in r.basis  # half an answer is no score


def test_unscored_indicators_wait_and_are_not_zero():
    result = score_round(SYSTEM, UNITS[:1], {("JS", 1): RatingInput(consensus=4)}, {})[0]
    assert not result.complete and result.total == pytest.approx(SYSTEM.get(1).weight)
    assert len(result.waiting) == 87 and all(r.points is None for r in result.waiting)
    assert result.scored_share == pytest.approx(SYSTEM.get(1).weight / 100)


@hsettings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from([no for no in range(1, 89)]), st.integers(1, 4), max_size=88),
       st.lists(st.floats(0, 1e6, allow_nan=False), min_size=3, max_size=3),
       st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=3, max_size=3))
def test_points_stay_within_weight_and_add_up_to_the_total(levels, values, bases):
    ratings = {(code, no): RatingInput(consensus=v) for code, _ in UNITS for no, v in levels.items()}
    measures = {(code, ind.no, m.key): MeasureValue(values[i], bases[i])
                for i, (code, _) in enumerate(UNITS) for ind in SYSTEM.indicators for m in ind.measures}
    for unit in score_round(SYSTEM, UNITS, ratings, measures):
        points = [r.points for r in unit.indicators if r.points is not None]
        assert all(0 <= r.points <= r.weight for r in unit.indicators if r.points is not None)
        assert sum(points) == pytest.approx(unit.total, abs=1e-3)
        assert 0 <= unit.total <= 100
