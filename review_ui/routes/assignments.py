"""Assignments and conflicts: the office assigns by hand or spreads evenly (preview, then apply);
reviewers declare their own conflicts, the office pins conflicts a reviewer cannot lift."""
from __future__ import annotations

import re
from collections import Counter, defaultdict

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from review import assign as A
from evidence.models import Assignment, Conflict, Unit, User
from review.ratings import system_for_year
from review.year_lock import closed_notice
from rubrics.units import in_national_order, national_rank, unit_name

from ..security import Forbidden, require_role
from ..web import db, redirect_with_message, render, user_of
from ..web import default_year
from .scoring import to_int

router = APIRouter()


def parse_numbers(raw: str) -> list[int]:
    """'1,2,5-9' (also 、，；and spaces) → [1, 2, 5, 6, 7, 8, 9]. A part that is not a number or a range
    is refused with its text, never dropped: the office must get what it typed or be told why not."""
    numbers: set[int] = set()
    bad: list[str] = []
    for part in re.split(r"[,，、;；\s]+", raw.strip()):
        if not part:
            continue
        plain = part.replace("－", "-").replace("—", "-").replace("–", "-").replace("~", "-").replace("～", "-")
        lo, dash, hi = plain.partition("-")
        if dash and lo.isdigit() and hi.isdigit() and int(lo) <= int(hi) <= int(lo) + 200:
            numbers.update(range(int(lo), int(hi) + 1))
        elif not dash and plain.isdigit() and len(plain) <= 4:
            numbers.add(int(plain))
        else:
            bad.append(part[:20])
    if bad:
        raise A.AssignError(f"指标编号“{'、'.join(bad[:5])}”看不懂：请填写指标的数字编号，用逗号分隔，"
                            f"连续的可写成范围，如 1,2,5-9。")
    return sorted(numbers)


def compress(numbers: list[int]) -> str:
    """[1, 2, 3, 7] → '1–3、7' for compact tables."""
    out, run = [], []
    for n in sorted(numbers):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(f"{run[0]}–{run[-1]}" if len(run) > 2 else "、".join(map(str, run)))
        run = [n]
    if run:
        out.append(f"{run[0]}–{run[-1]}" if len(run) > 2 else "、".join(map(str, run)))
    return "、".join(out)


def rated_numbers(year: int) -> list[int]:
    return [i.no for i in system_for_year(year).rated_indicators()]


def page_context(session: Session, year: int) -> dict:
    reviewers = list(session.exec(select(User).where(User.role == "reviewer").order_by(User.username)))
    units = in_national_order(session.exec(select(Unit)).all())
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    load: Counter = Counter()
    for a in A.assignments_of(session, year):
        groups[(a.reviewer_id, a.unit_code)].append(a.indicator_no)
        load[a.reviewer_id] += 1
    by_id = {u.id: u for u in reviewers}
    rows = [{"reviewer": by_id.get(r), "reviewer_id": r, "unit": u, "count": len(nos), "numbers": compress(nos)}
            for (r, u), nos in sorted(groups.items(), key=lambda kv: (by_id[kv[0][0]].username if kv[0][0] in by_id
                                                                       else "", national_rank(kv[0][1])))]
    conflicts = [{"conflict": c, "reviewer": by_id.get(c.user_id)} for c in conflicts_in_order(session)
                 if c.user_id in by_id]
    return {"year": year, "reviewers": reviewers, "units": units, "rows": rows, "load": load,
            "conflicts": conflicts, "kinds": A.CONFLICT_KINDS, "rated": rated_numbers(year),
            "default_per_item": A.DEFAULT_PER_ITEM, "default_cap": A.DEFAULT_CAP, "plan": None, "message": "",
            "error": "", "spread_form": {}, "hand_form": {}, "conflict_form": {}, "confirm_conflict": None,
            "closed": closed_notice(session, year)}


def show(request: Request, session: Session, year: int, status_code: int = 200, **extra):
    context = page_context(session, year)
    context.update(extra)
    return render(request, "assignments/index.html", status_code=status_code, **context)


@router.get("/admin/assignments")
def assignments_page(request: Request, year: str = "", done: str = "", user: User = Depends(user_of),
                     session: Session = Depends(db)):
    require_role(user, "office")
    year_no = to_int(year) or default_year(session)
    return show(request, session, year_no, message={"hand": "已分配。", "spread": "已按预览结果完成分配。",
                                                     "removed": "已取消分配。", "conflict": "已登记回避。",
                                                     "lifted": "已撤销回避。"}.get(done, ""))


def chosen_reviewer(session: Session, reviewer_id: str) -> User:
    """The reviewer picked in an office form."""
    reviewer = session.get(User, to_int(reviewer_id) or 0)
    if reviewer is None:
        raise A.AssignError("请选择评审专家。")
    return reviewer


