"""The yearly spot-check draw (抽查评估), following 产改字〔2022〕1号 （六）2.

Rules, as the seed text states them:

* 每年抽查比例不少于30%            -> at least ceil(min_share × N) units;
* 上一次考核等级为"较差"的地区，抽查比例不少于60%
                                   -> at least ceil(poor_share × P) of the P units
                                      whose previous category was 差;
* 原则上同一省份不连续作为被抽查对象 -> a unit checked last year is left out
                                      unless a higher rule needs it;
* 自评类别与上年发生变化的，直接纳入 -> always in (the "forced" units).

When the rules cannot all hold, the priority is
forced > 差 quota > overall quota > not-two-years-running,
and every time a lower rule gives way a plain Chinese conflict message says so.

The draw is pure: same inputs + same seed -> same result.  Input order does
not matter because units are sorted by code before any random choice.  Units
are named in messages as people know them (江苏省, never JS): one unit by its
name, several by their short names in the national order.
"""
from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Iterable

from rounds.categories import CATEGORIES, POOR, normalise_category
from rubrics.units import unit_name, unit_names

CHANGE_BASES = ("previous_category", "previous_self_category")
CHANGE_BASIS_LABELS = {
    "previous_category": "上年类别",
    "previous_self_category": "上年自评类别",
}


class SpotcheckInputError(ValueError):
    """Input the draw cannot work with; the message is for the user (Chinese)."""


class SpotcheckOverrideError(ValueError):
    """A manual change to the list that the rules do not allow."""


@dataclass
class UnitHistory:
    code: str
    previous_category: str | None
    self_category: str | None
    previous_self_category: str | None
    checked_last_year: bool


@dataclass
class SpotcheckResult:
    selected: list[str]
    reasons: dict[str, list[str]]
    seed: int
    conflicts: list[str]
    excluded: list[str]
    # What the draw needed to know afterwards (overrides re-check quotas).
    forced: list[str] = field(default_factory=list)
    poor_units: list[str] = field(default_factory=list)
    checked_last_year: list[str] = field(default_factory=list)
    all_units: list[str] = field(default_factory=list)
    min_quota: int = 0
    poor_quota: int = 0
    change_basis: str = "previous_category"

    def to_dict(self) -> dict:
        return {
            "selected": list(self.selected),
            "reasons": {code: list(r) for code, r in self.reasons.items()},
            "seed": self.seed,
            "conflicts": list(self.conflicts),
            "excluded": list(self.excluded),
            "forced": list(self.forced),
            "min_quota": self.min_quota,
            "poor_quota": self.poor_quota,
            "change_basis": self.change_basis,
        }


def quota(share: float, count: int) -> int:
    """ceil(share × count) without float noise (0.3 × 10 must be 3, not 4)."""
    return math.ceil(Fraction(str(share)) * count)


def _validate(units: list[UnitHistory], change_basis: str, min_share: float, poor_share: float,
              extra: Iterable[str]) -> tuple[list[UnitHistory], list[str]]:
    if not units:
        raise SpotcheckInputError("单位列表为空，无法抽查。")
    if change_basis not in CHANGE_BASES:
        raise SpotcheckInputError(f"未知的类别变化判定依据：{change_basis}（可选：{'、'.join(CHANGE_BASES)}）")
    for name, share in (("总体抽查比例", min_share), ("差类单位抽查比例", poor_share)):
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise SpotcheckInputError(f"{name}必须大于0且不超过1，收到：{share!r}")
    seen: set[str] = set()
    dups: list[str] = []
    cleaned: list[UnitHistory] = []
    for u in units:
        if not isinstance(u.code, str) or not u.code.strip():
            raise SpotcheckInputError("存在缺少单位代码的记录。")
        if u.code in seen:
            dups.append(u.code)
        seen.add(u.code)
        fields = {}
        for attr, label in (("previous_category", "上年类别"), ("self_category", "自评类别"),
                            ("previous_self_category", "上年自评类别")):
            value = getattr(u, attr)
            try:
                fields[attr] = normalise_category(value)
            except ValueError:
                raise SpotcheckInputError(
                    f"{unit_name(u.code)}的{label}“{value}”无法识别（应为：{'、'.join(CATEGORIES)}，首年可为空）。") from None
        cleaned.append(replace(u, checked_last_year=bool(u.checked_last_year), **fields))
    if dups:
        raise SpotcheckInputError(f"单位重复：{unit_names(dups)}")
    extra = list(dict.fromkeys(extra))
    unknown = [c for c in extra if c not in seen]
    if unknown:
        raise SpotcheckInputError(f"指定纳入的单位不在单位列表中：{unit_names(unknown)}")
    return sorted(cleaned, key=lambda u: u.code), extra


