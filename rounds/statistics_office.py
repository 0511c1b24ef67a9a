"""The office's statistics of a year: every value with its source and plausibility flags, corrections,
confirmations and the bulk template import — all on top of the one rule in rounds/statistics.py.

A value the office imports or corrects is a StatisticValue row; it replaces the unit's own
(self-assessed) value in the scores (rounds/workflow.measure_values).  Every change is audited with
the value it replaced; an import is all-or-nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from evidence import audit
from evidence.models import StatisticValue, Unit, User, utcnow
from rounds.statistics import (SOURCE_CONFIRMED_SELF, SOURCE_CORRECTION, SOURCE_IMPORT, plain, plausibility_flags,
                               value_problems)
from rounds.workflow import RoundError, get_round, measure_values, open_round, require_office, system_for
from rubrics.indicators import load_units
from rubrics.units import unit_name

NOT_REPORTED = "未填报"


@dataclass
class ValueRow:
    """One unit's value of one measure, as the office reads it."""
    unit_code: str
    unit_name: str
    indicator: object
    measure: object
    value: float | None
    base: float | None
    source: str
    flags: list[str] = field(default_factory=list)
    confirmed: bool = False

    @property
    def value_text(self) -> str:
        return plain(self.value)

    @property
    def base_text(self) -> str:
        return plain(self.base)

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.flags) and not self.confirmed

    @property
    def key(self) -> tuple[str, int, str]:
        return self.unit_code, self.indicator.no, self.measure.key


def _stored(session: Session, year: int) -> dict[tuple[str, int, str], StatisticValue]:
    return {(r.unit_code, r.indicator_no, r.measure_key): r
            for r in session.exec(select(StatisticValue).where(StatisticValue.year == year))}


def value_table(session: Session, year: int, unit_code: str | None = None) -> list[ValueRow]:
    """Every unit's (or one unit's) value of every measure the template asks for, in the national order,
    with its source, the plausibility flags and whether the office confirmed the value as it stands."""
    from rounds.statistics_sheet import template_measures
    system = system_for(get_round(session, year))
    current = measure_values(session, year)
    previous = measure_values(session, year - 1)
    stored = _stored(session, year)
    peers: dict[tuple[int, str], dict[str, float]] = {}
    for (code, no, key), mv in current.items():
        if mv.value is not None:
            peers.setdefault((no, key), {})[code] = float(mv.value)
    units = [u for u in load_units() if unit_code in (None, u.code)]
    if unit_code is not None and not units:
        raise RoundError(f"未知的单位代码：{unit_code}")
    rows = []
    for unit in units:
        for ind, m in template_measures(system):
            key = (unit.code, ind.no, m.key)
            mv = current.get(key)
            value, base = (mv.value, mv.base) if mv else (None, None)
            others = {c: v for c, v in peers.get((ind.no, m.key), {}).items() if c != unit.code}
            before = previous.get(key)
            flags = plausibility_flags(m, value, base, others, before.value if before else None)
            row = stored.get(key)
            confirmed = bool(row and row.confirmed and row.value == value and row.base_value == base)
            rows.append(ValueRow(unit.code, unit.name, ind, m, value, base, mv.source if mv else NOT_REPORTED,
                                 flags, confirmed))
    return rows


def to_confirm(session: Session, year: int) -> list[ValueRow]:
    """The values flagged as implausible that the office has not confirmed yet."""
    return [r for r in value_table(session, year) if r.needs_confirmation]


CLOSED = "得分已定，不能再修改统计数值。"


def _measure(system, indicator_no: int, key: str):
    indicator = system.get(indicator_no)
    measure = next((m for m in indicator.measures if m.key == key), None)
    if measure is None or indicator.source == "survey":
        raise RoundError(f"指标 {indicator_no}（{indicator.name}）没有可填报的数值项“{key}”。")
    return indicator, measure


def _put(session: Session, user: User, year: int, key: tuple[str, int, str], value, base, *, source: str,
         reason: str) -> StatisticValue:
    unit_code, no, measure_key = key
    row = session.exec(select(StatisticValue).where(
        StatisticValue.year == year, StatisticValue.unit_code == unit_code,
        StatisticValue.indicator_no == no, StatisticValue.measure_key == measure_key)).first()
    row = row or StatisticValue(year=year, unit_code=unit_code, indicator_no=no, measure_key=measure_key)
    if row.value != value or row.base_value != base:
        row.confirmed = False  # a confirmation holds for the value confirmed, not for its replacement
    row.value, row.base_value, row.source, row.reason = value, base, source, reason
    row.updated_by, row.updated_at = user.id, utcnow()
    session.add(row)
    return row