def office_change(request: Request, session: Session, year_no: int, done: str, change, **form):
    """Run one change of the office's forms: committed and back to the page with its message, or
    refused with the reason on the page, nothing changed and the form as it was typed."""
    try:
        message = change()
        session.commit()
    except A.AssignError as exc:
        session.rollback()
        return show(request, session, year_no, status_code=400, error=str(exc), **form)
    if isinstance(message, str):
        return redirect_with_message(request, f"/admin/assignments?year={year_no}", message)
    return RedirectResponse(f"/admin/assignments?year={year_no}&done={done}", status_code=303)


@router.post("/admin/assignments")
def assign_by_hand(request: Request, year: str = Form(""), reviewer_id: str = Form(""), unit: str = Form(""),
                   indicators: str = Form(""), user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    year_no = to_int(year) or default_year(session)

    def change():
        rated = set(rated_numbers(year_no))
        numbers = parse_numbers(indicators) if indicators.strip() else sorted(rated)
        A.assign(session, user, year_no, chosen_reviewer(session, reviewer_id), unit, numbers, rated)
    return office_change(request, session, year_no, "hand", change,
                         hand_form={"reviewer_id": reviewer_id, "unit": unit, "indicators": indicators})


def _spread_inputs(session: Session, year: str, units: list[str], indicators: str, per_item: str, cap: str):
    year_no = to_int(year) or default_year(session)
    known = {u.code for u in session.exec(select(Unit))}
    chosen = sorted(set(units) & known)
    rated = rated_numbers(year_no)
    form = {"units": chosen, "indicators": indicators, "per_item": to_int(per_item) or A.DEFAULT_PER_ITEM,
            "cap": to_int(cap) or A.DEFAULT_CAP}
    return year_no, chosen, rated, form


def _spread_numbers(indicators: str, rated: list[int]) -> list[int]:
    """The indicators to spread: those typed (each must be one reviewers rate), or all rated ones."""
    if not indicators.strip():
        return rated
    numbers = parse_numbers(indicators)
    wrong = sorted(set(numbers) - set(rated))
    if wrong:
        raise A.AssignError(f"指标 {'、'.join(map(str, wrong))} 不是需要评审评档的指标（只分配定性和混合指标）。")
    return numbers


@router.post("/admin/assignments/preview")
def preview_spread(request: Request, year: str = Form(""), units: list[str] = Form(default=[]),
                   indicators: str = Form(""), per_item: str = Form(""), cap: str = Form(""),
                   user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    year_no, chosen, rated, form = _spread_inputs(session, year, units, indicators, per_item, cap)
    try:
        if not chosen:
            raise A.AssignError("请至少选择一个单位。")
        numbers = _spread_numbers(indicators, rated)
        plan = A.plan_for_year(session, year_no, chosen, numbers, form["per_item"], form["cap"])
    except A.AssignError as exc:
        return show(request, session, year_no, status_code=400, error=str(exc), spread_form=form)
    return show(request, session, year_no, plan=plan_view(session, plan), spread_form=form)


def plan_view(session: Session, plan: A.Plan) -> dict:
    users = {u.id: u for u in session.exec(select(User).where(User.role == "reviewer"))}
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for r, unit, no in plan.rows:
        groups[(r, unit)].append(no)
    plan.unfilled.sort(key=lambda row: (national_rank(row[0]), row[1]))
    return {"plan": plan, "fingerprint": plan.fingerprint, "users": users,
            "groups": [{"reviewer": users.get(r), "unit": u, "count": len(nos), "numbers": compress(nos)}
                       for (r, u), nos in sorted(groups.items(), key=lambda kv: (kv[0][0], national_rank(kv[0][1])))],
            "unfilled": plan.unfilled, "load": sorted(plan.load.items(), key=lambda kv: -kv[1])}


@router.post("/admin/assignments/apply")
def apply_spread(request: Request, year: str = Form(""), units: list[str] = Form(default=[]),
                 indicators: str = Form(""), per_item: str = Form(""), cap: str = Form(""),
                 fingerprint: str = Form(""), user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    year_no, chosen, rated, form = _spread_inputs(session, year, units, indicators, per_item, cap)
    try:
        numbers = _spread_numbers(indicators, rated)
        plan = A.plan_for_year(session, year_no, chosen, numbers, form["per_item"], form["cap"])
        A.apply_plan(session, user, plan, fingerprint)
        session.commit()
    except A.AssignError as exc:
        session.rollback()
        return show(request, session, year_no, status_code=409, error=str(exc), spread_form=form)
    return RedirectResponse(f"/admin/assignments?year={year_no}&done=spread", status_code=303)


@router.post("/admin/assignments/remove")
def remove(request: Request, year: str = Form(""), reviewer_id: str = Form(""), unit: str = Form(""),
           user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    year_no = to_int(year) or default_year(session)
    rows = session.exec(select(Assignment).where(Assignment.year == year_no,
                                                 Assignment.reviewer_id == (to_int(reviewer_id) or 0),
                                                 Assignment.unit_code == unit)).all()

    def change():
        for a in rows:
            A.unassign(session, user, a)
    return office_change(request, session, year_no, "removed", change)


# ── conflicts ───────────────────────────────────────────────────────────────

@router.post("/admin/conflicts")
def pin_conflict(request: Request, year: str = Form(""), reviewer_id: str = Form(""), unit: str = Form(""),
                 reason: str = Form(""), confirm: str = Form(""), user: User = Depends(user_of),
                 session: Session = Depends(db)):
    """A conflict the office pins. It cancels the reviewer's tasks for that unit, so when there are any
    the office is first shown which, and confirms."""
    require_role(user, "office")
    year_no = to_int(year) or default_year(session)
    form = {"reviewer_id": reviewer_id, "unit": unit, "reason": reason}

    def change():
        reviewer = chosen_reviewer(session, reviewer_id)
        cancelled = A.assignments_in_unit(session, reviewer.id, unit)
        if cancelled and confirm != "1":
            raise ConfirmFirst(reviewer, cancelled)
        A.declare_conflict(session, user, reviewer, unit, reason)
        return conflict_message(reviewer, unit, cancelled)
    try:
        return office_change(request, session, year_no, "conflict", change, conflict_form=form)
    except ConfirmFirst as ask:
        session.rollback()
        return show(request, session, year_no, conflict_form=form,
                    confirm_conflict={"reviewer": ask.reviewer, "unit": unit, "tasks": describe_tasks(ask.tasks),
                                      "count": len(ask.tasks)})


class ConfirmFirst(Exception):
    """Registering this conflict would cancel tasks: ask before doing it."""

    def __init__(self, reviewer: User, tasks: list[Assignment]):
        super().__init__()
        self.reviewer, self.tasks = reviewer, tasks


def describe_tasks(tasks: list[Assignment]) -> str:
    """'2026 年度指标 1–3、7' per year."""
    by_year: dict[int, list[int]] = defaultdict(list)
    for a in tasks:
        by_year[a.year].append(a.indicator_no)
    return "；".join(f"{y} 年度指标 {compress(nos)}" for y, nos in sorted(by_year.items()))


def conflict_message(reviewer: User, unit: str, cancelled: list[Assignment]) -> str:
    who = reviewer.display_name or reviewer.username
    done = f"已登记{who}对{unit_name(unit)}的回避"
    if cancelled:
        return f"{done}，并取消了其在该单位的 {len(cancelled)} 项评审任务（{describe_tasks(cancelled)}）。"
    return done + "。"


def conflicts_in_order(session: Session, reviewer_id: int | None = None) -> list[Conflict]:
    """Conflicts by reviewer, each reviewer's units in the national order."""
    return sorted(A.conflicts_of(session, reviewer_id), key=lambda c: (c.user_id, national_rank(c.unit_code)))


def conflicts_page(request: Request, session: Session, user: User, status_code: int = 200, error: str = ""):
    return render(request, "assignments/conflicts.html", status_code=status_code, error=error,
                  conflicts=conflicts_in_order(session, user.id), units=in_national_order(session.exec(select(Unit)).all()),
                  kinds=A.CONFLICT_KINDS)


@router.get("/conflicts")
def my_conflicts(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "reviewer", "office")
    if user.role == "office":
        return RedirectResponse("/admin/assignments#conflicts", status_code=303)
    return conflicts_page(request, session, user)


@router.post("/conflicts")
def declare(request: Request, unit: str = Form(""), reason: str = Form(""), user: User = Depends(user_of),
            session: Session = Depends(db)):
    require_role(user, "reviewer")
    try:
        cancelled = A.assignments_in_unit(session, user.id, unit)
        A.declare_conflict(session, user, user, unit, reason)
        session.commit()
    except A.AssignError as exc:
        session.rollback()
        return conflicts_page(request, session, user, status_code=400, error=str(exc))
    return redirect_with_message(request, "/conflicts", conflict_message(user, unit, cancelled))


@router.post("/conflicts/{conflict_id}/lift")
def lift(request: Request, conflict_id: int, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "reviewer", "office")
    conflict = session.get(Conflict, conflict_id)
    if conflict is None or (user.role == "reviewer" and conflict.user_id != user.id):
        raise Forbidden("回避记录不存在或您无权撤销。")
    try:
        A.lift_conflict(session, user, conflict)
        session.commit()
    except A.AssignError as exc:
        raise Forbidden(str(exc)) from None
    return RedirectResponse("/conflicts" if user.role == "reviewer" else "/admin/assignments?done=lifted",
                            status_code=303)
