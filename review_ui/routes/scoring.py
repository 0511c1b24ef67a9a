"""Scoring: a reviewer's list of items and the screen that rates one item against its rubric.

The rules live in review.ratings; this module only turns HTTP into calls and
refusals into Chinese messages. Reviewers rate independently; the office uses
the same screen to record the panel's consensus.
"""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from review import ratings as R
from review.item_screen import item_links_only, passage_key, screen_context
from review.items import STATUS_FILTERS, list_rows, status_filter_labels
from rounds.self_assessment import claimed_item
from tagging.evidence_rank import rank_passages
from evidence.accounts import conflicted_units
from evidence.models import Document, Passage, Unit, User
from review.tags import DECISIONS, EvidenceAccessError, decide
from index.feed import open_index, update_index
from rubrics.units import in_national_order

from ..security import Forbidden
from ..web import db, default_year, render, settings_of, user_of
from .evidence import open_index_or_none

log = logging.getLogger("kaoping.web.scoring")
router = APIRouter()

SEARCH_PER_PAGE = 20


# ── helpers ─────────────────────────────────────────────────────────────────

def to_int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def ensure_scorer(user: User) -> None:
    if user.role not in ("reviewer", "office"):
        raise Forbidden("只有评审专家和协调小组办公室可以使用评分功能。")


def item_or_refuse(session: Session, user: User, year: int, unit: str, indicator_no: int):
    """The indicator, after the permission check; 403 for someone else's item, 404 for an unrated indicator."""
    ensure_scorer(user)
    try:
        R.ensure_can_view(session, user, year, unit, indicator_no)
    except R.RatingAccessError as exc:
        raise Forbidden(str(exc)) from None
    if session.get(Unit, unit) is None:
        raise HTTPException(status_code=404, detail="未知单位。")
    try:
        return R.rated_indicator(year, indicator_no)
    except R.RatingError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


# ── pages ───────────────────────────────────────────────────────────────────

@router.get("/scoring")
def scoring_list(request: Request, year: str = "", unit: str = "", level1: str = "", status: str = "",
                 user: User = Depends(user_of), session: Session = Depends(db)):
    ensure_scorer(user)
    year_no = to_int(year) or default_year(session)
    if unit and user.role == "reviewer" and unit in conflicted_units(session, user):
        raise Forbidden("您与该单位存在回避关系。")
    status = status if status in STATUS_FILTERS else ""
    rows = list_rows(session, user, year_no, unit, to_int(level1), status)
    filtered = bool(status or to_int(level1))
    total = len(list_rows(session, user, year_no, unit)) if filtered else len(rows)
    system = R.system_for_year(year_no)
    return render(request, "scoring/list.html", rows=rows, year=year_no, level1s=system.level1, total=total,
                  units=in_national_order(session.exec(select(Unit)).all()) if user.role == "office" else [],
                  filters={"unit": unit, "level1": to_int(level1) or "", "status": status}, filtered=filtered,
                  status_labels=status_filter_labels())


@router.get("/scoring/{year}/{unit}/{indicator_no}")
def scoring_screen(request: Request, year: int, unit: str, indicator_no: int, saved: str = "",
                   user: User = Depends(user_of), session: Session = Depends(db)):
    indicator = item_or_refuse(session, user, year, unit, indicator_no)
    submitted = "合议结论已提交。" if user.role == "office" else "评分已提交。"
    notice = {"draft": "草稿已保存。", "submitted": submitted}.get(saved, "")
    return render(request, "scoring/screen.html", notice=notice, error="",
                  **screen_context(session, user, year, unit, indicator, rank_passages, claimed_item))


