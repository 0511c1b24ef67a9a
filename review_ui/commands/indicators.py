"""`kaoping indicators` and `kaoping units`: show the indicator system and the 32 units."""
from __future__ import annotations

import json
import unicodedata

import click

from rubrics.indicators import KINDS, SOURCES, IndicatorSystem, RubricError, get_unit, load_system, load_units

CN_NUMERALS = "零一二三四五六七八九"


class RubricCommandError(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.message}", err=True)


def _cn(n: int) -> str:
    if n < 10:
        return CN_NUMERALS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_NUMERALS[tens]) + "十" + (CN_NUMERALS[ones] if ones else "")


def _points(weight: float) -> str:
    return f"{weight:g} 分"


def _pad(text: str, width: int) -> str:
    # Chinese characters take two columns in a terminal; pad by display width, not len().
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - shown)


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def _load(year: int | None) -> IndicatorSystem:
    try:
        return load_system(year)
    except RubricError as exc:
        raise RubricCommandError(str(exc)) from None


def render_table(system: IndicatorSystem) -> str:
    lines = [f"{system.title}",
             f"{system.year} 年（版本 {system.version}）：{len(system.level1)} 个一级指标、"
             f"{sum(len(l1.level2) for l1 in system.level1)} 个二级指标、{len(system.indicators)} 个三级指标，"
             f"合计 {_points(system.total_weight)}"]
    for l1 in system.level1:
        l1_weight = sum(system.get(no).weight for l2 in l1.level2 for no in l2.indicator_nos)
        lines += ["", f"{_cn(l1.no)}、{l1.name}〔{l1.category}〕 {_points(l1_weight)}"]
        for l2 in l1.level2:
            l2_weight = sum(system.get(no).weight for no in l2.indicator_nos)
            lines.append(f"  （{_cn(l2.no)}）{l2.name} {_points(l2_weight)}")
            for no in l2.indicator_nos:
                ind = system.get(no)
                tag = KINDS[ind.kind] if ind.source == "review" else f"{KINDS[ind.kind]}·{SOURCES[ind.source]}"
                lines.append(f"    {no:>3}  {_pad(ind.name, 44)} {_pad(tag, 16)} {_points(ind.weight)}")
    return "\n".join(lines)


def render_indicator(system: IndicatorSystem, no: int) -> str:
    ind = system.get(no)
    lines = [f"指标 {ind.no}「{ind.name}」（{system.year} 年，版本 {system.version}）",
             f"所属：{_cn(ind.level1_no)}、{ind.level1} › （{_cn(ind.level2_no)}）{ind.level2}",
             f"指标具体内涵：{ind.meaning}",
             f"类型：{KINDS[ind.kind]}（{ind.kind_reason}）；来源：{SOURCES[ind.source]}；分值：{_points(ind.weight)}",
             f"证据类别：{'、'.join(ind.evidence_kinds)}"]
    if ind.rubric:
        lines.append("评分档次：")
        lines += [f"  {lv.value} {lv.label}：{lv.descriptor}" for lv in ind.rubric]
    if ind.measures:
        lines.append("填报数值：")
        for m in ind.measures:
            notes = [n for n, on in (("计算增长率", m.growth), ("比例", m.share)) if on]
            lines.append(f"  {m.key}：{m.label}（{m.unit}）{'，' + '、'.join(notes) if notes else ''}")
    if ind.terms:
        lines.append(f"检索词：{'、'.join(ind.terms)}")
    return "\n".join(lines)


@click.command()
@click.option("--year", type=int, default=None, help="评价年度（默认最新年度）")
@click.option("--no", "number", type=int, default=None, help="只显示一个三级指标及其评分档次")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（每个三级指标一个对象）")
def indicators(year: int | None, number: int | None, as_json: bool) -> None:
    """显示评价考核指标体系（7 个一级、25 个二级、88 个三级指标）。"""
    system = _load(year)
    try:
        if as_json:
            rows = system.to_json()
            if number is not None:
                system.get(number)  # an unknown number is an error, not an empty list
                rows = [row for row in rows if row["no"] == number]
            click.echo(_dumps(rows))
        elif number is not None:
            click.echo(render_indicator(system, number))
        else:
            click.echo(render_table(system))
    except RubricError as exc:
        raise RubricCommandError(str(exc)) from None


@click.command()
@click.option("--code", default=None, help="只显示一个单位（如 BT）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
def units(code: str | None, as_json: bool) -> None:
    """显示 32 个被评价单位（31 个省（区、市）和新疆生产建设兵团）。"""
    try:
        chosen = [get_unit(code)] if code else load_units()
    except RubricError as exc:
        raise RubricCommandError(str(exc)) from None
    if as_json:
        click.echo(_dumps([{"code": u.code, "name": u.name, "short_name": u.short_name,
                            "gb_code": u.gb_code, "aliases": list(u.aliases)} for u in chosen]))
        return
    for u in chosen:
        click.echo(f"{u.code:<3} {u.gb_code or '—':<7} {_pad(u.name, 18)} {u.short_name}")


COMMANDS = [indicators, units]
