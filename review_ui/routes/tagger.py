"""The office's page for the tagger's learning loop: retrain from reviewers' decisions, see before/after."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import Session

from evidence.models import User

from ..security import client_ip, require_role
from ..tagger_training import page_state, start_in_background
from ..web import db, default_year, redirect_with_message, render, settings_of, user_of
from .evidence import parse_int

router = APIRouter(prefix="/admin/tagger")


@router.get("")
def tagger_page(request: Request, year: str = "", user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    year_no = parse_int(year) or default_year(session)
    return render(request, "admin/tagger.html", **page_state(settings_of(request), session, year_no))


@router.post("/retrain")
def retrain(request: Request, year: str = Form(""), user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    year_no = parse_int(year) or default_year(session)
    started = start_in_background(settings_of(request), year_no, user, client_ip(request))
    message = "已开始重新训练，完成后本页显示训练前后的交叉验证结果。" if started else "该年度正在训练中，请稍候。"
    return redirect_with_message(request, f"/admin/tagger?year={year_no}", message)
