"""The rating items a user works on in a year, in the order the scoring list shows them.

A reviewer's list is their assignments minus the units they must stay away from (declared
conflicts, their home unit); the office's is every assigned or rated item (or one unit's rated
indicators). Each row carries the state this viewer may know (a reviewer learns of a dispute
only after submitting: ratings.item_status). The scoring screen's previous/next links walk the
same list, so "next" always means the row below in /scoring.
"""
from __future__ import annotations

from sqlmodel import Session, select

from evidence.accounts import conflicted_units
from evidence.models import Unit, User
from review import ratings as R
from rubrics.units import national_rank


# What each status filter of the list shows: one item state (ratings.item_status) or a group of them.
# The 工作台 counts with the same table (status_counts), so a count is always the number of rows its link
# shows. "done" is a reviewer's submitted work whatever followed: no dispute, a dispute, a consensus.
STATUS_FILTERS: dict[str, tuple[str, frozenset[str]]] = {
    "todo": ("未开始", frozenset({"todo"})),
    "draft": ("草稿", frozenset({"draft"})),
    "open": ("未提交（未开始和草稿）", frozenset({"todo", "draft"})),
    "submitted": ("已提交、无分歧", frozenset({"submitted"})),
    "disputed": ("有分歧", frozenset({"disputed"})),
    "consensus": ("已合议", frozenset({"consensus"})),
    "done": ("已提交（含有分歧、已合议）", frozenset({"submitted", "disputed", "consensus"})),
}


def status_filter_labels() -> dict[str, str]:
    return {key: label for key, (label, _) in STATUS_FILTERS.items()}


def blocked_units(session: Session, user: User) -> set[str]:
    """Units a reviewer may not rate: declared conflicts and their home unit."""
    return conflicted_units(session, user) | ({user.home_unit_code} if user.home_unit_code else set())


def list_rows(session: Session, user: User, year: int, unit: str = "", level1: int | None = None,
              status: str = "") -> list[dict]:
    """The items this user works on for the year, with the status they may know; `status` is a key of
    STATUS_FILTERS (an unknown one filters nothing)."""
    system = R.system_for_year(year)
    rated = {i.no: i for i in system.rated_indicators()}
    if user.role == "reviewer":
        blocked = blocked_units(session, user)
        items = {it for it in R.assigned_items(session, year, user.id) if it[0] not in blocked}
    elif unit:
        items = {(unit, no) for no in rated}
    else:
        items = R.assigned_items(session, year) | set(R.ratings_by_item(session, year))
    by_item = R.ratings_by_item(session, year, sorted({u for u, _ in items}))
    units = {u.code: u for u in session.exec(select(Unit))}
    rows = []
    for unit_code, no in sorted(items, key=lambda it: (national_rank(it[0]), it[1])):
        indicator = rated.get(no)
        if indicator is None or (unit and unit_code != unit) or (level1 and indicator.level1_no != level1):
            continue
        state = R.item_status(by_item.get((unit_code, no), []), user)
        if status in STATUS_FILTERS and state not in STATUS_FILTERS[status][1]:
            continue
        rows.append({"unit": units.get(unit_code), "unit_code": unit_code, "indicator": indicator,
                     "status": state, "label": R.STATUS_LABELS[state]})
    return rows


def status_counts(session: Session, user: User, year: int) -> dict[str, int]:
    """How many of this user's items each status filter shows ("all" for the whole list)."""
    states = [row["status"] for row in list_rows(session, user, year)]
    counts = {key: sum(1 for s in states if s in members) for key, (_, members) in STATUS_FILTERS.items()}
    counts["all"] = len(states)
    return counts


def neighbours(session: Session, user: User, year: int, unit: str, indicator_no: int) -> dict:
    """Where this item sits in the user's list (same order as /scoring), and the items either side,
    so a reviewer goes from one item to the next without returning to the list."""
    rows = list_rows(session, user, year)
    keys = [(r["unit_code"], r["indicator"].no) for r in rows]
    here = keys.index((unit, indicator_no)) if (unit, indicator_no) in keys else None
    if here is None:
        return {"position": None, "total": len(rows), "prev": None, "next": None, "next_open": None}
    following = rows[here + 1:] + rows[:here]
    next_open = next((r for r in following if r["status"] in ("todo", "draft")), None)
    return {"position": here + 1, "total": len(rows), "prev": rows[here - 1] if here > 0 else None,
            "next": rows[here + 1] if here + 1 < len(rows) else None, "next_open": next_open}
