"""The 工作台: what this user owes the current round and by when (review.worklist decides)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, select

from evidence.models import Round, User
from review.worklist import worklist

from ..web import db, render, user_of
from .search import saved_rows

router = APIRouter()


@router.get("/")
def home(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    rounds = session.exec(select(Round).order_by(Round.year.desc())).all()
    return render(request, "home.html", work=worklist(session, user), rounds=rounds, saved=saved_rows(session, user))
