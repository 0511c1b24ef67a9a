"""Who reviews what: assignments by hand, an even spread with a load cap, and conflicts.

A reviewer is never assigned a unit they are conflicted with — their own province
(kind 'home', made with the account), one they declared, or one the office pinned.
Like HotCRP's bulk assignment, the spread is computed as a plan, shown, and only
then applied as one transaction; the plan carries a fingerprint so applying a
plan that no longer matches the database is refused instead of half-applied.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, select

from evidence import audit
from evidence.models import Assignment, Conflict, Unit, User
from review.year_lock import closed_notice, closed_years
from rubrics.units import unit_name

CONFLICT_KINDS = {"home": "本人所在单位", "declared": "本人申报回避", "pinned": "办公室指定回避"}
DEFAULT_PER_ITEM = 2
DEFAULT_CAP = 60


class AssignError(ValueError):
    """A refused assignment or conflict change; the message is for the user (Chinese)."""


# ── conflicts ───────────────────────────────────────────────────────────────

def conflicts_by_reviewer(session: Session) -> dict[int, set[str]]:
    result: dict[int, set[str]] = defaultdict(set)
    for c in session.exec(select(Conflict)):
        result[c.user_id].add(c.unit_code)
    # The home province blocks even if its Conflict row was never written (accounts made by hand).
    for u in session.exec(select(User).where(User.role == "reviewer")):
        if u.home_unit_code:
            result[u.id].add(u.home_unit_code)
    return result


def is_conflicted(session: Session, reviewer: User, unit_code: str) -> bool:
    return unit_code in conflicts_by_reviewer(session).get(reviewer.id, set())


def declare_conflict(session: Session, actor: User, reviewer: User, unit_code: str, reason: str = "") -> Conflict:
    """A reviewer declares their own conflict; the office pins one that the reviewer cannot lift.

    Assignments the reviewer already had for that unit are removed (and audited):
    a conflicted reviewer must neither rate nor see the unit.
    """
    if reviewer.role != "reviewer":
        raise AssignError("只能为评审专家登记回避。")
    if actor.role == "reviewer" and actor.id != reviewer.id:
        raise AssignError("评审专家只能申报本人的回避。")
    if actor.role not in ("reviewer", "office"):
        raise AssignError("您无权登记回避。")
    if session.get(Unit, unit_code) is None:
        raise AssignError("请选择单位。" if not unit_code else "所选单位不存在，请从列表中选择。")
    kind = "pinned" if actor.role == "office" else "declared"
    existing = session.exec(select(Conflict).where(Conflict.user_id == reviewer.id,
                                                   Conflict.unit_code == unit_code)).first()
    if existing is not None:
        if existing.kind == "declared" and kind == "pinned":
            existing.kind, existing.created_by = "pinned", actor.id
            existing.reason = reason.strip()[:500] or existing.reason
        conflict = existing
    else:
        conflict = Conflict(user_id=reviewer.id, unit_code=unit_code, kind=kind, reason=reason.strip()[:500],
                            created_by=actor.id)
        session.add(conflict)
    removed = assignments_in_unit(session, reviewer.id, unit_code)
    for a in removed:
        audit.record(session, "unassign", user=actor, object_type="assignment", object_id=a.id,
                     detail={"year": a.year, "reviewer": reviewer.username, "unit": unit_code,
                             "indicator": a.indicator_no, "reason": "登记回避"})
        session.delete(a)
    audit.record(session, "conflict", user=actor, object_type="user", object_id=reviewer.id,
                 detail={"reviewer": reviewer.username, "unit": unit_code, "kind": conflict.kind,
                         "reason": conflict.reason, "removed_assignments": len(removed)})
    session.flush()
    return conflict


def assignments_in_unit(session: Session, reviewer_id: int, unit_code: str) -> list[Assignment]:
    """A reviewer's tasks for one unit, every year still open: what registering a conflict with the unit
    cancels (a closed year's assignments are final, like the ratings made under them)."""
    return list(session.exec(select(Assignment).where(Assignment.reviewer_id == reviewer_id,
                                                      Assignment.unit_code == unit_code,
                                                      Assignment.year.not_in(closed_years()))
                             .order_by(Assignment.year, Assignment.indicator_no)))


def lift_conflict(session: Session, actor: User, conflict: Conflict) -> None:
    """The home province never lifts; a pinned conflict only by the office; a declared one by its reviewer too."""
    if conflict.kind == "home":
        raise AssignError("本人所在单位的回避不能撤销。")
    if actor.role == "reviewer" and (conflict.user_id != actor.id or conflict.kind != "declared"):
        raise AssignError("办公室指定的回避只能由办公室撤销。")
    if actor.role not in ("reviewer", "office"):
        raise AssignError("您无权撤销回避。")
    audit.record(session, "conflict", user=actor, object_type="user", object_id=conflict.user_id,
                 detail={"unit": conflict.unit_code, "kind": conflict.kind, "lifted": True})
    session.delete(conflict)
    session.flush()


def conflicts_of(session: Session, reviewer_id: int | None = None) -> list[Conflict]:
    query = select(Conflict).order_by(Conflict.user_id, Conflict.unit_code)
    if reviewer_id is not None:
        query = query.where(Conflict.user_id == reviewer_id)
    return list(session.exec(query))


# ── by hand ─────────────────────────────────────────────────────────────────

def assign(session: Session, actor: User, year: int, reviewer: User, unit_code: str, indicator_nos: list[int],
           rated: set[int]) -> list[Assignment]:
    """Assign one reviewer some indicators of one unit; existing ones are kept, not duplicated.

    `rated` is the set of indicator numbers reviewers rate that year (qualitative and mixed).
    """
    if actor.role != "office":
        raise AssignError("只有协调小组办公室可以分配评审任务。")
    ensure_open(session, year)
    if reviewer.role != "reviewer" or not reviewer.active:
        raise AssignError("只能把评审任务分配给在用的评审专家账号。")
    if session.get(Unit, unit_code) is None:
        raise AssignError("请选择单位。" if not unit_code else "所选单位不存在，请从列表中选择。")
    if is_conflicted(session, reviewer, unit_code):
        raise AssignError(f"{reviewer.display_name or reviewer.username}与{unit_name(unit_code)}存在回避关系"
                          f"（本人所在省份或已登记回避），不能分配。")
    wrong = sorted(set(indicator_nos) - rated)
    if wrong:
        raise AssignError(f"指标 {'、'.join(map(str, wrong))} 不是需要评审评档的指标（只分配定性和混合指标）。")
    if not indicator_nos:
        raise AssignError("请至少选择一个指标。")
    have = set(session.exec(select(Assignment.indicator_no).where(
        Assignment.year == year, Assignment.reviewer_id == reviewer.id, Assignment.unit_code == unit_code)).all())
    created = []
    for no in sorted(set(indicator_nos) - have):
        a = Assignment(year=year, reviewer_id=reviewer.id, unit_code=unit_code, indicator_no=no, created_by=actor.id)
        session.add(a)
        created.append(a)
    session.flush()
    for a in created:
        _audit_assign(session, actor, a, reviewer, "hand")
    return created


def unassign(session: Session, actor: User, assignment: Assignment) -> None:
    if actor.role != "office":
        raise AssignError("只有协调小组办公室可以取消评审任务。")
    ensure_open(session, assignment.year)
    reviewer = session.get(User, assignment.reviewer_id)
    audit.record(session, "unassign", user=actor, object_type="assignment", object_id=assignment.id,
                 detail={"year": assignment.year, "reviewer": reviewer.username if reviewer else "",
                         "unit": assignment.unit_code, "indicator": assignment.indicator_no})
    session.delete(assignment)
    session.flush()


def ensure_open(session: Session, year: int) -> None:
    """A closed year's assignments are final (review/year_lock.py)."""
    notice = closed_notice(session, year)
    if notice:
        raise AssignError(notice)


def _audit_assign(session: Session, actor: User, a: Assignment, reviewer: User, how: str) -> None:
    audit.record(session, "assign", user=actor, object_type="assignment", object_id=a.id,
                 detail={"year": a.year, "reviewer": reviewer.username, "unit": a.unit_code,
                         "indicator": a.indicator_no, "how": how})


# ── spread evenly ───────────────────────────────────────────────────────────

@dataclass
class Plan:
    year: int
    rows: list[tuple[int, str, int]] = field(default_factory=list)  # (reviewer_id, unit, indicator) to add
    unfilled: list[tuple[str, int, int]] = field(default_factory=list)  # (unit, indicator, reviewers missing)
    load: dict[int, int] = field(default_factory=dict)  # reviewer → items after applying (whole year)

    @property
    def fingerprint(self) -> str:
        text = f"{self.year}|" + ";".join(f"{r}:{u}:{n}" for r, u, n in sorted(self.rows))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_spread(reviewers: list[int], items: list[tuple[str, int]], per_item: int, cap: int,
                conflicts: dict[int, set[str]], existing: list[tuple[int, str, int]], year: int = 0) -> Plan:
    """Give each (unit, indicator) item `per_item` reviewers, never more than `cap` items each.

    Pure function so it can be checked against random inputs. Greedy, in rounds: the
    most constrained items first, each to the least-loaded eligible reviewer, preferring
    one already reading that unit's evidence. Existing assignments count towards
    both the item's reviewers and the reviewer's load.
    """
    if per_item < 1 or cap < 1:
        raise AssignError("每项评审人数和每人上限都至少为 1。")
    load = Counter({r: 0 for r in reviewers})
    on_item: dict[tuple[str, int], set[int]] = defaultdict(set)
    units_of: dict[int, set[str]] = defaultdict(set)
    for r, unit, no in existing:
        load[r] += 1
        on_item[(unit, no)].add(r)
        units_of[r].add(unit)

    def eligible(item):
        return [r for r in reviewers if item[0] not in conflicts.get(r, set()) and r not in on_item[item]]

    plan = Plan(year=year)
    ordered = sorted(set(items), key=lambda it: (len(eligible(it)), it))
    # Rounds: every item gets its first reviewer before any gets a second, so a tight cap
    # leaves items short of their full panel rather than leaving some items with nobody.
    for wanted in range(1, per_item + 1):
        for item in ordered:
            if len(on_item[item]) >= wanted:
                continue
            candidates = [r for r in eligible(item) if load[r] < cap]
            if not candidates:
                continue
            chosen = min(candidates, key=lambda r: (load[r], item[0] not in units_of[r], r))
            load[chosen] += 1
            on_item[item].add(chosen)
            units_of[chosen].add(item[0])
            plan.rows.append((chosen, item[0], item[1]))
    for item in ordered:
        missing = per_item - len(on_item[item])
        if missing > 0:
            plan.unfilled.append((item[0], item[1], missing))
    plan.load = dict(load)
    return plan


def plan_for_year(session: Session, year: int, unit_codes: list[str], indicator_nos: list[int], per_item: int,
                  cap: int) -> Plan:
    active = select(User).where(User.role == "reviewer", User.active == True)  # noqa: E712
    reviewers = [u.id for u in session.exec(active.order_by(User.id))]
    if not reviewers:
        raise AssignError("还没有评审专家账号，无法分配。")
    existing = [(a.reviewer_id, a.unit_code, a.indicator_no)
                for a in session.exec(select(Assignment).where(Assignment.year == year))]
    items = [(u, n) for u in unit_codes for n in indicator_nos]
    return plan_spread(reviewers, items, per_item, cap, conflicts_by_reviewer(session), existing, year)


def apply_plan(session: Session, actor: User, plan: Plan, fingerprint: str) -> list[Assignment]:
    """All rows or none: a stale preview (someone changed assignments meanwhile) is refused."""
    if actor.role != "office":
        raise AssignError("只有协调小组办公室可以分配评审任务。")
    ensure_open(session, plan.year)
    if fingerprint != plan.fingerprint:
        raise AssignError("预览之后分配情况已有变化，请重新预览后再确认。")
    conflicts = conflicts_by_reviewer(session)
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_({r for r, _, _ in plan.rows})))}
    created = []
    for reviewer_id, unit, no in plan.rows:
        if unit in conflicts.get(reviewer_id, set()):  # defence in depth: the plan never proposes this
            raise AssignError(f"{unit_name(unit)}与评审专家存在回避关系，不能分配。")
        a = Assignment(year=plan.year, reviewer_id=reviewer_id, unit_code=unit, indicator_no=no, created_by=actor.id)
        session.add(a)
        created.append(a)
    session.flush()
    for a in created:
        _audit_assign(session, actor, a, users[a.reviewer_id], "spread")
    return created


def assignments_of(session: Session, year: int, reviewer_id: int | None = None) -> list[Assignment]:
    query = select(Assignment).where(Assignment.year == year)
    if reviewer_id is not None:
        query = query.where(Assignment.reviewer_id == reviewer_id)
    return list(session.exec(query.order_by(Assignment.unit_code, Assignment.indicator_no, Assignment.reviewer_id)))


def is_assigned(session: Session, reviewer: User, year: int, unit_code: str, indicator_no: int) -> bool:
    return session.exec(select(Assignment.id).where(
        Assignment.year == year, Assignment.reviewer_id == reviewer.id, Assignment.unit_code == unit_code,
        Assignment.indicator_no == indicator_no)).first() is not None
