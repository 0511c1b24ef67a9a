"""Assignment rules: the even spread (property-style over random inputs), conflicts, by hand, apply as a unit."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from review import assign as A
from evidence.models import Assignment, AuditEvent, Conflict, User
from review.ratings import system_for_year

YEAR = 2023
UNITS = ["BJ", "SH", "GD", "ZJ", "JS", "SC"]


def check_plan(plan, reviewers, items, per_item, cap, conflicts, existing):
    load = Counter(r for r, _, _ in existing)
    on_item = Counter((u, n) for _, u, n in existing)
    seen = {(r, u, n) for r, u, n in existing}
    for r, u, n in plan.rows:
        assert u not in conflicts.get(r, set()), "a conflicted reviewer was assigned"
        assert (r, u, n) not in seen, "a reviewer got the same item twice"
        seen.add((r, u, n))
        load[r] += 1
        on_item[(u, n)] += 1
    for r in reviewers:
        existing_load = sum(1 for e in existing if e[0] == r)
        assert load[r] <= max(cap, existing_load), "cap exceeded by new assignments"
        assert plan.load[r] == load[r]
    unfilled = {(u, n): missing for u, n, missing in plan.unfilled}
    for item in set(items):
        assert on_item[item] + unfilled.get(item, 0) >= per_item
        if item in unfilled:
            # Nobody eligible had room left: every non-conflicted reviewer not on the item is at the cap.
            free = [r for r in reviewers if item[0] not in conflicts.get(r, set())
                    and (r, *item) not in seen and load[r] < cap]
            assert free == []


@st.composite
def spread_inputs(draw):
    reviewers = list(range(1, draw(st.integers(1, 9)) + 1))
    units = draw(st.lists(st.sampled_from(UNITS), min_size=1, max_size=len(UNITS), unique=True))
    numbers = draw(st.lists(st.integers(1, 40), min_size=1, max_size=8, unique=True))
    items = [(u, n) for u in units for n in numbers]
    conflicts = {r: set(draw(st.lists(st.sampled_from(UNITS), max_size=3))) for r in reviewers}
    existing = []
    for r in reviewers:
        for item in draw(st.lists(st.sampled_from(items), max_size=3, unique=True)):
            if item[0] not in conflicts[r]:
                existing.append((r, *item))
    return reviewers, items, draw(st.integers(1, 3)), draw(st.integers(1, 12)), conflicts, existing


@settings(max_examples=150, deadline=None)
@given(spread_inputs())
def test_spread_respects_cap_conflicts_and_fills_what_it_can(inputs):
    reviewers, items, per_item, cap, conflicts, existing = inputs
    plan = A.plan_spread(reviewers, items, per_item, cap, conflicts, existing, YEAR)
    check_plan(plan, reviewers, items, per_item, cap, conflicts, existing)


def test_spread_with_ample_capacity_fills_everything_and_balances_load():
    reviewers = [1, 2, 3, 4]
    items = [(u, n) for u in UNITS for n in range(1, 11)]  # 60 items × 2 = 120 slots
    plan = A.plan_spread(reviewers, items, 2, 40, {1: {"BJ"}, 2: {"SH"}}, [], YEAR)
    assert plan.unfilled == [] and len(plan.rows) == 120
    assert max(plan.load.values()) - min(plan.load.values()) <= 1


def test_spread_reports_what_the_cap_leaves_unfilled():
    plan = A.plan_spread([1, 2], [("GD", n) for n in range(1, 6)], 2, 3, {}, [], YEAR)
    assert sum(m for _, _, m in plan.unfilled) == 4 and len(plan.rows) == 6


@pytest.fixture
def people(settings, make_user, db_session):
    make_user("office1", "office")
    make_user("r1", "reviewer", home="BJ")
    make_user("r2", "reviewer", home="SH")
    make_user("r3", "reviewer")
    users = {u.username: u for u in db_session.exec(select(User))}
    rated = {i.no for i in system_for_year(YEAR).rated_indicators()}
    return db_session, users, rated


def test_by_hand_never_assigns_home_unit_or_declared_conflict(people):
    s, u, rated = people
    with pytest.raises(A.AssignError, match="回避"):
        A.assign(s, u["office1"], YEAR, u["r1"], "BJ", [1], rated)
    A.declare_conflict(s, u["r3"], u["r3"], "GD", "曾任职")
    with pytest.raises(A.AssignError, match="回避"):
        A.assign(s, u["office1"], YEAR, u["r3"], "GD", [1], rated)
    quantitative = min(set(range(1, 89)) - rated)
    with pytest.raises(A.AssignError, match="不是需要评审评档的指标"):
        A.assign(s, u["office1"], YEAR, u["r3"], "ZJ", [quantitative], rated)
    with pytest.raises(A.AssignError, match="只有协调小组办公室"):
        A.assign(s, u["r1"], YEAR, u["r3"], "ZJ", [1], rated)
    made = A.assign(s, u["office1"], YEAR, u["r3"], "ZJ", [1, 2], rated)
    again = A.assign(s, u["office1"], YEAR, u["r3"], "ZJ", [1, 2, 4], rated)
    s.commit()
    assert len(made) == 2 and [a.indicator_no for a in again] == [4]
    events = s.exec(select(AuditEvent).where(AuditEvent.action == "assign")).all()
    assert len(events) == 3 and {e.detail["indicator"] for e in events} == {1, 2, 4}


def test_declaring_a_conflict_removes_assignments_and_pinned_ones_cannot_be_lifted_by_the_reviewer(people):
    s, u, rated = people
    A.assign(s, u["office1"], YEAR, u["r3"], "GD", [1, 2], rated)
    pinned = A.declare_conflict(s, u["office1"], u["r3"], "GD", "亲属在该省任职")
    s.commit()
    assert pinned.kind == "pinned"
    assert s.exec(select(Assignment).where(Assignment.reviewer_id == u["r3"].id)).all() == []
    with pytest.raises(A.AssignError, match="只能由办公室撤销"):
        A.lift_conflict(s, u["r3"], pinned)
    with pytest.raises(A.AssignError, match="本人所在单位"):
        home = s.exec(select(Conflict).where(Conflict.user_id == u["r1"].id, Conflict.kind == "home")).one()
        A.lift_conflict(s, u["office1"], home)
    with pytest.raises(A.AssignError, match="本人"):
        A.declare_conflict(s, u["r1"], u["r3"], "ZJ")  # a reviewer declares only their own


def test_apply_is_all_or_nothing_and_refuses_a_stale_preview(people):
    s, u, rated = people
    numbers = sorted(rated)[:5]
    plan = A.plan_for_year(s, YEAR, ["BJ", "GD"], numbers, 2, 100)
    assert all(not (r == u["r1"].id and unit == "BJ") for r, unit, _ in plan.rows)
    A.assign(s, u["office1"], YEAR, u["r3"], "GD", [numbers[0]], rated)  # someone changes things meanwhile
    fresh = A.plan_for_year(s, YEAR, ["BJ", "GD"], numbers, 2, 100)
    with pytest.raises(A.AssignError, match="重新预览"):
        A.apply_plan(s, u["office1"], fresh, plan.fingerprint)
    created = A.apply_plan(s, u["office1"], fresh, fresh.fingerprint)
    s.commit()
    assert len(created) == len(fresh.rows) == 2 * 2 * 5 - 1
    assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "assign")).all()) == len(created) + 1


def test_a_tight_cap_gives_every_item_one_reviewer_before_any_gets_a_second():
    items = [(u, n) for u in UNITS for n in range(1, 5)]  # 24 items, 2 reviewers × cap 20 = 40 < 48 slots
    plan = A.plan_spread([1, 2], items, 2, 20, {}, [], YEAR)
    covered = {(u, n) for _, u, n in plan.rows}
    assert covered == set(items) and len(plan.rows) == 40
