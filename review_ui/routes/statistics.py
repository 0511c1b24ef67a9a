"""The office's statistics of a year: the template to download and import, the values per unit with
their source, corrections with a reason, and the confirmation of values flagged as implausible."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from evidence.models import User
from rounds import statistics_office as SO
from rounds.sheets import SheetRejected
from review.year_lock import closed_notice
from rounds.workflow import RoundError, get_round
from rubrics.units import resolve_unit

from ..security import client_ip, require_role
from ..web import XLSX, db, generated_download, redirect_with_message, render, user_of

router = APIRouter()


def _overview(request: Request, session: Session, year: int, status_code: int = 200, **extra):
    rows = SO.value_table(session, year)
    per_unit: dict[str, dict] = {}
    for r in rows:
        entry = per_unit.setdefault(r.unit_code, {"name": r.unit_name, "filled": 0, "total": 0, "flagged": 0})
        entry["total"] += 1
        entry["filled"] += r.value is not None
        entry["flagged"] += r.needs_confirmation
    return render(request, "statistics/overview.html", status_code=status_code, rnd=get_round(session, year),
                  per_unit=per_unit, flagged=[r for r in rows if r.needs_confirmation],
                  closed=closed_notice(session, year, SO.CLOSED), **extra)


@router.get("/rounds/{year}/statistics")
def statistics_page(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    return _overview(request, session, year)


@router.get("/rounds/{year}/statistics/template.xlsx")
def statistics_template(year: int, request: Request, filled: int = 0, user: User = Depends(user_of),
                        session: Session = Depends(db)):
    require_role(user, "office")
    get_round(session, year)
    name = f"{year}年度统计数据{'（含现有数值）' if filled else '填报模板'}.xlsx"
    return generated_download(name, lambda out: SO.write_statistics_template(session, year, out, bool(filled)), XLSX)


@router.post("/rounds/{year}/statistics/import")
async def statistics_import(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return redirect_with_message(request, f"/rounds/{year}/statistics", "请选择要导入的模板文件（.xlsx）。", "error")
    data = await upload.read()
    try:
        outcome = SO.import_statistics(session, user, year, data, upload.filename, ip=client_ip(request))
        session.commit()
    except SheetRejected as exc:
        session.rollback()
        return _overview(request, session, year, 422, rejected=exc)
    except RoundError as exc:
        session.rollback()
        return redirect_with_message(request, f"/rounds/{year}/statistics", str(exc), "error")
    return redirect_with_message(request, f"/rounds/{year}/statistics", outcome.message())


def _unit(unit: str) -> str:
    code = resolve_unit(unit)
    if code is None:
        raise RoundError(f"未知的单位：{unit}")
    return code


@router.get("/rounds/{year}/statistics/{unit}")
def statistics_unit(year: int, unit: str, request: Request, user: User = Depends(user_of),
                    session: Session = Depends(db)):
    require_role(user, "office")
    return _unit_page(request, session, year, _unit(unit))


def _unit_page(request: Request, session: Session, year: int, code: str, status_code: int = 200, **extra):
    return render(request, "statistics/unit.html", status_code=status_code, rnd=get_round(session, year), code=code,
                  rows=SO.value_table(session, year, code), closed=closed_notice(session, year, SO.CLOSED),
                  draft=extra.pop("draft", {}), **extra)


def _number(raw, label: str) -> float | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise RoundError(f"{label}应填写数字，实际是“{text[:20]}”。未作更改。") from None


def _item(form) -> tuple[int, str]:
    try:
        return int(str(form.get("indicator"))), str(form.get("measure") or "")
    except ValueError:
        raise RoundError("表单不完整，请刷新页面后重试。") from None


async def _office_change(request: Request, session: Session, year: int, unit: str, act, *, overview: bool = False):
    """Parse the form, apply one change to a unit's value (act(form, code, no, key) → message), commit, go back."""
    form = await request.form()
    code = resolve_unit(unit)
    back = f"/rounds/{year}/statistics" + ("" if overview or form.get("back") == "overview" or not code else f"/{code}")
    try:
        no, key = _item(form)
        message = act(form, _unit(unit), no, key)
        session.commit()
    except RoundError as exc:
        session.rollback()
        if code and back.endswith(f"/{code}"):  # the unit's page again, the row as it was typed (400)
            draft = {key: str(value) for key, value in form.items() if key != "csrf_token"}
            return _unit_page(request, session, year, code, 400, error=str(exc), draft=draft)
        return redirect_with_message(request, back, str(exc), "error")
    return redirect_with_message(request, back, message)


@router.post("/rounds/{year}/statistics/{unit}/correct")
async def statistics_correct(year: int, unit: str, request: Request, user: User = Depends(user_of),
                             session: Session = Depends(db)):
    require_role(user, "office")

    def correct(form, code, no, key):
        SO.correct_value(session, user, year, code, no, key, value=_number(form.get("value"), "本年值"),
                         base_value=_number(form.get("base_value"), "基期值"), reason=str(form.get("reason") or ""),
                         ip=client_ip(request))
        return f"已更正指标 {no} 的数值，更正前后的数值已记入审计日志。"
    return await _office_change(request, session, year, unit, correct)


@router.post("/rounds/{year}/statistics/{unit}/confirm")
async def statistics_confirm(year: int, unit: str, request: Request, user: User = Depends(user_of),
                             session: Session = Depends(db)):
    require_role(user, "office")

    def confirm(form, code, no, key):
        SO.confirm_value(session, user, year, code, no, key, note=str(form.get("note") or ""), ip=client_ip(request))
        return f"已确认指标 {no} 的数值（记入审计日志）。"
    return await _office_change(request, session, year, unit, confirm)
