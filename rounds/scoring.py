"""The round's scores (score_round: every indicator of the year, with its basis) and inter-rater agreement.

Pure functions over plain inputs: the workflow (rounds/workflow.py) reads ratings, statistic values
and survey results from the database and hands them here.  An indicator with nothing to score is
reported as waiting, with the reason; it is never counted as zero.
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence


class ScoringError(ValueError):
    """Inconsistent scoring input; the message is for the user (Chinese)."""


@dataclass(frozen=True)
class RatingInput:
    """Ratings of one indicator for one unit.

    self_assessed: the unit's own level from its submitted self-assessment; it counts only for a
    unit that is not spot-checked (（七）: 未抽查单位采用自评), and only when no reviewer rated it.
    """
    consensus: float | None = None
    independent: tuple[float, ...] = ()
    self_assessed: float | None = None


def rating_value(rating: RatingInput | None) -> float | None:
    """Consensus if any, else the mean of independent ratings, else the self-assessed level, else None."""
    if rating is None:
        return None
    if rating.consensus is not None:
        return float(rating.consensus)
    values = [float(v) for v in rating.independent if v is not None]
    if values:
        return sum(values) / len(values)
    return float(rating.self_assessed) if rating.self_assessed is not None else None


def growth_rate(value: float, base: float) -> float:
    """(value − base) / |base| for a base that is not zero (see improvement() for every base)."""
    if base == 0:
        raise ScoringError("基期数值为0，无法计算增长率。")
    return (value - base) / abs(base)


# --- agreement --------------------------------------------------------------

@dataclass
class Agreement:
    """Inter-rater agreement of one indicator across units."""
    alpha: float | None
    alpha_reason: str | None
    kappa: float | None
    kappa_reason: str | None
    raters: int
    units: int


def agreement(ratings: Mapping[str, Mapping[str, float | None]],
              value_domain: Iterable[int] = (1, 2, 3, 4)) -> Agreement:
    """Agreement for one indicator from independent ratings only.

    ratings: {unit_code: {rater: value}}; consensus values must not be passed
    in — they are the outcome of discussion, not independent judgements.
    Krippendorff's alpha (ordinal) handles missing ratings; quadratic-weighted
    Cohen's kappa is given only when exactly two raters took part.
    """
    domain = sorted(value_domain)
    units = sorted(ratings)
    raters = sorted({r for by_rater in ratings.values() for r, v in by_rater.items() if v is not None})
    for unit in units:
        for rater, value in ratings[unit].items():
            if value is not None and value not in domain:
                raise ScoringError(f"{unit} 的评分 {value!r}（评分人 {rater}）不在取值范围 {domain} 内。")
    alpha, alpha_reason = _alpha(ratings, units, raters, domain)
    if len(raters) == 2:
        kappa, kappa_reason = _kappa(ratings, units, raters, domain)
    else:
        kappa, kappa_reason = None, f"加权kappa仅适用于恰好2名评分人（实际{len(raters)}名）"
    return Agreement(alpha, alpha_reason, kappa, kappa_reason, len(raters), len(units))


def _pairable_units(ratings, units, raters) -> list[str]:
    return [u for u in units if sum(1 for r in raters if ratings[u].get(r) is not None) >= 2]


def _alpha(ratings, units, raters, domain) -> tuple[float | None, str | None]:
    import krippendorff
    import numpy as np

    if len(raters) < 2:
        return None, "评分人少于2名，无法计算一致性"
    pairable = _pairable_units(ratings, units, raters)
    if not pairable:
        return None, "没有任何单位同时获得2份及以上独立评分"
    values = {ratings[u][r] for u in pairable for r in raters if ratings[u].get(r) is not None}
    if len(values) < 2:
        return None, "独立评分全部相同（无差异），alpha无定义"
    data = np.array([[np.nan if ratings[u].get(r) is None else float(ratings[u][r]) for u in units]
                     for r in raters])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal", value_domain=domain)
    if value is None or math.isnan(value):
        return None, "独立评分无差异，alpha无定义"
    return float(value), None


def _kappa(ratings, units, raters, domain) -> tuple[float | None, str | None]:
    from sklearn.metrics import cohen_kappa_score

    a, b = raters
    pairs = [(ratings[u][a], ratings[u][b]) for u in units
             if ratings[u].get(a) is not None and ratings[u].get(b) is not None]
    if len(pairs) < 2:
        return None, "两名评分人共同评分的单位少于2个"
    if len({v for pair in pairs for v in pair}) < 2:
        return None, "两名评分人的评分全部相同（无差异），kappa无定义"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = cohen_kappa_score([p[0] for p in pairs], [p[1] for p in pairs], labels=domain,
                                  weights="quadratic")
    if math.isnan(value):
        return None, "评分无差异，kappa无定义"
    return float(value), None


def agreement_for(cells: Mapping[tuple[str, object], float | None]) -> tuple[float | None, float | None]:
    """(alpha, kappa) from {(unit_code, rater): value} — the shape the score sheet stores."""
    ratings: dict[str, dict[str, float | None]] = {}
    for (unit, rater), value in cells.items():
        ratings.setdefault(unit, {})[str(rater)] = value
    result = agreement(ratings)
    return result.alpha, result.kappa


# --- the round's scores: one computation for the dashboard, `kaoping scores`, the XLSX and the 专报 ---
#
# Every indicator of the year's system is scored from what its kind asks for:
#   qualitative   weight × rating ÷ max level (consensus, else the mean of independent ratings);
#   quantitative  weight × measured fraction (the year's `scoring` rule in the rubric YAML);
#   mixed         weight × (rated_share × rating ÷ max + (1 − rated_share) × measured fraction);
#   survey        weight × satisfaction index ÷ 100, only with at least `min_sample` responses.
# An indicator that lacks any input waits, with the reason; it is never counted as 0.
# The total is the sum of the scored points, i.e. points of the 100 the weights add up to.

WAIT_RATING = "未评分"


@dataclass(frozen=True)
class MeasureValue:
    """One reported statistic of a unit, with where it came from."""
    value: float | None
    base: float | None = None  # the unit's own base-year value
    source: str = ""           # 自评报告 / 统计导入 / 办公室更正（理由）…


@dataclass(frozen=True)
class SurveyIndex:
    """A unit's satisfaction index (0–100) from n responses, with its 95% confidence interval."""
    index: float
    n: int
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class IndicatorResult:
    no: int
    kind: str
    weight: float
    level1: str
    points: float | None  # None: waiting (see `waiting`), never 0 by default
    basis: str            # where the points came from, or why they are missing

    @property
    def scored(self) -> bool:
        return self.points is not None


