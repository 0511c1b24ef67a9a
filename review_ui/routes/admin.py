"""Office administration: user accounts and their sessions, and the audit log (with a CSV export for Excel)."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, func, select

from evidence import accounts, audit, sessions
from evidence.audit import ACTIONS
from evidence.models import ROLES, AuditEvent, Unit, User, WebSession
from reports.cells import formula_safe
from rubrics.units import in_national_order

from ..security import Forbidden, require_role
from ..audit_display import action_label, detail_lines, detail_text, object_label, object_link, object_names
from ..web import db, local_time, redirect_with_message, render, settings_of, user_of
from .evidence import parse_int

router = APIRouter(prefix="/admin")

AUDIT_PER_PAGE = 50
CSV_MAX_ROWS = 100_000


def office_of(user: User = Depends(user_of)) -> User:
    require_role(user, "office")
    return user


# ── users ───────────────────────────────────────────────────────────────────

def users_page(request: Request, session: Session, *, status_code: int = 200, error: str = "", message: str = "",
               form: dict | None = None):
    users = session.exec(select(User).order_by(User.role, User.username)).all()
    units = in_national_order(session.exec(select(Unit)).all())
    lifetimes = sessions.Lifetimes.of(settings_of(request))
    live = {u.id: len(sessions.live_sessions(session, u.id, lifetimes)) for u in users}
    return render(request, "admin/users.html", status_code=status_code, users=users, units=units, roles=ROLES,
                  unit_names={u.code: u.name for u in units}, error=error, message=message, form=form or {},
                  live_sessions=live, idle_minutes=int(lifetimes.idle.total_seconds() // 60),
                  absolute_hours=int(lifetimes.absolute.total_seconds() // 3600))


def target_user(session: Session, user_id: int) -> User:
    target = session.get(User, user_id) if 0 < user_id < 2 ** 62 else None
    if target is None:
        raise HTTPException(status_code=404, detail="用户不存在。")
    return target


@router.get("/users")
def users(request: Request, done: str = "", office: User = Depends(office_of), session: Session = Depends(db)):
    messages = {"added": "用户已创建。", "updated": "用户状态已更新。"}
    return users_page(request, session, message=messages.get(done, ""))


@router.post("/users")
def add_user(request: Request, username: str = Form(""), display_name: str = Form(""), password: str = Form(""),
             role: str = Form(""), unit: str = Form(""), home_unit: str = Form(""), email: str = Form(""),
             office: User = Depends(office_of), session: Session = Depends(db)):
    form = {"username": username, "display_name": display_name, "role": role, "unit": unit, "home_unit": home_unit,
            "email": email}
    try:
        user = accounts.create_user(session, username, password, role, unit_code=unit or None,
                                    display_name=display_name.strip(), home_unit_code=home_unit or None, email=email)
    except accounts.AccountError as exc:
        session.rollback()
        return users_page(request, session, status_code=400, error=str(exc), form=form)
    audit.record(session, "user_add", user=office, object_type="user", object_id=user.id,
                 detail={"username": user.username, "role": role, "unit": user.unit_code,
                         "home_unit": user.home_unit_code})
    session.commit()
    return RedirectResponse("/admin/users?done=added", status_code=303)


def edit_page(request: Request, session: Session, target: User, *, status_code: int = 200, error: str = "",
              form: dict | None = None):
    """One user's role, unit and password on a page of its own (the table stays readable)."""
    units = in_national_order(session.exec(select(Unit)).all())
    return render(request, "admin/user_edit.html", status_code=status_code, target=target, units=units, roles=ROLES,
                  error=error, form=form or {"role": target.role, "unit": target.unit_code or ""},
                  live_sessions=len(sessions.live_sessions(session, target.id,
                                                           sessions.Lifetimes.of(settings_of(request)))))


@router.get("/users/{user_id}")
def edit_user(request: Request, user_id: int, office: User = Depends(office_of), session: Session = Depends(db)):
    target = target_user(session, user_id)
    if target.id == office.id:
        raise Forbidden("不能在这里修改自己的账号：密码请在“我的账号”中修改，角色请由另一位办公室人员修改。")
    return edit_page(request, session, target)


@router.post("/users/{user_id}/active")
def set_active(request: Request, user_id: int, active: str = Form(...), office: User = Depends(office_of),
               session: Session = Depends(db)):
    target = target_user(session, user_id)
    make_active = active == "1"
    if target.id == office.id and not make_active:
        raise Forbidden("不能停用自己的账号。")
    ended = accounts.set_active(session, target, make_active)
    audit.record(session, "user_update", user=office, object_type="user", object_id=target.id,
                 detail={"username": target.username, "active": make_active, "sessions_ended": ended})
    session.commit()
    return RedirectResponse("/admin/users?done=updated", status_code=303)


@router.post("/users/{user_id}/role")
def set_role(request: Request, user_id: int, role: str = Form(""), unit: str = Form(""),
             office: User = Depends(office_of), session: Session = Depends(db)):
    target = target_user(session, user_id)
    if target.id == office.id:
        raise Forbidden("不能修改自己的角色（请由另一位办公室人员修改）。")
    try:
        change = accounts.set_role(session, target, role, unit_code=unit or None)
    except accounts.AccountError as exc:
        session.rollback()
        return edit_page(request, session, target, status_code=400, error=str(exc), form={"role": role, "unit": unit})
    audit.record(session, "user_update", user=office, object_type="user", object_id=target.id,
                 detail={"username": target.username, **change})
    session.commit()
    return redirect_with_message(request, "/admin/users", f"已修改 {target.username} 的角色；其登录已全部结束。")


