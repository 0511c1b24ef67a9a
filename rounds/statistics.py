"""Rules for statistic values: what a value may be, and what looks implausible enough to confirm.

check_value is a hard rule (the value is refused); plausibility_flags only asks the office to look
(a confirmed value is kept as is).  Both are pure, so the template import, the office's correction
form and the self-assessment apply the same rules.
"""
from __future__ import annotations

import math
import statistics
from typing import Mapping

#: a year-on-year change beyond this factor (up or down) is flagged for confirmation
JUMP_FACTOR = 3.0
#: a value this many median absolute deviations from the other units' median is flagged
OUTLIER_MADS = 5.0


def check_value(measure, value: float | None) -> str | None:
    """Why the value cannot be stored, in Chinese; None when it may be."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "应为有限的数字"
    if value < 0:
        return f"不能为负数（{value:g}{measure.unit}）"
    if measure.share and value > 100:
        return f"比例不能超过100%（填写的是{value:g}%）"
    return None


def plausibility_flags(measure, value: float | None, base: float | None,
                       others: Mapping[str, float]) -> list[str]:
    """Reasons to double-check a value that is allowed but unusual."""
    flags: list[str] = []
    if value is None:
        return flags
    if base is not None and base > 0 and value > 0:
        ratio = value / base
        if ratio > JUMP_FACTOR or ratio < 1 / JUMP_FACTOR:
            flags.append(f"较基期变化{ratio:.1f}倍，超过{JUMP_FACTOR:g}倍")
    peers = [v for v in others.values() if v is not None]
    if len(peers) >= 5:
        median = statistics.median(peers)
        mad = statistics.median(abs(v - median) for v in peers)
        if mad > 0 and abs(value - median) > OUTLIER_MADS * mad:
            flags.append(f"远离其他单位（中位数{median:g}{measure.unit}）")
    return flags