@router.post("/scoring/{year}/{unit}/{indicator_no}/save")
@router.post("/scoring/{year}/{unit}/{indicator_no}/submit")
def store(request: Request, year: int, unit: str, indicator_no: int, level: str = Form(""),
          rationale: str = Form(""), link: list[str] = Form(default=[]), base_revision: str = Form("0"),
          user: User = Depends(user_of), session: Session = Depends(db)):
    """Save a draft (…/save) or submit (…/submit): one path, the address says which."""
    submit = request.url.path.endswith("/submit")
    indicator = item_or_refuse(session, user, year, unit, indicator_no)
    form = {"level": to_int(level), "rationale": rationale, "links": link, "base_revision": to_int(base_revision) or 0}
    if level and form["level"] is None:
        error, status = "档次必须是评分标准中的数字。", 400
    else:
        try:
            R.save_rating(session, user, year, unit, indicator_no, level_value=form["level"], rationale=rationale,
                          link_specs=link, base_revision=form["base_revision"], submit=submit)
            session.commit()
            saved = "submitted" if submit else "draft"
            return RedirectResponse(f"/scoring/{year}/{unit}/{indicator_no}?saved={saved}", status_code=303)
        except R.StaleRevision as exc:
            session.rollback()
            error, status = str(exc), 409
        except R.ForeignEvidence as exc:  # refused, but the reviewer keeps what they typed
            session.rollback()
            form["links"] = item_links_only(session, year, unit, link)
            error, status = str(exc), 403
        except R.RatingAccessError as exc:
            session.rollback()
            raise Forbidden(str(exc)) from None
        except R.RatingError as exc:
            session.rollback()
            error, status = str(exc), 400
    # Re-show what the reviewer typed so a refusal never loses their rationale.
    context = screen_context(session, user, year, unit, indicator, rank_passages, claimed_item, form=form)
    if status == 409:
        # The stale form is kept for copying, but the next attempt must start from the stored revision.
        context["form"]["base_revision"] = context["own"].revision if context["own"] else 0
        context["stale"] = True
    return render(request, "scoring/screen.html", status_code=status, notice="", error=error, **context)


@router.get("/scoring/{year}/{unit}/{indicator_no}/search")
def search_in_item(request: Request, year: int, unit: str, indicator_no: int, q: str = "",
                   user: User = Depends(user_of), session: Session = Depends(db)):
    """Passages of this unit and year only: the index filters, so other units never appear."""
    item_or_refuse(session, user, year, unit, indicator_no)
    q = q.strip()[:200]
    hits, error = [], ""
    session.commit()  # hand the connection back to the pool while the index is queried
    if q:
        try:
            index = open_index_or_none(request)  # the app's one index: searcher and facet tables cached
            if index is None:
                raise RuntimeError("search index unavailable")
            result = index.search(q, allowed_units=[unit], unit=unit, year=year, per_page=SEARCH_PER_PAGE)
            error = result.query_error or ""
            hits = [h for h in result.hits if h.unit == unit and str(h.year) == str(year)]
        except Exception:
            log.exception("in-screen search failed")
            error = "检索索引暂时不可用，请从左侧建议段落中选择，或稍后再试。"
    passages = {p.id: p for p in session.exec(select(Passage).where(
        Passage.id.in_([int(h.passage_id) for h in hits if str(h.passage_id).isdigit()])))} if hits else {}
    rows = [{"hit": h, "passage": passages.get(int(h.passage_id))} for h in hits
            if str(h.passage_id).isdigit() and int(h.passage_id) in passages]
    return render(request, "scoring/_search.html", rows=rows, q=q, error=error, passage_key=passage_key)


@router.post("/scoring/{year}/{unit}/{indicator_no}/tags")
def tag_decision(request: Request, year: int, unit: str, indicator_no: int, passage_id: int = Form(...),
                 decision: str = Form(...), user: User = Depends(user_of), session: Session = Depends(db)):
    """Confirm or reject the indicator tag of one passage in place, and keep the index in step."""
    item_or_refuse(session, user, year, unit, indicator_no)
    if decision not in DECISIONS:
        raise HTTPException(status_code=400, detail="未知操作。")
    try:
        passage = R.item_passage(session, year, unit, passage_id)
        document = session.exec(select(Document).where(Document.current_version_id == passage.version_id)).one()
        decide(session, user, document.id, indicator_no, decision, passage_id=passage.id)
    except (R.RatingAccessError, EvidenceAccessError) as exc:
        raise Forbidden(str(exc)) from None
    session.commit()
    try:
        settings = settings_of(request)
        update_index(settings, open_index_or_none(request) or open_index(settings), document.current_version_id)
    except Exception:  # the decision is saved; the index catches up at the next rebuild
        log.exception("index update after tag decision failed for document %s", document.id)
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"/scoring/{year}/{unit}/{indicator_no}#c-{passage.id}", status_code=303)
    candidate = next((c for c in R.candidate_passages(session, year, unit, indicator_no)
                      if c.passage.id == passage.id), None)
    return render(request, "scoring/_tagstate.html", passage_id=passage.id,
                  decision=candidate.decision if candidate else decision,
                  action=f"/scoring/{year}/{unit}/{indicator_no}/tags")
