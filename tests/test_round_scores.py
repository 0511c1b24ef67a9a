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


# --- each rule of a measure, through measure_fraction and score_round ---------------------------

def test_growth_bands_give_the_fraction_of_the_highest_threshold_reached():
    rule = Scoring(level="percentile", growth=((0.10, 1.0), (0.05, 0.6), (0.0, 0.3)), blend=(("growth", 1.0),))
    fractions = {value: measure_fraction(COUNT, rule, MeasureValue(value, 100), [])[0] for value in (110, 108, 101, 95)}
    assert fractions == {110: 1.0, 108: 0.6, 101: 0.3, 95: 0.0}  # a decline below every band earns nothing
    assert "较基期+8.0%" in measure_fraction(COUNT, rule, MeasureValue(108, 100), [])[1]


def test_level_bands_in_both_directions():
    share = Measure("s", "占比", "%", growth=False, share=True)
    banded = Scoring(level=((50.0, 1.0), (30.0, 0.5)), blend=(("level", 1.0),))
    assert [measure_fraction(share, banded, MeasureValue(v), [])[0] for v in (60, 40, 10)] == [1.0, 0.5, 0.0]
    # less is better: the bands are ceilings (at most 5% → full, at most 10% → half)
    turnover = Measure("t", "离职率", "%", growth=True, share=True, direction="lower")
    ceilings = Scoring(level=((5.0, 1.0), (10.0, 0.5)), blend=(("level", 1.0),))
    assert [measure_fraction(turnover, ceilings, MeasureValue(v), [])[0] for v in (4, 8, 12)] == [1.0, 0.5, 0.0]
    # and its growth counts a fall as improvement: from 10% down to 8% is +20%
    falling = Scoring(level="percentile", growth=GROWTH, blend=(("growth", 1.0),))
    assert measure_fraction(turnover, falling, MeasureValue(8, 10), [])[0] == 1.0
    assert measure_fraction(turnover, falling, MeasureValue(12, 10), [])[0] == 0.0
    assert measure_fraction(turnover, falling, MeasureValue(3, 0), [])[0] == 0.0  # up from nothing is worse


def test_target_attainment_in_both_directions_and_renormalised_blend():
    target = Scoring(level="percentile", target=(("n", 200.0),), blend=(("level", 0.5), ("target", 0.5)))
    # level: beats one of two others (0.5); target: 100 of 200 (0.5)
    assert measure_fraction(COUNT, target, MeasureValue(100, 90), [50, 150])[0] == pytest.approx(0.5)
    assert measure_fraction(COUNT, target, MeasureValue(400, 90), [50, 150])[0] == pytest.approx(1.0)  # capped at 1
    assert "目标完成50%" in measure_fraction(COUNT, target, MeasureValue(100, 90), [50, 150])[1]
    lower = Measure("n", "离职率", "%", growth=False, share=True, direction="lower")
    only_target = Scoring(level="percentile", target=(("n", 5.0),), blend=(("target", 1.0),))
    assert measure_fraction(lower, only_target, MeasureValue(4), [])[0] == 1.0
    assert measure_fraction(lower, only_target, MeasureValue(10), [])[0] == pytest.approx(0.5)
    other = Measure("m", "其他", "个", growth=False, share=False)  # no target of its own: level only, renormalised
    assert measure_fraction(other, target, MeasureValue(100), [50, 150])[0] == pytest.approx(0.5)


def test_a_target_set_in_the_rubric_file_scores_through_score_round(tmp_path):
    import shutil

    from rubrics.indicators import RUBRICS_DIR, load_system
    shutil.copytree(RUBRICS_DIR / "indicators", tmp_path / "indicators")
    path = tmp_path / "indicators" / "2022.yaml"
    text = path.read_text(encoding="utf-8")
    old = ("scoring: {level: percentile, growth: [[0.15, 1.0], [0.08, 0.8], [0.03, 0.6], [0.0, 0.4], [-0.05, 0.2]], "
           "blend: {level: 0.4, growth: 0.6}}\n            source: statistics\n            evidence_kinds: [notice, "
           "summary, statistics]\n            measures:\n              - {key: meetings")
    assert text.count(old) == 1
    rule = "scoring: {level: percentile, target: {meetings: 20, attendees: 1000}, blend: {level: 0.4, target: 0.6}}"
    path.write_text(text.replace(old, rule + old[old.index("\n"):]), encoding="utf-8")
    system = load_system(2022, rubrics_dir=tmp_path)
    values = {("JS", 14, "meetings"): MeasureValue(10, 8), ("JS", 14, "attendees"): MeasureValue(1500, 1000),
              ("SH", 14, "meetings"): MeasureValue(30, 30), ("SH", 14, "attendees"): MeasureValue(500, 600)}
    js, sh = (next(r for r in u.indicators if r.no == 14) for u in score_round(system, UNITS[:2], {}, values))
    # JS: meetings 0.4×0 + 0.6×(10/20) = 0.3, attendees 0.4×1 + 0.6×1 = 1.0 → mean 0.65
    # SH: meetings 0.4×1 + 0.6×1 = 1.0, attendees 0.4×0 + 0.6×0.5 = 0.3 → mean 0.65
    assert js.points == pytest.approx(system.get(14).weight * 0.65) and "目标完成50%" in js.basis
    assert sh.points == pytest.approx(js.points)


def test_a_rating_outside_the_rubric_is_refused():
    from rounds.scoring import ScoringError
    with pytest.raises(ScoringError, match="超出0–4"):
        score_round(SYSTEM, UNITS[:1], {("JS", 1): RatingInput(consensus=5)}, {})


def test_points_per_first_level_indicator_and_the_hundred_point_scale():
    ratings = {("JS", ind.no): RatingInput(consensus=4) for ind in SYSTEM.indicators if ind.level1 == "组织领导"}
    unit = score_round(SYSTEM, UNITS[:1], ratings, {})[0]
    organisation = sum(i.weight for i in SYSTEM.indicators if i.level1 == "组织领导")
    scored = sum(i.weight for i in SYSTEM.indicators if i.level1 == "组织领导" and i.kind == "qualitative")
    assert unit.level1_points() == {"组织领导": pytest.approx(scored)}  # mixed ones wait for their values
    assert unit.percent == pytest.approx(100 * scored / 100) and scored < organisation


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=40), min_size=1, max_size=5))
def test_pooled_batches_give_the_index_of_all_their_responses(batches):
    from rounds.scoring import batch_of, pooled_index
    everything = [score for batch in batches for score in batch]
    pooled, direct = pooled_index([batch_of(b) for b in batches]), survey_index(everything)
    assert pooled.n == direct.n == len(everything)
    assert pooled.index == pytest.approx(direct.index, abs=1e-9)
    if direct.low is None:
        assert pooled.low is None
    else:
        assert pooled.low == pytest.approx(direct.low, abs=1e-6) and pooled.high == pytest.approx(direct.high, abs=1e-6)
