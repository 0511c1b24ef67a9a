"""The yearly round: dashboard, self-assessment, spot-check, categories and the outputs."""
from __future__ import annotations

from collections import Counter
from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from evidence.models import CategoryDecision, Round, User, utcnow
from review.links import passage_choices
from rounds import workflow as R
from rounds.self_assessment import SelfAssessmentAccessError, form_state, read_self_assessment
from rubrics.units import resolve_units, unit_name

from .. import self_assessment_form as F
from ..security import Forbidden, require_role
from ..web import (DOCX, XLSX, db, generated_download, highlight_terms, local_time, redirect_with_message, render,
                   user_of)
from .evidence import open_index_or_none

router = APIRouter()


def _date(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise R.RoundError(f"{label}的日期格式不对（应为 2024-02-29 这样的格式）：{value}") from None


# ── Office: rounds and the dashboard ────────────────────────────────────────

@router.get("/rounds")
def rounds_list(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    return _rounds_page(request, session)


def _rounds_page(request: Request, session: Session, status_code: int = 200, typed: str | None = None, **extra):
    rounds = session.exec(select(Round).order_by(Round.year.desc())).all()
    next_year = typed if typed is not None else (rounds[0].year + 1 if rounds else date.today().year - 1)
    return render(request, "rounds/list.html", status_code=status_code, rounds=rounds, next_year=next_year, **extra)


@router.post("/rounds")
async def rounds_create(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    typed = str(form.get("year", ""))[:20]
    try:
        year = int(typed)
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        return _rounds_page(request, session, 400, typed, error="年度应为四位数字，如 2024。")
    try:
        R.create_round(session, year, user)
        session.commit()
    except R.RoundError as exc:
        session.rollback()
        return _rounds_page(request, session, 400, typed, error=str(exc))
    return redirect_with_message(request, f"/rounds/{year}", f"已创建 {year} 年度评价。")


@router.get("/rounds/{year}")
def round_dashboard(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    from rounds.status import dashboard
    return render(request, "rounds/dashboard.html", draft={}, **dashboard(session, year))


def _refused(request: Request, session: Session, year: int, page: str, error: str, form) -> Response:
    """A refused office form of the round: the page again (400) with the reason on top and every field as it
    was typed (`draft`), nothing stored; a success still redirects (a reload never posts twice)."""
    session.rollback()
    from rounds import status
    context = status.dashboard(session, year) if page == "dashboard" else status.spotcheck_page(session, year)
    draft = {key: str(value) for key, value in form.items() if key != "csrf_token"}
    return render(request, f"rounds/{page}.html", status_code=400, error=error, draft=draft, **context)


@router.post("/rounds/{year}/settings")
async def round_settings(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    try:
        rnd = R.open_round(session, year)
        for field, label in (("self_assessment_due", "自评截止"), ("spotcheck_due", "抽查名单"),
                             ("review_due", "评审完成"), ("upload_due", "证据提交截止")):
            value = _date(form.get(field), label)
            if value or field == "upload_due":
                setattr(rnd, field, value)
        from rounds.categories import CategoryError, validate_thresholds
        raw = {k: form.get(f"t_{k}") for k in ("优秀", "良好", "一般")}
        try:
            thresholds = {k: float(v) for k, v in raw.items() if v not in (None, "")}
            validate_thresholds(thresholds)
        except (ValueError, CategoryError) as exc:
            raise R.RoundError(f"类别分数线无效：{exc}") from None
        rnd.category_thresholds = thresholds
    except R.RoundError as exc:
        return _refused(request, session, year, "dashboard", str(exc), form)
    from evidence.audit import record
    record(session, "round", user=user, object_type="round", object_id=year,
           detail={"settings": {k: str(v) for k, v in form.items() if k != "csrf_token"}})
    session.commit()
    return redirect_with_message(request, f"/rounds/{year}", "已保存。")


@router.post("/rounds/{year}/close")
def round_close(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    """结束本年度评价: every record of the year becomes read-only (review/year_lock.py)."""
    require_role(user, "office")
    try:
        R.close_round(session, user, year)
    except R.RoundError as exc:
        session.rollback()
        return redirect_with_message(request, f"/rounds/{year}", str(exc), "error")
    session.commit()
    return redirect_with_message(request, f"/rounds/{year}", f"{year} 年度评价已结束，该年度的各项记录已定稿，只能查看。")


@router.post("/rounds/{year}/reopen")
def round_reopen(year: int, request: Request, reason: str = Form(""), user: User = Depends(user_of),
                 session: Session = Depends(db)):
    require_role(user, "office")
    try:
        R.reopen_round(session, user, year, reason)
    except R.RoundError as exc:
        return _refused(request, session, year, "dashboard", str(exc), {"reason": reason})
    session.commit()
    return redirect_with_message(request, f"/rounds/{year}", f"{year} 年度评价已重新开放，可以继续修改。")


# ── Province: self-assessment ───────────────────────────────────────────────

def _self_form_page(request: Request, state, *, values: dict | None = None, problems: dict | None = None,
                    error: str = "", status_code: int = 200):
    """The form, showing the stored values or (after a refusal) what was typed, with each problem beside
    its field."""
    shown = F.stored_values(state.system, state.sa, state.items)
    shown.update(values or {})
    context = {"error": error} if error else {}
    return render(request, "rounds/self_assessment.html", status_code=status_code, state=state, rnd=state.rnd,
                  sa=state.sa, system=state.system, values=shown, problems=F.problems_by_field(problems or {}),
                  problem_nos={key[1] for key in (problems or {}) if len(key) > 1},
                  categories=R.CATEGORY_ORDER, locked=state.locked, closed=state.closed, **context)


def _no_round(year: int):
    raise R.RoundError(f"{year} 年度的评价尚未建立。")


@router.get("/self-assessment")
def self_assessment_form(request: Request, year: int | None = None, user: User = Depends(user_of),
                         session: Session = Depends(db)):
    require_role(user, "province")
    state = form_state(session, user.unit_code, year)
    if state is None:
        return render(request, "rounds/no_round.html")
    return _self_form_page(request, state)


def _save_posted(session: Session, user: User, year: int, form) -> tuple[dict[tuple, str], str]:
    """Read the post and store it as the draft. Returns the problems by field and a problem of the whole
    (locked, past the deadline …); nothing is stored when there is either."""
    try:
        posted = F.read(R.system_for(R.get_round(session, year)), form)
        R.save_self_assessment(session, user, year, **posted.save_arguments())
    except R.SelfAssessmentInvalid as exc:
        session.rollback()
        return exc.problems, ""
    except R.RoundError as exc:
        session.rollback()
        return {}, str(exc)
    session.commit()
    return {}, ""


@router.post("/self-assessment/{year}")
async def self_assessment_save(year: int, request: Request, user: User = Depends(user_of),
                               session: Session = Depends(db)):
    """保存草稿, or 提交并锁定… which saves and then asks for confirmation (nothing is locked here)."""
    require_role(user, "province")
    form = await request.form()
    problems, error = _save_posted(session, user, year, form)
    if problems or error:
        state = form_state(session, user.unit_code, year) or _no_round(year)
        return _self_form_page(request, state, values=F.typed_values(form), problems=problems, status_code=400,
                               error=error or f"有 {len(problems)} 处填写需要修改，已在下方标出；本次未保存，您填写的内容都还在。")
    if form.get("action") in ("review", "submit"):
        return RedirectResponse(f"/self-assessment/{year}/confirm", status_code=303)
    return redirect_with_message(request, f"/self-assessment?year={year}", "已保存草稿。")


@router.post("/self-assessment/{year}/autosave")
async def self_assessment_autosave(year: int, request: Request, user: User = Depends(user_of),
                                   session: Session = Depends(db)):
    """The form saves itself as the user types (htmx, debounced): the answer is the status line, the
    progress and the problems by field; the page keeps what was typed whatever happens."""
    require_role(user, "province")
    form = await request.form()
    problems, error = _save_posted(session, user, year, form)
    state = form_state(session, user.unit_code, year) or _no_round(year)
    return render(request, "rounds/_autosave.html", state=state, system=state.system, error=error,
                  problems=F.problems_by_field(problems), saved_at=local_time(utcnow(), "%H:%M:%S"),
                  relist=bool(form.getlist("unlink")))


@router.get("/self-assessment/{year}/confirm")
def self_assessment_confirm(year: int, request: Request, user: User = Depends(user_of),
                            session: Session = Depends(db)):
    """The confirmation step before locking: what will be submitted, what is still empty."""
    require_role(user, "province")
    state = form_state(session, user.unit_code, year) or _no_round(year)
    if state.locked:
        return redirect_with_message(request, f"/self-assessment?year={year}", "自评已提交并锁定。")
    return render(request, "rounds/self_confirm.html", state=state, rnd=state.rnd, sa=state.sa, system=state.system)


@router.post("/self-assessment/{year}/submit")
async def self_assessment_submit(year: int, request: Request, user: User = Depends(user_of),
                                 session: Session = Depends(db)):
    require_role(user, "province")
    form = await request.form()
    try:
        R.submit_self_assessment(session, user, year, confirmed=str(form.get("fingerprint", "")))
        session.commit()
    except R.RoundError as exc:
        session.rollback()
        return redirect_with_message(request, f"/self-assessment/{year}/confirm", str(exc), "error")
    return redirect_with_message(request, f"/self-assessment?year={year}", "自评已提交并锁定。")


@router.get("/self-assessment/{year}/passages")
def self_assessment_passages(year: int, request: Request, no: int, q: str = "", user: User = Depends(user_of),
                             session: Session = Depends(db)):
    """The passage picker: the unit's own evidence of the year, searched or suggested for indicator `no`."""
    require_role(user, "province")
    indicator = R.system_for(R.get_round(session, year)).get(no)
    session.commit()  # hand the connection back while the index is queried
    choices, note = passage_choices(session, user.unit_code, year, q, indicator_no=no,
                                    index=open_index_or_none(request) if q.strip() else None)
    fragment = bool(request.headers.get("hx-request"))
    return render(request, "rounds/_picker.html" if fragment else "rounds/picker_page.html", year=year,
                  indicator=indicator, q=q, choices=choices, note=note, terms=highlight_terms(q))


@router.post("/self-assessment/{year}/links")
async def self_assessment_link(year: int, request: Request, user: User = Depends(user_of),
                               session: Session = Depends(db)):
    """关联 in the picker: one passage to one indicator; htmx gets the indicator's updated list."""
    require_role(user, "province")
    form = await request.form()
    no, passage = str(form.get("no", "")), str(form.get("passage", ""))
    if not (no.isdigit() and passage.isdigit() and len(no) < 4 and len(passage) < 12):
        raise R.RoundError("证据关联的格式不对，请刷新页面后重试。")
    R.link_self_evidence(session, user, year, int(no), int(passage))
    session.commit()
    if not request.headers.get("hx-request"):
        return redirect_with_message(request, f"/self-assessment?year={year}#ind-{no}", "已关联证据。")
    state = form_state(session, user.unit_code, year)
    return render(request, "rounds/_self_links.html", no=int(no), links=state.links.get(int(no), []), titles=state.titles,
                  locked=state.locked, oob=False)


@router.get("/rounds/{year}/self/{unit_code}")
def self_assessment_reading(year: int, unit_code: str, request: Request, user: User = Depends(user_of),
                            session: Session = Depends(db)):
    """A unit's self-assessment to read and print: the office any unit, a reviewer the units assigned to
    them (not conflicted), a province its own."""
    reading = _readable(session, user, year, unit_code)
    return render(request, "rounds/self_reading.html", r=reading, year=year)


@router.get("/rounds/{year}/self/{unit_code}/export.docx")
def self_assessment_docx(year: int, unit_code: str, request: Request, user: User = Depends(user_of),
                         session: Session = Depends(db)):
    from rounds.outputs import write_self_assessment
    reading = _readable(session, user, year, unit_code)
    return generated_download(f"{reading.unit_name}{year}年度自评{_demo_mark(session, year)}.docx",
                              lambda out: write_self_assessment(session, reading, out), DOCX)


def _readable(session: Session, user: User, year: int, unit_code: str):
    try:
        return read_self_assessment(session, user, year, unit_code)
    except SelfAssessmentAccessError as exc:
        raise Forbidden(str(exc)) from None


@router.post("/rounds/{year}/self/{unit_code}/reopen")
async def self_assessment_reopen(year: int, unit_code: str, request: Request, user: User = Depends(user_of),
                                 session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    try:
        R.reopen_self_assessment(session, user, year, unit_code, str(form.get("reason", "")))
        session.commit()
    except R.RoundError as exc:
        return _refused(request, session, year, "dashboard", str(exc), form)
    return redirect_with_message(request, f"/rounds/{year}", f"已退回{unit_name(unit_code)}的自评。")


# ── Office: spot-check ──────────────────────────────────────────────────────

def _typed_units(text) -> list[str]:
    """Units as the office types them — 江苏、上海, 江苏省, JS, separated any way — as codes."""
    codes, unknown = resolve_units(str(text or ""))
    if unknown:
        raise R.RoundError(f"无法识别的单位：{'、'.join(unknown)}（请填写单位名称，如 江苏、上海）。")
    return codes


@router.get("/rounds/{year}/spotcheck")
def spotcheck_page(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    from rounds.status import spotcheck_page as page
    return render(request, "rounds/spotcheck.html", draft={}, **page(session, year))


@router.post("/rounds/{year}/spotcheck")
async def spotcheck_action(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    action = form.get("action")
    try:
        if action == "propose":
            seed = form.get("seed")
            basis = form.get("change_basis") or "previous_category"
            if basis not in ("previous_category", "previous_self_category"):
                raise R.RoundError("未知的“类别变化”口径。")
            if seed and not str(seed).isdigit():
                raise R.RoundError("随机种子应为非负整数。")
            R.propose_spotcheck(session, user, year, seed=int(seed) if seed else None, change_basis=basis)
            message = "已生成抽查名单（建议）。"
        else:
            sc = R.current_spotcheck(session, year)
            if sc is None:
                raise R.RoundError("尚未生成抽查名单。")
            if action == "override":
                R.override_spotcheck(session, user, sc, add=_typed_units(form.get("add")),
                                     remove=_typed_units(form.get("remove")), reason=str(form.get("reason", "")))
                message = "已调整抽查名单。"
            elif action == "approve":
                approved = _date(form.get("approved_at"), "审定日期") or date.today()
                R.approve_spotcheck(session, user, sc, approved, str(form.get("meeting", "")))
                message = "抽查名单已审定。"
            else:
                raise R.RoundError("未知操作。")
        session.commit()
    except (R.RoundError, ValueError) as exc:
        return _refused(request, session, year, "spotcheck", str(exc), form)
    return redirect_with_message(request, f"/rounds/{year}/spotcheck", message)


# ── Office: categories and outputs ──────────────────────────────────────────

@router.post("/rounds/{year}/categories")
async def categories_decide(year: int, request: Request, user: User = Depends(user_of),
                            session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    adjustments = {k[4:]: v for k, v in form.items() if k.startswith("adj_") and v}
    try:
        outcome = R.decide_categories(session, user, year, adjustments, note=str(form.get("note", "")))
        session.commit()
    except R.RoundError as exc:
        return _refused(request, session, year, "dashboard", str(exc), form)
    return redirect_with_message(request, f"/rounds/{year}", outcome.message())


@router.get("/rounds/{year}/report.docx")
def report_download(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    from rounds.outputs import write_year_report
    return generated_download(f"{year}年度专报{_demo_mark(session, year)}.docx",
                              lambda out: write_year_report(session, year, out), DOCX)


@router.get("/rounds/{year}/scores.xlsx")
def scores_download(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    from rounds.outputs import write_score_table
    return generated_download(f"{year}年度评分表{_demo_mark(session, year)}.xlsx",
                              lambda out: write_score_table(session, year, out), XLSX)


def _demo_mark(session: Session, year: int) -> str:
    """Files made from demo data say so in their name, before anyone opens them."""
    return "（演示数据）" if R.get_round(session, year).is_demo else ""


# ── Charts on the web pages (the 专报 carries the same ones as PNG) ─────────

def _svg(svg: str) -> Response:
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/rounds/{year}/charts/categories.svg")
def chart_categories(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    from reports.charts import year_over_year
    count = lambda y: dict(Counter(c.category for c in session.exec(
        select(CategoryDecision).where(CategoryDecision.year == y))))
    return _svg(year_over_year(count(year), count(year - 1), year=year, fmt="svg"))


@router.get("/rounds/{year}/charts/radar/{unit_code}.svg")
def chart_radar(year: int, unit_code: str, request: Request, user: User = Depends(user_of),
                session: Session = Depends(db)):
    require_role(user, "office")
    from reports.charts import radar
    from rounds.status import radar as radar_data
    data = radar_data(session, year, unit_code)
    return _svg(radar(data["own"], maxima=data["maxima"], reference=data["average"], label=data["name"],
                      title=f"{data['name']} {year} 年度一级指标得分率", fmt="svg"))