@router.post("/users/{user_id}/password")
def reset_password(request: Request, user_id: int, password: str = Form(""), office: User = Depends(office_of),
                   session: Session = Depends(db)):
    target = target_user(session, user_id)
    try:
        ended = accounts.set_password(session, target, password)
    except accounts.AccountError as exc:
        session.rollback()
        return edit_page(request, session, target, status_code=400, error=f"新密码未设置：{exc}",
                         form={"role": target.role, "unit": target.unit_code or "", "password_refused": True})
    audit.record(session, "password_change", user=office, object_type="user", object_id=target.id,
                 detail={"username": target.username, "sessions_ended": ended})
    session.commit()
    return redirect_with_message(request, "/admin/users", f"已为 {target.username} 设置新密码；其登录已全部结束。")


@router.get("/users/{user_id}/sessions")
def user_sessions(request: Request, user_id: int, office: User = Depends(office_of), session: Session = Depends(db)):
    target = target_user(session, user_id)
    live = sessions.live_sessions(session, target.id, sessions.Lifetimes.of(settings_of(request)))
    return render(request, "admin/sessions.html", target=target, sessions=live,
                  current=request.scope.get("kaoping.session_id"))


@router.post("/users/{user_id}/sessions/end")
def end_sessions(request: Request, user_id: int, session_id: str = Form(""), office: User = Depends(office_of),
                 session: Session = Depends(db)):
    """End one session of a user (session_id), or all of them (no session_id)."""
    target = target_user(session, user_id)
    one = parse_int(session_id)
    if one:
        row = session.get(WebSession, one)
        if row is None or row.user_id != target.id:
            raise HTTPException(status_code=404, detail="登录会话不存在。")
        sessions.end(row, "office")
        ended = 1
    else:
        ended = sessions.end_all(session, target.id, "office")
    audit.record(session, "session_revoked", user=office, object_type="user", object_id=target.id,
                 detail={"username": target.username, "sessions_ended": ended})
    session.commit()
    return redirect_with_message(request, f"/admin/users/{target.id}/sessions", f"已结束 {ended} 个登录会话。")


# ── audit log ───────────────────────────────────────────────────────────────

def parse_day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def audit_query(action: str, username: str, since: date | None, until: date | None):
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if username:
        query = query.where(AuditEvent.username == username.strip())
    if since:
        query = query.where(AuditEvent.at >= datetime.combine(since, datetime.min.time()))
    if until:  # inclusive: the whole of the last day
        query = query.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), datetime.min.time()))
    return query


def describe(detail: dict) -> str:
    """The raw record, for the CSV's last column: exact, for whoever audits the auditors."""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else ""


@router.get("/audit")
def audit_log(request: Request, action: str = "", user: str = "", since: str = "", until: str = "", page: str = "",
              office: User = Depends(office_of), session: Session = Depends(db)):
    query = audit_query(action, user, parse_day(since), parse_day(until))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max((total + AUDIT_PER_PAGE - 1) // AUDIT_PER_PAGE, 1)
    page_no = min(max(parse_int(page) or 1, 1), pages)
    events = session.exec(query.order_by(AuditEvent.id.desc()).offset((page_no - 1) * AUDIT_PER_PAGE)
                          .limit(AUDIT_PER_PAGE)).all()
    filters = {"action": action, "user": user, "since": since, "until": until}
    names = {e.username for e in events if e.username}
    people = {u.username: u.display_name or u.username
              for u in session.exec(select(User).where(User.username.in_(names)))} if names else {}
    return render(request, "admin/audit.html", events=events, actions=ACTIONS, filters=filters, total=total,
                  page=page_no, pages=pages, people=people, names=object_names(session, events),
                  action_label=action_label, object_label=object_label, object_link=object_link,
                  detail_lines=detail_lines)


CSV_CHUNK = 500  # events whose names are looked up together


@router.get("/audit.csv")
def audit_csv(action: str = "", user: str = "", since: str = "", until: str = "",
              office: User = Depends(office_of), session: Session = Depends(db)):
    query = audit_query(action, user, parse_day(since), parse_day(until)).order_by(AuditEvent.id).limit(CSV_MAX_ROWS)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["编号", "时间（北京时间）", "用户", "操作", "操作代码", "对象类型", "对象编号", "详情",
                     "原始记录", "IP地址"])
    events = session.exec(query).all()
    for start in range(0, len(events), CSV_CHUNK):
        chunk = events[start:start + CSV_CHUNK]
        names = object_names(session, chunk)
        for e in chunk:
            writer.writerow([formula_safe(v) for v in (e.id, local_time(e.at, "%Y-%m-%d %H:%M:%S"), e.username,
                                                      action_label(e.action), e.action, e.object_type, e.object_id,
                                                      detail_text(e.detail, names), describe(e.detail), e.ip)])
    # The BOM makes Excel read the file as UTF-8 instead of the system code page (GBK).
    body = "\ufeff" + out.getvalue()
    filename = f"audit-{date.today().isoformat()}.csv"
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
