"""Log in and out (with throttling and an audit trail of every attempt); one's own password and sessions."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from evidence import accounts, sessions
from evidence.accounts import AccountError, authenticate, set_password
from evidence.audit import record
from evidence.models import LoginAttempt, User

from ..security import SESSION_ID, begin_session, client_ip, end_session
from ..throttle import describe_wait, wait_before_login
from ..web import db, redirect_with_message, render, settings_of, user_of

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
    username = username.strip()[:64]
    ip = client_ip(request)
    wait = wait_before_login(session, username, ip)
    if wait:
        record(session, "login_throttled", object_type="user", detail={"username": username,
                                                                     "seconds": int(wait.total_seconds())})
        session.commit()
        return render(request, "login.html", status_code=429, next=_safe_next(next),
                      error=f"登录失败次数过多，请 {describe_wait(wait)}后再试。")
    user = session.exec(select(User).where(User.username == username)).first()
    session.commit()  # hand the connection back to the pool while the password is hashed (CPU, queued)
    ok = authenticate(user, password)
    session.add(LoginAttempt(username=username, ip=ip, ok=ok))
    record(session, "login" if ok else "login_failed", user=user if ok else None, object_type="user",
           object_id=user.id if user else "", detail={"username": username})
    if not ok:
        session.commit()
        return render(request, "login.html", status_code=400, next=_safe_next(next), error="用户名或密码不正确。")
    sessions.purge(session, sessions.Lifetimes.of(settings_of(request)))
    begin_session(request, session, user)
    session.commit()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, session: Session = Depends(db)):
    uid = request.session.get("uid")
    user = session.get(User, uid) if uid else None
    if user:
        record(session, "logout", user=user, object_type="user", object_id=user.id)
    end_session(request, session)
    session.commit()
    return RedirectResponse("/login", status_code=303)


# ── one's own account: password, sessions ──────────────────────────────────

def account_page(request: Request, session: Session, user: User, *, status_code: int = 200, error: str = ""):
    live = sessions.live_sessions(session, user.id, sessions.Lifetimes.of(settings_of(request)))
    return render(request, "account.html", status_code=status_code, sessions=live, error=error,
                  current=request.scope.get(SESSION_ID), END_REASONS=sessions.END_REASONS)


@router.get("/account")
def account(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    return account_page(request, session, user)


@router.post("/account/password")
def change_password(request: Request, current: str = Form(""), password: str = Form(""), confirm: str = Form(""),
                    user: User = Depends(user_of), session: Session = Depends(db)):
    """A new password ends every session of the user; this browser goes on in a new one."""
    ip = client_ip(request)
    wait = wait_before_login(session, user.username, ip)
    if wait:
        record(session, "password_change_failed", user=user, object_type="user", object_id=user.id,
               detail={"username": user.username, "reason": "错误次数过多，暂缓", "seconds": int(wait.total_seconds())})
        session.commit()
        return account_page(request, session, user, status_code=429,
                            error=f"密码错误次数过多，请 {describe_wait(wait)}后再试。")
    if password != confirm:
        return account_page(request, session, user, status_code=400, error="两次输入的新密码不一致。")
    if not authenticate(user, current):  # a wrong current password counts like a failed login
        session.add(LoginAttempt(username=user.username, ip=ip, ok=False))
        record(session, "password_change_failed", user=user, object_type="user", object_id=user.id,
               detail={"username": user.username, "reason": "当前密码不正确"})
        session.commit()
        return account_page(request, session, user, status_code=400, error="当前密码不正确。")
    try:
        ended = set_password(session, user, password)
    except AccountError as exc:
        session.rollback()
        return account_page(request, session, user, status_code=400, error=str(exc))
    record(session, "password_change", user=user, object_type="user", object_id=user.id,
           detail={"username": user.username, "sessions_ended": ended})
    begin_session(request, session, user)
    session.commit()
    return redirect_with_message(request, "/account", "密码已修改；您在其他设备上的登录已全部结束。")


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    ended = accounts.sign_out_everywhere(session, user)
    record(session, "session_revoked", user=user, object_type="user", object_id=user.id,
           detail={"username": user.username, "sessions_ended": ended})
    end_session(request, session)
    session.commit()
    return RedirectResponse("/login", status_code=303)
