"""The landing page: what this user has to do now."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, func, select

from evidence.models import Assignment, Document, DocumentVersion, Rating, Round, Unit, User

from ..web import db, render, user_of

router = APIRouter()


@router.get("/")
def home(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    rounds = session.exec(select(Round).order_by(Round.year.desc())).all()
    context: dict = {"rounds": rounds}
    if user.role == "province":
        unit = session.get(Unit, user.unit_code)
        states = dict(session.exec(
            select(DocumentVersion.state, func.count()).join(Document, Document.current_version_id == DocumentVersion.id)
            .where(Document.unit_code == user.unit_code, Document.status == "active")
            .group_by(DocumentVersion.state)).all())
        context.update(unit=unit, states=states)
    elif user.role == "reviewer":
        assigned = session.exec(select(func.count(Assignment.id)).where(Assignment.reviewer_id == user.id)).one()
        submitted = session.exec(select(func.count(Rating.id)).where(
            Rating.reviewer_id == user.id, Rating.status == "submitted")).one()
        context.update(assigned=assigned, submitted=submitted)
    else:
        docs = session.exec(select(func.count(Document.id)).where(Document.status == "active")).one()
        failed = session.exec(select(func.count(DocumentVersion.id)).where(DocumentVersion.state == "failed")).one()
        context.update(documents=docs, failed=failed)
    return render(request, "home.html", **context)
