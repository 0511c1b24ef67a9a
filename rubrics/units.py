"""Units as people know them: their Chinese names, the national order (GB/T 2260, as units.yaml
lists them) and the lookup that lets a person type 江苏, 江苏省, 苏 or JS for the same unit.

Codes are for URLs, files and export code columns; everything a person reads goes through here.
"""
from __future__ import annotations

from functools import lru_cache

from .indicators import Unit, load_units

OFFICE_LABEL = "协调小组办公室"


@lru_cache(maxsize=1)
def _by_code() -> dict[str, Unit]:
    return {u.code: u for u in load_units()}


@lru_cache(maxsize=1)
def _rank() -> dict[str, int]:
    return {u.code: i for i, u in enumerate(load_units())}


def national_rank(code: str | None) -> tuple[int, str]:
    """A sort key putting units in the national order; unknown codes go last, by code."""
    return (_rank().get(code or "", len(_rank())), code or "")


def in_national_order(items, code=lambda item: item.code):
    """Any units (or rows carrying a unit code) sorted in the national order."""
    return sorted(items, key=lambda item: national_rank(code(item)))


def unit_name(code: str | None, short: bool = False) -> str:
    """江苏省 (or 江苏 with short=True) for JS; an unknown code is shown as it is rather than hidden."""
    if not code:
        return ""
    unit = _by_code().get(code)
    if unit is None:
        return OFFICE_LABEL if code == "OFFICE" else code
    return unit.short_name if short else unit.name


def unit_names(codes, short: bool = True, sep: str = "、") -> str:
    """Several units as one Chinese list, in the national order: 北京、江苏、广东."""
    return sep.join(unit_name(c, short=short) for c in sorted(set(codes), key=national_rank))


def resolve_unit(text: str | None) -> str | None:
    """The code of the unit a person typed: a code (any case), its full or short name or an alias."""
    wanted = (text or "").strip()
    if not wanted:
        return None
    for unit in load_units():
        if wanted.upper() == unit.code or wanted in (unit.name, unit.short_name) or wanted in unit.aliases:
            return unit.code
    return None


def typed_names() -> dict[str, str]:
    """Every way a person may type a unit (code, full name, short name, alias) → its code."""
    names: dict[str, str] = {}
    for unit in load_units():
        for name in (unit.code, unit.name, unit.short_name, *unit.aliases):
            names.setdefault(name, unit.code)
    return names


def resolve_units(text: str | None) -> tuple[list[str], list[str]]:
    """Codes for a list typed with any Chinese or ASCII separators, and the parts not understood."""
    import re
    codes, unknown = [], []
    for part in re.split(r"[\s,，、;；/]+", text or ""):
        if not part:
            continue
        code = resolve_unit(part)
        if code is None:
            unknown.append(part)
        elif code not in codes:
            codes.append(code)
    return codes, unknown