@dataclass
class UnitResult:
    code: str
    name: str
    indicators: list[IndicatorResult]

    @property
    def total(self) -> float:
        return round(sum(r.points for r in self.indicators if r.points is not None), 4)

    @property
    def total_weight(self) -> float:
        return round(sum(r.weight for r in self.indicators), 6)

    @property
    def scored_weight(self) -> float:
        return round(sum(r.weight for r in self.indicators if r.scored), 6)

    @property
    def scored_share(self) -> float:
        """Share of the weight that is scored (1.0 = every indicator has its points)."""
        return self.scored_weight / self.total_weight if self.total_weight else 0.0

    @property
    def complete(self) -> bool:
        return all(r.scored for r in self.indicators)

    @property
    def waiting(self) -> list[IndicatorResult]:
        return [r for r in self.indicators if not r.scored]

    @property
    def percent(self) -> float:
        """Points of 100 whatever the weights add up to — the scale the category thresholds use."""
        return 100 * self.total / self.total_weight if self.total_weight else 0.0

    def level1_points(self) -> dict[str, float]:
        """Scored points per first-level indicator (only groups with something scored)."""
        out: dict[str, float] = {}
        for r in self.indicators:
            if r.points is not None:
                out[r.level1] = round(out.get(r.level1, 0.0) + r.points, 4)
        return out


def improvement(value: float, base: float) -> float:
    """Growth against the unit's own base, defined for every base.

    A positive or negative base: (value − base) ÷ |base| (growth_rate), so moving up from a
    negative base is growth.  A zero base has no ratio: anything above it is unbounded growth
    (+inf, 从无到有), equal is 0 and below is −inf.
    """
    if base == 0:
        return math.inf if value > 0 else (-math.inf if value < 0 else 0.0)
    return growth_rate(value, base)


