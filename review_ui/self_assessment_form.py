"""The self-assessment form's fields: their names, reading a post into what the save takes, and the
values to show (stored ones, or what was typed when a save is refused, so nothing typed is lost).

Field names: self_category, report, level_<no>, narrative_<no>, value_<no>_<key>, base_<no>_<key>,
unlink (ids of linked passages to remove). A problem is keyed the way rounds.workflow reports it —
("level", no), ("value", no, key) … — and field_name turns the key into the field it belongs to.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

MAX_NARRATIVE = 5000
MAX_REPORT = 50000


def field_name(key: tuple) -> str:
    kind, *rest = key
    if kind == "category":
        return "self_category"
    if kind == "report":
        return "report"
    return "_".join([kind, *map(str, rest)])


@dataclass
class Posted:
    category: str | None = None
    report: str = ""
    levels: dict[int, int | None] = field(default_factory=dict)
    narratives: dict[int, str] = field(default_factory=dict)
    values: dict[int, dict[str, dict]] = field(default_factory=dict)
    unlink: list[int] = field(default_factory=list)
    problems: dict[tuple, str] = field(default_factory=dict)  # what could not even be read (the save reports it)

    def save_arguments(self) -> dict:
        return {"category": self.category, "report": self.report, "levels": self.levels,
                "narratives": self.narratives, "values": self.values, "unlink": self.unlink,
                "unreadable": self.problems}


def number(text: str) -> float | None:
    """A number as people type it: full-width digits, thousands separators, a trailing %; ValueError if none."""
    cleaned = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace(" ", "").rstrip("%")
    if not cleaned:
        return None
    return float(cleaned)


def read(system, form) -> Posted:
    """The post as the save's arguments; fields that cannot be read become problems (never dropped silently)."""
    posted = Posted(category=str(form.get("self_category") or "") or None)
    report = str(form.get("report", ""))
    if len(report) > MAX_REPORT:
        posted.problems[("report",)] = f"自评报告最多 {MAX_REPORT} 字（现有 {len(report)} 字），请精简后再保存。"
    posted.report = report
    for ind in system.indicators:
        raw = form.get(f"level_{ind.no}")
        if raw is not None:
            try:
                posted.levels[ind.no] = int(raw) if str(raw).strip() else None
            except ValueError:
                posted.problems[("level", ind.no)] = f"指标 {ind.no} 的自评等级应为评分细则中的数字。"
        text = form.get(f"narrative_{ind.no}")
        if text is not None:
            if len(str(text)) > MAX_NARRATIVE:
                posted.problems[("narrative", ind.no)] = (
                    f"说明最多 {MAX_NARRATIVE} 字（现有 {len(str(text))} 字），请精简后再保存。")
            posted.narratives[ind.no] = str(text)
        measures = {}
        for m in ind.measures:
            entry = {}
            for part, prefix, label in (("value", "value", "本年"), ("base_value", "base", "基期")):
                raw = form.get(f"{prefix}_{ind.no}_{m.key}")
                if raw is None:
                    continue
                try:
                    entry[part] = number(str(raw))
                except ValueError:
                    posted.problems[(prefix, ind.no, m.key)] = f"{m.label}（{label}）应填写数字，如 120 或 35.5。"
            if entry:
                measures[m.key] = {"value": entry.get("value"), "base_value": entry.get("base_value")}
        if measures:
            posted.values[ind.no] = measures
    for raw in form.getlist("unlink"):
        if str(raw).isdigit() and len(str(raw)) < 12:
            posted.unlink.append(int(raw))
    return posted


def _text(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def stored_values(system, sa, items) -> dict[str, str]:
    """What the form shows for a stored self-assessment, by field name."""
    values = {"self_category": sa.self_category or "", "report": sa.report or ""}
    for ind in system.indicators:
        item = items.get(ind.no)
        if item is None:
            continue
        values[f"level_{ind.no}"] = _text(item.level_value)
        values[f"narrative_{ind.no}"] = item.narrative or ""
        for m in ind.measures:
            entry = (item.values or {}).get(m.key) or {}
            values[f"value_{ind.no}_{m.key}"] = _text(entry.get("value"))
            values[f"base_{ind.no}_{m.key}"] = _text(entry.get("base_value"))
    return values


def typed_values(form) -> dict[str, str]:
    """The fields as the user typed them, to show again after a refusal."""
    return {key: str(value) for key, value in form.items() if key not in ("csrf_token", "unlink", "action")}


def problems_by_field(problems: dict[tuple, str]) -> dict[str, str]:
    return {field_name(key): message for key, message in problems.items()}
