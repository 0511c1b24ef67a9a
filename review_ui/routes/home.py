"""The landing page: what this user has to do now."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, func, select

from datetime import date

from evidence.models import Assignment, Document, DocumentVersion, Rating, Round, SelfAssessment, Unit, User

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
        context.update(unit=unit, states=states, due=_unit_due(session, user.unit_code, rounds[0]) if rounds else [])
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


def _unit_due(session: Session, unit_code: str, rnd: Round) -> list[dict]:
    """What the unit owes the current round, and whether it is done or overdue."""
    today = date.today()
    sa = session.exec(select(SelfAssessment).where(SelfAssessment.year == rnd.year,
                                                   SelfAssessment.unit_code == unit_code)).first()
    uploaded = session.exec(select(func.count(Document.id)).where(
        Document.unit_code == unit_code, Document.year == rnd.year, Document.status == "active")).one()
    rows = [{"what": f"上传 {rnd.year} 年度证据", "due": rnd.upload_due or rnd.self_assessment_due,
             "done": uploaded > 0, "detail": f"已上传 {uploaded} 份"},
            {"what": f"提交 {rnd.year} 年度自评报告和自评类别", "due": rnd.self_assessment_due,
             "done": bool(sa and sa.status == "submitted"),
             "detail": "已提交" if sa and sa.status == "submitted" else ("草稿" if sa else "未开始")}]
    for row in rows:
        row["overdue"] = not row["done"] and today > row["due"]
    return rows