def band_fraction(metric: float, bands: Sequence[tuple[float, float]]) -> float:
    """The fraction of the highest threshold the metric reaches; below every threshold 0."""
    for threshold, fraction in sorted(bands, reverse=True):
        if metric >= threshold:
            return fraction
    return 0.0


def percentile_rank(value: float, others: Sequence[float], direction: str = "higher") -> float:
    """Share of the other units this value beats (ties count half); alone it sits in the middle."""
    rest = list(others)
    if not rest:
        return 0.5
    better = (lambda o: value > o) if direction != "lower" else (lambda o: value < o)
    wins = sum(1 for o in rest if better(o)) + 0.5 * sum(1 for o in rest if o == value)
    return wins / len(rest)


def target_fraction(value: float, target: float, direction: str = "higher") -> float:
    if direction == "lower":
        return 1.0 if value <= target else (target / value if value > 0 else 0.0)
    return min(max(value / target, 0.0), 1.0)


def _pct(x: float) -> str:
    return "∞" if math.isinf(x) else f"{x * 100:+.1f}%"


def measure_fraction(measure, scoring, mv: MeasureValue, peers: Sequence[float]) -> tuple[float | None, str]:
    """(fraction 0–1, basis) of one scored measure, or (None, why it waits)."""
    if mv is None or mv.value is None:
        return None, f"缺少数值：{measure.label}"
    blend = dict(scoring.blend)
    parts: dict[str, float] = {}
    notes = []
    if "level" in blend:
        if scoring.level == "percentile":
            parts["level"] = percentile_rank(mv.value, peers, measure.direction)
            notes.append(f"水平居各单位第{round(parts['level'] * 100)}百分位")
        elif scoring.level == "score":
            parts["level"] = min(max(mv.value / 100, 0.0), 1.0)
            notes.append(f"指数{mv.value:g}")
        else:
            metric = mv.value if measure.direction != "lower" else -mv.value
            bands = scoring.level if measure.direction != "lower" else [(-t, f) for t, f in scoring.level]
            parts["level"] = band_fraction(metric, bands)
            notes.append(f"水平{mv.value:g}{measure.unit}")
    if "growth" in blend and measure.growth:
        if mv.base is None:
            return None, f"缺少基期值：{measure.label}"
        g = improvement(mv.value, mv.base)
        g = -g if measure.direction == "lower" else g
        parts["growth"] = band_fraction(g, scoring.growth)
        notes.append(f"较基期{_pct(g)}")
    target = scoring.targets().get(measure.key)
    if "target" in blend and target is not None:
        parts["target"] = target_fraction(mv.value, target, measure.direction)
        notes.append(f"目标完成{parts['target'] * 100:.0f}%")
    share = sum(blend[p] for p in parts)
    if not share:
        return None, f"无适用的计分规则：{measure.label}"
    fraction = min(max(sum(blend[p] * parts[p] for p in parts) / share, 0.0), 1.0)
    return fraction, f"{measure.label}（{'，'.join(notes)}）"


def _measured(indicator, code: str, values, peers_of) -> tuple[float | None, str]:
    fractions, notes = [], []
    for m in indicator.measures:
        if not m.scored:
            continue
        fraction, note = measure_fraction(m, indicator.scoring, values.get((code, indicator.no, m.key)),
                                          peers_of(indicator.no, m.key, code))
        if fraction is None:
            return None, note
        fractions.append(fraction)
        notes.append(note)
    sources = sorted({values[(code, indicator.no, m.key)].source for m in indicator.measures
                      if m.scored and values[(code, indicator.no, m.key)].source})
    return sum(fractions) / len(fractions), "；".join(notes) + (f"；数据来源：{'、'.join(sources)}" if sources else "")


def _rated(indicator, rating: RatingInput | None) -> tuple[float | None, str]:
    value = rating_value(rating)
    if value is None:
        return None, WAIT_RATING
    top = max(indicator.level_values) if indicator.rubric else 4
    if not 0 <= value <= top:
        raise ScoringError(f"指标 {indicator.no} 的评分 {value:g} 超出0–{top:g}。")
    how = ("合议" if rating.consensus is not None else f"评分均值（{len(rating.independent)}人）"
           if rating.independent else "自评等级（未抽查）")
    return value / top, f"{how} {value:g}/{top:g}"