def _changed(u: UnitHistory, change_basis: str) -> bool:
    basis = getattr(u, change_basis)
    return u.self_category is not None and basis is not None and u.self_category != basis


def draw_spotcheck(units: list[UnitHistory], *, seed: int | None = None,
                   change_basis: str = "previous_category", min_share: float = 0.30,
                   poor_share: float = 0.60, extra: Iterable[str] = ()) -> SpotcheckResult:
    """Draw the year's spot-check list; every unit in or out gets its reasons."""
    units, extra = _validate(units, change_basis, min_share, poor_share, extra)
    if seed is None:
        seed = secrets.randbelow(2**31)
    rng = random.Random(seed)
    by_code = {u.code: u for u in units}
    reasons: dict[str, list[str]] = {u.code: [] for u in units}
    conflicts: list[str] = []
    selected: set[str] = set()
    basis_label = CHANGE_BASIS_LABELS[change_basis]

    # 1. Forced: changed self-category, then units the office names explicitly.
    forced: list[str] = []
    for u in units:
        if _changed(u, change_basis):
            basis = getattr(u, change_basis)
            reasons[u.code].append(f"自评类别（{u.self_category}）与{basis_label}（{basis}）不同，直接纳入")
            forced.append(u.code)
        elif u.self_category is None:
            reasons[u.code].append("未报送自评类别，无法判断类别是否变化")
        elif getattr(u, change_basis) is None:
            reasons[u.code].append(f"无{basis_label}（首年），不适用类别变化直接纳入规则")
        else:
            reasons[u.code].append(f"自评类别（{u.self_category}）与{basis_label}一致")
    for code in extra:
        if code not in forced:
            forced.append(code)
        reasons[code].append("协调小组办公室指定纳入")
    for code in forced:
        selected.add(code)
        if by_code[code].checked_last_year:
            reasons[code].append("上年已被抽查，但须纳入，优先于“原则上不连续抽查”")
            conflicts.append(f"{unit_name(code)}上年已被抽查，但须直接纳入（类别变化或办公室指定），本年连续抽查。")

    def pick(pool: list[str], need: int, why: str, why_repeat: str, conflict: str) -> None:
        """Pick `need` units at random, first from units not checked last year."""
        fresh = [c for c in pool if not by_code[c].checked_last_year]
        repeat = [c for c in pool if by_code[c].checked_last_year]
        chosen = rng.sample(fresh, min(need, len(fresh)))
        for code in chosen:
            reasons[code].append(why)
        short = need - len(chosen)
        if short > 0:
            again = rng.sample(repeat, min(short, len(repeat)))
            for code in again:
                reasons[code].append(why_repeat)
            if again:
                conflicts.append(conflict.format(n=len(again), names=unit_names(again)))
            chosen += again
        selected.update(chosen)

    # 2. 差 quota.
    poor = [u.code for u in units if u.previous_category == POOR]
    poor_quota = quota(poor_share, len(poor))
    poor_rule = f"上年类别为差，差类单位抽查比例不少于{_percent(poor_share)}"
    for code in poor:
        reasons[code].append(poor_rule)
    have = sum(1 for c in poor if c in selected)
    if have < poor_quota:
        pick([c for c in poor if c not in selected], poor_quota - have,
             f"随机抽中以满足差类单位不少于{_percent(poor_share)}的比例",
             f"上年已被抽查，但为满足差类单位不少于{_percent(poor_share)}的比例而纳入",
             f"差类单位抽查比例须不少于{_percent(poor_share)}（{poor_quota}/{len(poor)}），"
             "仅靠上年未被抽查的差类单位无法满足，"
             "已纳入上年已被抽查的差类单位 {n} 个：{names}。")

    # 3. Overall quota.
    min_quota = quota(min_share, len(units))
    if len(selected) < min_quota:
        pick([u.code for u in units if u.code not in selected], min_quota - len(selected),
             f"随机抽中以满足不少于{_percent(min_share)}的比例",
             f"上年已被抽查，但为满足不少于{_percent(min_share)}的比例而纳入",
             f"总体抽查比例须不少于{_percent(min_share)}（{min_quota}/{len(units)}），"
             "上年未被抽查的单位不足，已纳入上年已被抽查的单位 {n} 个：{names}。")

    # 4. Say why everyone else is out.
    excluded: list[str] = []
    for u in units:
        if u.code in selected:
            continue
        if u.checked_last_year:
            reasons[u.code].append("上年已被抽查，原则上不连续抽查")
            excluded.append(u.code)
        else:
            reasons[u.code].append("比例要求已满足，未被随机抽中")
    return SpotcheckResult(
        selected=sorted(selected), reasons=reasons, seed=seed, conflicts=conflicts, excluded=excluded,
        forced=sorted(forced), poor_units=poor, checked_last_year=[u.code for u in units if u.checked_last_year],
        all_units=[u.code for u in units], min_quota=min_quota, poor_quota=poor_quota, change_basis=change_basis)


