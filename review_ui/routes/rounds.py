"""The yearly round: dashboard, self-assessment, spot-check, categories and the outputs."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from collections import Counter

from fastapi.responses import Response
from sqlmodel import Session, select

from rounds import workflow as R
from review.links import links_of, unit_passages
from evidence.models import CategoryDecision, Round, Unit, User

from ..security import require_role
from ..web import DOCX, XLSX, db, generated_download, redirect_with_message, render, user_of

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
    rounds = session.exec(select(Round).order_by(Round.year.desc())).all()
    return render(request, "rounds/list.html", rounds=rounds, next_year=(rounds[0].year + 1 if rounds else date.today().year - 1))


@router.post("/rounds")
async def rounds_create(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    try:
        year = int(form.get("year", ""))
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        return redirect_with_message(request, "/rounds", "年度应为四位数字，如 2024。", "error")
    try:
        R.create_round(session, year, user)
        session.commit()
    except R.RoundError as exc:
        return redirect_with_message(request, "/rounds", str(exc), "error")
    return redirect_with_message(request, f"/rounds/{year}", f"已创建 {year} 年度评价。")


@router.get("/rounds/{year}")
def round_dashboard(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    from rounds.status import dashboard
    return render(request, "rounds/dashboard.html", **dashboard(session, year))


@router.post("/rounds/{year}/settings")
async def round_settings(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    rnd = R.get_round(session, year)
    form = await request.form()
    try:
        for field, label in (("self_assessment_due", "自评截止"), ("spotcheck_due", "抽查名单"),
                             ("review_due", "评审完成"), ("upload_due", "证据上传截止")):
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
        session.rollback()
        return redirect_with_message(request, f"/rounds/{year}", str(exc), "error")
    from evidence.audit import record
    record(session, "round", user=user, object_type="round", object_id=year,
           detail={"settings": {k: str(v) for k, v in form.items() if k != "csrf_token"}})
    session.commit()
    return redirect_with_message(request, f"/rounds/{year}", "已保存。")


# ── Province: self-assessment ───────────────────────────────────────────────

@router.get("/self-assessment")
def self_assessment_form(request: Request, year: int | None = None, user: User = Depends(user_of),
                         session: Session = Depends(db)):
    require_role(user, "province")
    rnd = session.exec(select(Round).where(Round.year == year) if year else select(Round).order_by(Round.year.desc())).first()
    if rnd is None:
        return render(request, "rounds/no_round.html")
    sa = R.self_assessment(session, rnd.year, user.unit_code, create=False)
    items = R.self_items(session, sa)
    links = {no: links_of(session, "self_item", item.id) for no, item in items.items()}
    system = R.system_for(rnd)
    passages = unit_passages(session, user.unit_code, rnd.year)
    return render(request, "rounds/self_assessment.html", rnd=rnd, sa=sa, items=items, links=links, system=system,
                  passages=passages, categories=R.CATEGORY_ORDER, locked=sa.status == "submitted")


@router.post("/self-assessment/{year}")
async def self_assessment_save(year: int, request: Request, user: User = Depends(user_of),
                               session: Session = Depends(db)):
    require_role(user, "province")
    form = await request.form()
    rnd = R.get_round(session, year)
    system = R.system_for(rnd)
    levels, narratives, values = {}, {}, {}
    try:
        for ind in system.indicators:
            raw = form.get(f"level_{ind.no}")
            if raw not in (None, ""):
                try:
                    levels[ind.no] = int(raw)
                except ValueError:
                    raise R.RoundError(f"指标 {ind.no} 的自评等级应为数字。") from None
            text = form.get(f"narrative_{ind.no}")
            if text:
                narratives[ind.no] = str(text)[:5000]
            measures = {}
            for m in ind.measures:
                v, b = form.get(f"value_{ind.no}_{m.key}"), form.get(f"base_{ind.no}_{m.key}")
                if v not in (None, "") or b not in (None, ""):
                    try:
                        measures[m.key] = {"value": float(v) if v else None, "base_value": float(b) if b else None}
                    except ValueError:
                        raise R.RoundError(f"指标 {ind.no}“{m.label}”应填写数字。") from None
            if measures:
                values[ind.no] = measures
        sa = R.save_self_assessment(session, user, year, category=form.get("self_category") or None,
                                    report=str(form.get("report", ""))[:50000], levels=levels,
                                    narratives=narratives, values=values)
        links = []
        for key in form.getlist("link"):
            if not key:
                continue
            no, _, pid = str(key).partition(":")
            if not (no.isdigit() and pid.isdigit() and len(pid) < 12):
                raise R.RoundError("证据关联的格式不对，请刷新页面后重试。")
            links.append((int(no), int(pid)))
        R.link_self_evidence(session, user, sa, links)
        if form.get("action") == "submit":
            R.submit_self_assessment(session, user, year)
        session.commit()
    except (R.RoundError, KeyError) as exc:
        session.rollback()
        return redirect_with_message(request, f"/self-assessment?year={year}", str(exc).strip("'\""), "error")
    return redirect_with_message(request, f"/self-assessment?year={year}", "自评已提交并锁定。" if form.get("action") == "submit" else "已保存草稿。")


@router.post("/rounds/{year}/self/{unit_code}/reopen")
async def self_assessment_reopen(year: int, unit_code: str, request: Request, user: User = Depends(user_of),
                                 session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    try:
        R.reopen_self_assessment(session, user, year, unit_code, str(form.get("reason", "")))
        session.commit()
    except R.RoundError as exc:
        return redirect_with_message(request, f"/rounds/{year}", str(exc), "error")
    return redirect_with_message(request, f"/rounds/{year}", f"已退回 {unit_code} 的自评。")


# ── Office: spot-check ──────────────────────────────────────────────────────

@router.get("/rounds/{year}/spotcheck")
def spotcheck_page(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    rnd = R.get_round(session, year)
    sc = R.current_spotcheck(session, year)
    units = {u.code: u for u in session.exec(select(Unit).order_by(Unit.code))}
    return render(request, "rounds/spotcheck.html", rnd=rnd, sc=sc, units=units)


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
                split = lambda v: [c.strip().upper() for c in str(v or "").replace("，", ",").split(",") if c.strip()]
                R.override_spotcheck(session, user, sc, add=split(form.get("add")), remove=split(form.get("remove")),
                                     reason=str(form.get("reason", "")))
                message = "已调整抽查名单。"
            elif action == "approve":
                approved = _date(form.get("approved_at"), "审定日期") or date.today()
                R.approve_spotcheck(session, user, sc, approved, str(form.get("meeting", "")))
                message = "抽查名单已审定。"
            else:
                raise R.RoundError("未知操作。")
        session.commit()
    except (R.RoundError, ValueError) as exc:
        session.rollback()
        return redirect_with_message(request, f"/rounds/{year}/spotcheck", str(exc), "error")
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
        session.rollback()
        return redirect_with_message(request, f"/rounds/{year}", str(exc), "error")
    return redirect_with_message(request, f"/rounds/{year}", outcome.message())


@router.get("/rounds/{year}/report.docx")
def report_download(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    from rounds.outputs import write_year_report
    return generated_download(f"{year}年度专报.docx", lambda out: write_year_report(session, year, out), DOCX)


@router.get("/rounds/{year}/scores.xlsx")
def scores_download(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    from rounds.outputs import write_score_table
    return generated_download(f"{year}年度评分表.xlsx", lambda out: write_score_table(session, year, out), XLSX)


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
