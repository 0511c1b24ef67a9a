"""Weighted scores per unit and inter-rater agreement per indicator.

Score of one indicator = weight × value / max_value, where value is the
reviewers' consensus rating if there is one, else the mean of the submitted
independent ratings.  Quantitative indicators with a QuantRule are scored
from their measure instead (weight × band fraction).  An indicator with
nothing to score is reported as missing; it is never counted as zero.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

BASE_YEAR = 2022  # the year units reported base values (（六）1.)


class ScoringError(ValueError):
    """Inconsistent scoring input; the message is for the user (Chinese)."""


@dataclass(frozen=True)
class IndicatorSpec:
    """What scoring needs to know about one third-level indicator."""
    no: int
    level1: str
    weight: float
    max_value: float = 4
    kind: str = "qualitative"  # qualitative / quantitative / mixed


@dataclass(frozen=True)
class RatingInput:
    """Ratings of one indicator for one unit."""
    consensus: float | None = None
    independent: tuple[float, ...] = ()


def rating_value(rating: RatingInput | None) -> float | None:
    """Consensus if any, else the mean of independent ratings, else None."""
    if rating is None:
        return None
    if rating.consensus is not None:
        return float(rating.consensus)
    values = [float(v) for v in rating.independent if v is not None]
    return sum(values) / len(values) if values else None


def growth_rate(value: float, base: float) -> float:
    """(value − base) / base; base year values come from 2022 reports."""
    if base == 0:
        raise ScoringError("基期数值为0，无法计算增长率。")
    return (value - base) / abs(base)


BASES = ("growth_rate", "change", "level")


@dataclass(frozen=True)
class QuantRule:
    """Map a measure to a fraction of the indicator's weight.

    bands: (threshold, fraction) pairs; the highest threshold the metric
    reaches gives the fraction, below every threshold gives 0.
    basis: "growth_rate" ((v−base)/base), "change" (v − base, e.g. share
    points) or "level" (v itself, no base needed).
    """
    measure_key: str
    bands: tuple[tuple[float, float], ...]
    basis: str = "growth_rate"

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise ScoringError(f"未知的计分依据：{self.basis}（可选：{'、'.join(BASES)}）")
        if not self.bands:
            raise ScoringError(f"计分规则 {self.measure_key} 没有分档。")
        for threshold, fraction in self.bands:
            if not 0 <= fraction <= 1:
                raise ScoringError(f"计分规则 {self.measure_key} 的得分比例 {fraction} 超出0–1。")
        object.__setattr__(self, "bands", tuple(sorted((tuple(b) for b in self.bands), reverse=True)))

    def metric(self, value: float, base: float | None = None) -> float:
        if self.basis == "level":
            return value
        if base is None:
            raise ScoringError(f"指标 {self.measure_key} 缺少{BASE_YEAR}年基期数值。")
        return growth_rate(value, base) if self.basis == "growth_rate" else value - base

    def fraction(self, value: float, base: float | None = None) -> float:
        metric = self.metric(value, base)
        for threshold, fraction in self.bands:
            if metric >= threshold:
                return fraction
        return 0.0


@dataclass
class IndicatorScore:
    no: int
    points: float
    weight: float
    source: str          # "consensus" / "mean" / "rule"
    value: float | None  # the rating or the measure's metric


@dataclass
class Level1Score:
    level1: str
    points: float
    weight: float         # all indicators under it
    scored_weight: float  # those that could be scored
    missing: list[int] = field(default_factory=list)


@dataclass
class UnitScore:
    unit: str
    total: float
    total_weight: float
    scored_weight: float
    by_level1: dict[str, Level1Score]
    indicators: dict[int, IndicatorScore]
    missing: list[int]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def percent(self) -> float:
        """Total on a 0–100 scale, so category thresholds apply whatever the weights sum to."""
        return 100 * self.total / self.total_weight if self.total_weight else 0.0


def score_unit(unit: str, indicators: Sequence[IndicatorSpec], ratings: Mapping[int, RatingInput],
               *, rules: Mapping[int, QuantRule] | None = None,
               measures: Mapping[str, float] | None = None,
               base_measures: Mapping[str, float] | None = None) -> UnitScore:
    """Score one unit over the year's indicators."""
    rules, measures, base_measures = rules or {}, measures or {}, base_measures or {}
    nos = [spec.no for spec in indicators]
    if len(set(nos)) != len(nos):
        raise ScoringError("指标编号重复。")
    by_level1: dict[str, Level1Score] = {}
    scored: dict[int, IndicatorScore] = {}
    missing: list[int] = []
    for spec in indicators:
        if spec.weight < 0 or spec.max_value <= 0:
            raise ScoringError(f"指标 {spec.no} 的权重或满分值无效。")
        group = by_level1.setdefault(spec.level1, Level1Score(spec.level1, 0.0, 0.0, 0.0))
        group.weight += spec.weight
        result = _score_indicator(spec, ratings.get(spec.no), rules.get(spec.no), measures, base_measures)
        if result is None:
            group.missing.append(spec.no)
            missing.append(spec.no)
            continue
        scored[spec.no] = result
        group.points += result.points
        group.scored_weight += spec.weight
    return UnitScore(
        unit=unit,
        total=sum(g.points for g in by_level1.values()),
        total_weight=sum(g.weight for g in by_level1.values()),
        scored_weight=sum(g.scored_weight for g in by_level1.values()),
        by_level1=by_level1, indicators=scored, missing=missing)


def _score_indicator(spec: IndicatorSpec, rating: RatingInput | None, rule: QuantRule | None,
                     measures: Mapping[str, float], base_measures: Mapping[str, float]) -> IndicatorScore | None:
    if rule is not None and rule.measure_key in measures and (
            rule.basis == "level" or rule.measure_key in base_measures):
        value, base = measures[rule.measure_key], base_measures.get(rule.measure_key)
        return IndicatorScore(spec.no, spec.weight * rule.fraction(value, base), spec.weight, "rule",
                              rule.metric(value, base))
    value = rating_value(rating)
    if value is None:
        return None
    if not 0 <= value <= spec.max_value:
        raise ScoringError(f"指标 {spec.no} 的评分 {value:g} 超出0–{spec.max_value:g}。")
    source = "consensus" if rating.consensus is not None else "mean"
    return IndicatorScore(spec.no, spec.weight * value / spec.max_value, spec.weight, source, value)


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


def specs_from_system(system) -> list[IndicatorSpec]:
    """IndicatorSpecs from an rubrics.indicators.IndicatorSystem (duck-typed to keep this module standalone)."""
    return [IndicatorSpec(ind.no, ind.level1, ind.weight,
                          max(ind.level_values) if getattr(ind, "rubric", None) else 4, ind.kind)
            for ind in system.indicators]
