"""What the scoring screen of one item shows this user: their rating and its form, the panel's
ratings as independence allows, the evidence beside the rubric, and where the item sits in
their list. Pure reading; the route renders it and review.ratings stores what is typed.
"""
from __future__ import annotations

from typing import Callable

from sqlmodel import Session, select

from evidence.models import Assignment, Document, Passage, Unit, User
from review import ratings as R
from review.document_meta import document_titles
from review.evidence_rank import ranked_evidence
from review.items import neighbours
from review.links import links_of
from review.year_lock import closed_notice


def passage_key(passage: Passage) -> str:
    """The link spec of a whole passage, as the form's checkboxes carry it."""
    return f"{passage.id}:{passage.start}:{passage.end}"


def screen_context(session: Session, user: User, year: int, unit: str, indicator, rank: Callable,
                   claimed: Callable | None = None, form: dict | None = None) -> dict:
    """Everything the screen needs. `form` re-shows what the user typed after a refusal. Handed in by
    the web layer: `rank` orders the unit's passages (tagging.evidence_rank.rank_passages) and
    `claimed(session, year, unit, no)` reads what the unit's submitted self-assessment says of the
    indicator (rounds.self_assessment.claimed_item), shown beside the rubric."""
    view = R.item_view(session, user, year, unit, indicator.no)
    own = view.own
    own_links = links_of(session, "rating", own.id) if own else []
    candidates = R.candidate_passages(session, year, unit, indicator.no)
    linked_keys = {f"{link.passage_id}:{link.start}:{link.end}" for link in own_links}
    reviewers = {u.id: u for u in session.exec(select(User).where(User.role.in_(("reviewer", "office"))))}
    others = [{"rating": r, "reviewer": reviewers.get(r.reviewer_id),
               "links": links_of(session, "rating", r.id)} for r in view.others]
    consensus = ({"rating": view.consensus, "reviewer": reviewers.get(view.consensus.reviewer_id),
                  "links": links_of(session, "rating", view.consensus.id)} if view.consensus else None)
    form = form or {
        "level": own.level_value if own else None, "rationale": own.rationale if own else "",
        "links": sorted(linked_keys), "base_revision": own.revision if own else 0}
    claimed_reading = claimed(session, year, unit, indicator.no) if claimed else None
    cited_elsewhere = [link for o in others + ([consensus] if consensus else []) for link in o["links"]]
    cited_elsewhere += claimed_reading.links if claimed_reading else []
    ranked = ranked_evidence(session, year, unit, indicator.no, rank)
    shown_documents = [link.document_id for link in cited_elsewhere] + [c.document.id for c in candidates + ranked]
    return {
        "panel": panel_status(session, year, unit, indicator.no) if user.role == "office" else [],
        "cited": cited_links(session, own_links, form["links"], year, unit),
        "year": year, "unit": session.get(Unit, unit), "indicator": indicator, "view": view, "own": own,
        "own_links": own_links, "candidates": candidates, "others": others, "consensus": consensus,
        "ranked": ranked,
        "form": form, "checked": set(form["links"]), "history": R.history(session, own) if own else [],
        "source_labels": R.SOURCE_LABELS, "status_labels": R.STATUS_LABELS, "threshold": R.DISAGREEMENT_SPREAD,
        "is_office": user.role == "office", "passage_key": passage_key, "users": reviewers,
        "nav": neighbours(session, user, year, unit, indicator.no),
        "claimed": claimed_reading,
        "closed": closed_notice(session, year),
        # every passage on the screen names its document as the form's 已引用的证据 list does
        "titles": document_titles(session, shown_documents),
    }


def panel_status(session: Session, year: int, unit: str, indicator_no: int) -> list[dict]:
    """For the office: each assigned reviewer and how far they are, so it knows whom to wait for."""
    ratings = {r.reviewer_id: r for r in R.item_ratings(session, year, unit, indicator_no) if r.kind == "independent"}
    assigned = session.exec(select(User).join(Assignment, Assignment.reviewer_id == User.id).where(
        Assignment.year == year, Assignment.unit_code == unit, Assignment.indicator_no == indicator_no)
        .order_by(User.username)).all()
    return [{"reviewer": u, "state": ("submitted" if ratings[u.id].status == "submitted" else "draft")
             if u.id in ratings else "todo"} for u in assigned]


def cited_links(session: Session, own_links: list, wanted: list[str], year: int, unit: str) -> list[dict]:
    """The form's 已引用的证据: every passage the rating cites — its stored links, then the ones the user's
    own (possibly refused) post asks for — once each, with its document's title and page. The one checkbox
    of each citation is here; elsewhere on the screen a cited passage only says 已引用.

    Requested ones come from the user's post, so each is shown only if it is evidence of this very item:
    a refused save must not become a way to read another unit's passages.
    """
    shown: set[str] = set()
    rows = []
    for link in own_links:
        key = f"{link.passage_id}:{link.start}:{link.end}"
        if key not in shown:
            shown.add(key)
            rows.append({"key": key, "document_id": link.document_id, "page": link.page_no, "quote": link.quote,
                         "status": link.status})
    for key in wanted:
        if key in shown:
            continue
        try:
            pid, start, end = R.parse_link_spec(key)
            passage = R.item_passage(session, year, unit, pid)
        except (R.RatingError, R.RatingAccessError):
            continue
        start, end = (passage.start, passage.end) if start is None else (start, end)
        offset = start - passage.start
        shown.add(key)
        document_id = session.exec(select(Document.id).where(Document.current_version_id == passage.version_id)).first()
        rows.append({"key": key, "document_id": document_id, "page": passage.page_no,
                     "quote": passage.text[offset:offset + end - start], "status": "ok"})
    titles = document_titles(session, [r["document_id"] for r in rows])
    for row in rows:
        row["title"] = titles.get(row["document_id"], "")
    return rows


def item_links_only(session: Session, year: int, unit: str, specs: list[str]) -> list[str]:
    """The link specs that point at evidence of this item's unit and year (the rest are dropped
    from a refused form, so it cannot be used to show another unit's passages)."""
    kept = []
    for spec in specs:
        try:
            R.item_passage(session, year, unit, R.parse_link_spec(spec)[0])
        except (R.RatingError, R.RatingAccessError):
            continue
        kept.append(spec)
    return kept