def apply_override(result: SpotcheckResult, add: Iterable[str] = (), remove: Iterable[str] = (), *,
                   reason: str) -> SpotcheckResult:
    """A manual change by the 协调小组办公室; returns a new result, the old one is untouched.

    Forced units cannot be removed; a change that breaks a quota or re-checks a
    unit is allowed (the 协调小组 decides) but recorded as a conflict.
    """
    reason = (reason or "").strip()
    if not reason:
        raise SpotcheckOverrideError("人工调整抽查名单必须填写理由。")
    add, remove = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    known = set(result.all_units or result.reasons)
    unknown = [c for c in add + remove if c not in known]
    if unknown:
        raise SpotcheckOverrideError(f"以下单位不在本次抽查范围内：{unit_names(unknown)}")
    both = sorted(set(add) & set(remove))
    if both:
        raise SpotcheckOverrideError(f"同一单位不能同时纳入和移出：{unit_names(both)}")
    blocked = [c for c in remove if c in result.forced]
    if blocked:
        raise SpotcheckOverrideError(
            f"以下单位须直接纳入抽查（自评类别发生变化或已指定纳入），不能移出：{unit_names(blocked)}")
    not_in = [c for c in remove if c not in result.selected]
    if not_in:
        raise SpotcheckOverrideError(f"以下单位本不在抽查名单中，无需移出：{unit_names(not_in)}")

    selected = set(result.selected)
    reasons = {code: list(r) for code, r in result.reasons.items()}
    conflicts = list(result.conflicts)
    for code in add:
        if code in selected:
            continue
        selected.add(code)
        reasons[code].append(f"人工调整纳入：{reason}")
        if code in result.checked_last_year:
            conflicts.append(f"{unit_name(code)}上年已被抽查，经人工调整本年再次纳入（理由：{reason}）。")
    for code in remove:
        selected.discard(code)
        reasons[code].append(f"人工调整移出：{reason}")

    if len(selected) < result.min_quota:
        conflicts.append(f"人工调整后抽查单位 {len(selected)} 个，少于规定的 {result.min_quota} 个。")
    poor_in = sum(1 for c in result.poor_units if c in selected)
    if poor_in < result.poor_quota:
        conflicts.append(f"人工调整后上年类别为差的单位抽查 {poor_in} 个，少于规定的 {result.poor_quota} 个。")
    excluded = [c for c in result.excluded if c not in selected]
    return replace(result, selected=sorted(selected), reasons=reasons, conflicts=conflicts, excluded=excluded)


def _percent(share: float) -> str:
    return f"{share * 100:g}%"
