"""Log in and out, with throttling and an audit trail."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from evidence.accounts import verify_password
from evidence.audit import record
from evidence.models import LoginAttempt, User

from ..security import client_ip, login_blocked
from ..web import db, render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let a phishing link bounce through the login.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_form(request: Request, next: str | None = None):
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
          session: Session = Depends(db)):
    username = username.strip()
    ip = client_ip(request)
    if login_blocked(session, username, ip):
        return render(request, "login.html", status_code=429, next=_safe_next(next),
                      error="登录失败次数过多，请 15 分钟后再试。")
    user = session.exec(select(User).where(User.username == username)).first()
    session.commit()  # hand the connection back to the pool while the password is hashed (CPU, queued)
    ok = user is not None and user.active and verify_password(user, password)
    session.add(LoginAttempt(username=username, ip=ip, ok=ok))
    record(session, "login" if ok else "login_failed", user=user if ok else None, object_type="user",
           object_id=user.id if user else "", detail={"username": username}, ip=ip)
    session.commit()
    if not ok:
        return render(request, "login.html", status_code=400, next=_safe_next(next), error="用户名或密码不正确。")
    request.session.clear()  # a fresh session on login: no fixation
    request.session["uid"] = user.id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, session: Session = Depends(db)):
    uid = request.session.get("uid")
    user = session.get(User, uid) if uid else None
    if user:
        record(session, "logout", user=user, object_type="user", object_id=user.id, ip=client_ip(request))
        session.commit()
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