def score_indicator(indicator, code: str, rating: RatingInput | None, values: Mapping, survey: SurveyIndex | None,
                    peers_of) -> IndicatorResult:
    """One unit's points on one indicator, or the reason it waits."""
    def result(fraction, basis):
        points = None if fraction is None else round(indicator.weight * fraction, 4)
        return IndicatorResult(indicator.no, indicator.kind, indicator.weight, indicator.level1, points, basis)

    if indicator.kind == "qualitative":
        return result(*_rated(indicator, rating))
    if indicator.source == "survey":
        minimum = indicator.scoring.min_sample
        if survey is None:
            return result(None, "尚无问卷结果")
        if survey.n < minimum:
            return result(None, f"样本不足（{survey.n}份，至少{minimum}份）")
        ci = f"，95%置信区间{survey.low:.1f}–{survey.high:.1f}" if survey.low is not None else ""
        return result(min(max(survey.index / 100, 0.0), 1.0), f"满意度指数{survey.index:.1f}（{survey.n}份{ci}）")
    measured, measured_note = _measured(indicator, code, values, peers_of)
    if indicator.kind == "quantitative":
        return result(measured, measured_note)
    rated, rated_note = _rated(indicator, rating)
    if rated is None or measured is None:
        return result(None, rated_note if rated is None else measured_note)
    share = indicator.scoring.rated_share
    return result(share * rated + (1 - share) * measured,
                  f"评档{rated_note}×{share:.0%} + 定量{measured:.2f}×{1 - share:.0%}：{measured_note}")


def score_round(system, units: Sequence[tuple[str, str]], ratings: Mapping[tuple[str, int], RatingInput],
                values: Mapping[tuple[str, int, str], MeasureValue] | None = None,
                surveys: Mapping[tuple[str, int], SurveyIndex] | None = None) -> list[UnitResult]:
    """Every unit on every indicator of the year's system (see the comment above for the rules)."""
    values, surveys = values or {}, surveys or {}
    by_measure: dict[tuple[int, str], dict[str, float]] = defaultdict(dict)
    for (code, no, key), mv in values.items():
        if mv.value is not None:
            by_measure[(no, key)][code] = float(mv.value)

    def peers_of(no: int, key: str, code: str) -> list[float]:
        return [v for c, v in by_measure[(no, key)].items() if c != code]

    return [UnitResult(code, name, [score_indicator(ind, code, ratings.get((code, ind.no)), values,
                                                    surveys.get((code, ind.no)), peers_of)
                                    for ind in system.indicators])
            for code, name in units]


@dataclass(frozen=True)
class ResponseBatch:
    """Responses summarised: how many, their mean 0–100 score and its sample standard deviation.

    A batch is either the responses to one published survey (rounds/surveys.py) or a result
    reported as a summary (SurveyResult); pooled_index treats both alike."""
    n: int
    mean: float
    sd: float | None = None


def batch_of(scores: Sequence[float]) -> ResponseBatch:
    from statistics import stdev
    n = len(scores)
    if not n:
        raise ScoringError("没有有效问卷。")
    return ResponseBatch(n, sum(scores) / n, stdev(scores) if n > 1 else None)


#: two-sided 95% normal quantile
Z95 = 1.959963984540054


def pooled_index(batches: Sequence[ResponseBatch]) -> SurveyIndex | None:
    """The satisfaction index of a unit: the mean over all responses of all batches, with a
    normal-approximation 95% confidence interval from the pooled variance (within and between batches).

    The normal approximation is fair at the sample sizes that count (min_sample is 100); the
    interval is given only when every batch carries its spread.  None when there is no response."""
    batches = [b for b in batches if b.n > 0]
    n = sum(b.n for b in batches)
    if not n:
        return None
    mean = sum(b.mean * b.n for b in batches) / n
    if n < 2 or any(b.sd is None and b.n > 1 for b in batches):
        return SurveyIndex(mean, n)
    ss = sum((b.n - 1) * (b.sd or 0.0) ** 2 + b.n * (b.mean - mean) ** 2 for b in batches)
    half = Z95 * math.sqrt(ss / (n - 1)) / math.sqrt(n)
    return SurveyIndex(mean, n, max(mean - half, 0.0), min(mean + half, 100.0))


def survey_index(scores: Sequence[float]) -> SurveyIndex:
    """The index of one set of 0–100 response scores (see pooled_index)."""
    return pooled_index([batch_of(scores)])
