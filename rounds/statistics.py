"""Rules for statistic values: what a value may be, and what looks implausible enough to confirm.

One rule for every way a value comes in — the self-assessment (rounds/workflow.save_self_assessment),
the bulk template import (rounds/statistics_sheet.py) and the office's correction
(rounds/statistics_office.py):

- check_value / value_problems are hard rules: a value that breaks them is refused, with the reason
  in Chinese, and nothing of the submission is stored;
- plausibility_flags only ask the office to look: the value is stored, shown as “待核实” until the
  office confirms it (the confirmation holds for that value; a changed value is flagged afresh).

All pure, so the web form, the CLI and the tests apply the same rules.
"""
from __future__ import annotations

import math
import statistics
from typing import Mapping

#: where a value came from, as the score's basis and the office's page say it
SOURCE_SELF = "自评报告"
SOURCE_IMPORT = "统计导入"
SOURCE_CORRECTION = "办公室更正"
#: a StatisticValue row with this source only records that the office confirmed the unit's own
#: (self-assessed) value; it is not a value of its own and never overrides the self-assessment
SOURCE_CONFIRMED_SELF = "自评报告（办公室已核实）"

#: units of measure counted in whole numbers (people, documents, events …)
WHOLE_UNITS = frozenset({"件", "次", "人", "人次", "期", "册", "部", "场", "个", "所", "家", "对", "项", "篇", "份"})
#: beyond this a number is a typing slip, not a statistic of a province
MAX_VALUE = 1e12
#: a value that changed by more than this factor (up or down) against last year or the base year is flagged
JUMP_FACTOR = 3.0
#: a value whose robust z-score against the other units exceeds this is flagged (Iglewicz & Hoaglin)
ROBUST_Z = 3.5
#: the outlier check needs this many other units' values to say what is usual
MIN_PEERS = 8


def plain(number: float | None) -> str:
    """A number as people write it: 1200, 35.2, never 1.2e+03."""
    if number is None:
        return ""
    if float(number).is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.6f}".rstrip("0").rstrip(".")


class ValueRejected(ValueError):
    """Values that may not be stored; str() lists every problem in Chinese."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("；".join(self.problems))


def check_value(measure, value, what: str = "") -> str | None:
    """Why the value cannot be stored, in Chinese (without naming the measure); None when it may be.

    what: "基期值" when the value is a base-year value, so the reason says which number is wrong."""
    if value is None:
        return None
    label = what or "数值"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{label}应为有限的数字"
    if value < 0:
        return f"{label}不能为负数（填写的是{plain(value)}{measure.unit}）"
    if measure.share and value > 100:
        return f"{label}是比例，不能超过100%（填写的是{plain(value)}%）"
    if value > MAX_VALUE:
        return f"{label}{value:.3g}超出合理范围，请检查是否多填了位数"
    if measure.unit in WHOLE_UNITS and value != int(value):
        return f"{label}以“{measure.unit}”计，应为整数（填写的是{plain(value)}）"
    return None


def value_problems(indicator, entries: Mapping[str, Mapping]) -> list[str]:
    """Every problem of one indicator's reported values, each naming the indicator and the measure.

    entries: {measure key: {"value": …, "base_value": …}} as the self-assessment stores them.
    The function the self-assessment form, the import and corrections call before storing anything.
    """
    measures = {m.key: m for m in indicator.measures}
    problems = []
    for key, entry in entries.items():
        measure = measures.get(key)
        if measure is None:
            problems.append(f"指标 {indicator.no}（{indicator.name}）没有数值项“{key}”")
            continue
        for field, what in (("value", ""), ("base_value", "基期值")):
            problem = check_value(measure, _number(entry.get(field)), what)
            if problem:
                problems.append(f"指标 {indicator.no}“{measure.label}”：{problem}")
    return problems


def validate_values(indicator, entries: Mapping[str, Mapping]) -> None:
    """value_problems as an exception: raises ValueRejected when anything may not be stored."""
    problems = value_problems(indicator, entries)
    if problems:
        raise ValueRejected(problems)


def _number(value):
    """A number as stored; text that is not a number stays text so check_value names it."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def robust_z(value: float, peers: list[float]) -> float | None:
    """How far a value lies from the other units: 0.6745 × (x − median) ÷ MAD (the modified z-score).

    When more than half of the peers share one value the MAD is 0; the mean absolute deviation
    (× 1.2533, its normal-consistent factor) stands in.  When every peer reports the same value any
    other value is infinitely far (±inf), the same value 0.  None without enough peers."""
    if len(peers) < MIN_PEERS:
        return None
    median = statistics.median(peers)
    mad = statistics.median(abs(v - median) for v in peers)
    if mad > 0:
        return 0.6745 * (value - median) / mad
    mean_ad = statistics.fmean(abs(v - median) for v in peers)
    if mean_ad > 0:
        return (value - median) / (1.2533 * mean_ad)
    return 0.0 if value == median else math.copysign(math.inf, value - median)


def _jump(value: float, before: float | None) -> float | None:
    """The factor between two positive values when it is beyond JUMP_FACTOR, else None."""
    if before is None or before <= 0 or value <= 0:
        return None  # no ratio of a zero; growth from nothing is the scoring's business, not a slip
    ratio = value / before
    return ratio if ratio > JUMP_FACTOR or ratio < 1 / JUMP_FACTOR else None


_CHINESE_DIGITS = dict(zip(range(2, 11), "二三四五六七八九十"))


def change_text(ratio: float, when: str) -> str:
    """A jump beyond JUMP_FACTOR as people say it, each direction in its own words:
    增长到4.2倍（超过3倍） / 下降95%（不足上年的三分之一）."""
    if ratio >= 1:
        times = f"{ratio:.0f}" if ratio >= 100 else f"{ratio:.1f}"
        return f"增长到{times}倍（超过{JUMP_FACTOR:g}倍）"
    drop = (1 - ratio) * 100  # never shown as 100%: the value is not zero (a zero is never flagged)
    percent = f"{drop:.0f}%" if drop < 99.5 else f"{drop:.1f}%" if drop < 99.95 else "超过99.9%"
    factor = _CHINESE_DIGITS.get(int(JUMP_FACTOR)) if float(JUMP_FACTOR).is_integer() else None
    fraction = f"{factor}分之一" if factor else f"1/{JUMP_FACTOR:g}"
    return f"下降{percent}（不足{when}的{fraction}）"


def plausibility_flags(measure, value: float | None, base: float | None, others: Mapping[str, float],
                       previous: float | None = None) -> list[str]:
    """Reasons to double-check a value that is allowed but unusual, in Chinese.

    previous: the unit's value of the year before; others: {unit: value} of the other units this year."""
    flags: list[str] = []
    if value is None:
        return flags
    for before, when in ((previous, "上年"), (base, "基期")):
        ratio = _jump(value, before)
        if ratio is not None:
            flags.append(f"较{when}（{plain(before)}{measure.unit}）{change_text(ratio, when)}")
    peers = [v for v in others.values() if v is not None]
    z = robust_z(value, peers)
    if z is not None and abs(z) > ROBUST_Z:
        flags.append(f"远离其他单位（其他{len(peers)}个单位中位数{plain(statistics.median(peers))}{measure.unit}，"
                     f"稳健z值{'∞' if math.isinf(z) else f'{z:.2f}'}，超过{ROBUST_Z:g}）")
    return flags