def correct_value(session: Session, user: User, year: int, unit_code: str, indicator_no: int, key: str, *,
                  value: float | None, base_value: float | None, reason: str, ip: str = "") -> StatisticValue:
    """The office sets a unit's statistic; the reason and the value it replaces go to the audit log."""
    require_office(user, "更正统计数值")
    if not reason.strip():
        raise RoundError("更正统计数值必须写明理由。")
    rnd = open_round(session, year, CLOSED)
    indicator, measure = _measure(system_for(rnd), indicator_no, key)
    if session.get(Unit, unit_code) is None:
        raise RoundError(f"未知的单位代码：{unit_code}")
    problems = value_problems(indicator, {key: {"value": value, "base_value": base_value}})
    if problems:
        raise RoundError("；".join(problems) + "。未作更改。")
    before = measure_values(session, year).get((unit_code, indicator_no, key))
    row = _put(session, user, year, (unit_code, indicator_no, key), value, base_value,
               source=SOURCE_CORRECTION, reason=reason.strip())
    audit.record(session, "statistic", user=user, object_type="unit", object_id=unit_code, ip=ip,
                 detail={"year": year, "indicator": indicator_no, "measure": measure.label, "reason": reason.strip(),
                         "from": None if before is None else [before.value, before.base, before.source],
                         "to": [value, base_value]})
    return row


def confirm_value(session: Session, user: User, year: int, unit_code: str, indicator_no: int, key: str, *,
                  note: str = "", ip: str = "") -> StatisticValue:
    """The office has looked at a flagged value and accepts it as it stands (audited).

    A unit's own (self-assessed) value is confirmed by a row that records only the confirmation: the
    self-assessment stays the value's source, and a later change of it is flagged again."""
    require_office(user, "核实统计数值")
    rnd = open_round(session, year, CLOSED)
    indicator, measure = _measure(system_for(rnd), indicator_no, key)
    current = measure_values(session, year).get((unit_code, indicator_no, key))
    if current is None or current.value is None:
        raise RoundError(f"{unit_name(unit_code)}的“{measure.label}”尚无数值，无需核实。")
    row = _stored(session, year).get((unit_code, indicator_no, key))
    if row is None or row.source == SOURCE_CONFIRMED_SELF:
        row = _put(session, user, year, (unit_code, indicator_no, key), current.value, current.base,
                   source=SOURCE_CONFIRMED_SELF, reason=note.strip())
    row.confirmed = True
    session.add(row)
    audit.record(session, "statistic_confirm", user=user, object_type="unit", object_id=unit_code, ip=ip,
                 detail={"year": year, "indicator": indicator_no, "measure": measure.label,
                         "value": [current.value, current.base], "reason": note.strip()})
    return row


@dataclass
class ImportOutcome:
    changed: int
    unchanged: int
    flagged: list[ValueRow]

    def message(self) -> str:
        text = f"已导入 {self.changed} 个数值（另有 {self.unchanged} 个与现有数值相同，未改动）。"
        if self.flagged:
            text += f"其中 {len(self.flagged)} 个数值需要核实，见下方“待核实”。"
        return text


def import_statistics(session: Session, user: User, year: int, data: bytes, filename: str,
                      ip: str = "") -> ImportOutcome:
    """A filled-in template into the year's values: all of it, or — when any cell is wrong — nothing
    (rounds.sheets.SheetRejected lists every bad cell).  The caller commits."""
    from rounds.statistics_sheet import read_template
    require_office(user, "导入统计数据")
    rnd = open_round(session, year, CLOSED)
    system = system_for(rnd)
    parsed = read_template(system, year, load_units(), data, filename)
    current = measure_values(session, year)
    changes = []
    unchanged = 0
    for (unit, no, key), entry in sorted(parsed.values.items()):
        before = current.get((unit, no, key))
        value = entry.get("value", before.value if before else None)
        base = entry.get("base_value", before.base if before else None)
        if before is not None and before.value == value and before.base == base:
            unchanged += 1
            continue
        indicator = system.get(no)
        problems = value_problems(indicator, {key: {"value": value, "base_value": base}})
        if problems:  # read_template checked each cell; this guards a cell merged with a stored value
            raise RoundError(f"{unit}：" + "；".join(problems) + "。请在模板中同时填写本年值和基期值。未导入任何数据。")
        _put(session, user, year, (unit, no, key), value, base, source=SOURCE_IMPORT, reason="")
        changes.append(_change_line(unit, indicator, key, before, value, base))
    session.flush()
    changed_keys = {key for key, _ in changes}
    flagged = [r for r in to_confirm(session, year) if r.key in changed_keys]
    audit.record(session, "statistic_import", user=user, object_type="round", object_id=year, ip=ip,
                 detail={"year": year, "filename": filename[:200], "values": len(changes), "unchanged": unchanged,
                         "flagged": len(flagged), "changes": [line for _, line in changes]})
    return ImportOutcome(len(changes), unchanged, flagged)


def _change_line(unit: str, indicator, key: str, before, value, base) -> tuple[tuple[str, int, str], str]:
    """The change as the audit log reads it: 江苏省 指标14“…数量”：8（基期6）→ 12（基期6）."""
    from rubrics.units import unit_name
    label = next(m.label for m in indicator.measures if m.key == key)
    shown = lambda v, b: (plain(v) or "空") + (f"（基期{plain(b)}）" if b is not None else "")
    old = shown(before.value, before.base) if before else "无"
    return (unit, indicator.no, key), f"{unit_name(unit)} 指标{indicator.no}“{label}”：{old} → {shown(value, base)}"


def write_statistics_template(session: Session, year: int, out: Path, filled: bool = False) -> Path:
    """The year's template; filled: with the values the scores use today (to correct in bulk)."""
    from rounds.statistics_sheet import write_template
    rnd = get_round(session, year)
    return write_template(system_for(rnd), year, load_units(), out,
                          measure_values(session, year) if filled else None)
