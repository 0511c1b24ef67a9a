"""The 工作台: what this user owes the current round and by when (review.worklist decides); and the
login check long forms make while someone types in them."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlmodel import Session, select

from evidence.models import Round, User
from review.worklist import worklist

from ..guard import LOGIN_ENDED
from ..security import csrf_token
from ..web import db, render, user_of
from .search import saved_rows

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/")
def home(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    rounds = session.exec(select(Round).order_by(Round.year.desc())).all()
    return render(request, "home.html", work=worklist(session, user), rounds=rounds, saved=saved_rows(session, user))


@router.get("/favicon.ico", include_in_schema=False)
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the same vendored icon, no 404 in the log."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/session/alive")
def session_alive(request: Request):
    """Asked by a long form (self-assessment, scoring) while its user types: the request itself is a use
    that keeps the login from idling out, and the answer carries the session's form token, so a page whose
    login ended and was renewed in another tab can save again without losing what was typed.
    Same-origin only by the browser's rules (no CORS header), like every page that carries the token."""
    if request.session.get("uid") is None:
        return JSONResponse({"alive": False, "message": LOGIN_ENDED}, status_code=401, headers=NO_STORE)
    return JSONResponse({"alive": True, "csrf": csrf_token(request)}, headers=NO_STORE)


@router.get("/session/renewed")
def session_renewed(request: Request, user: User = Depends(user_of)):
    """Where “重新登录” from a form whose login ended lands: back to that form's tab."""
    return render(request, "session_renewed.html")
