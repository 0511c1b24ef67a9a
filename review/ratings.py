"""Ratings: drafts, submission, optimistic locking, history, independence and consensus.

Rules (after HotCRP, OpenReview and Covidence):
- Independent first: a reviewer sees nobody else's rating of an item until their
  own is submitted; the office sees every submitted rating.
- The panel consensus is a separate record (kind 'consensus') kept by the office;
  independent ratings are never overwritten by it, so agreement stays measurable.
- Every stored change bumps `revision` and writes a RatingRevision snapshot plus an
  audit record (old → new). An edit names the revision it started from; if the
  rating moved on meanwhile, nothing is written.
- A submitted rating rests on evidence: a level from the indicator's rubric, a
  rationale and at least one link to a passage of that unit and year.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from evidence import audit
from evidence.accounts import conflicted_units
from review.assign import is_assigned
from review.links import citable_passage, link_passage, links_of, refresh_link_status
from review.tags import Verdicts
from review.year_lock import closed_notice
from evidence.models import (Assignment, Document, EvidenceLink, Passage, Rating, RatingRevision,
                     TagSuggestion, User, utcnow)

# Levels of one item that differ by at least this much are a disagreement to resolve.
DISAGREEMENT_SPREAD = 1
MAX_RATIONALE = 5000
MAX_LINKS = 50
STALE_MESSAGE = "该评分已被修改，请刷新后再改"

STATUS_LABELS = {"todo": "未开始", "draft": "草稿", "submitted": "已提交", "disputed": "有分歧",
                 "consensus": "已合议"}


class RatingError(ValueError):
    """The rating cannot be stored as asked; the message is for the user (Chinese)."""


class StaleRevision(RatingError):
    def __init__(self) -> None:
        super().__init__(STALE_MESSAGE)


class RatingAccessError(PermissionError):
    """Not this user's item (not assigned, conflicted, wrong role) or not this item's evidence."""


class ForeignEvidence(RatingAccessError):
    """A link to a passage outside the item's unit and year, or of withdrawn/replaced evidence."""


# ── the indicator catalogue ─────────────────────────────────────────────────

def system_for_year(year: int):
    """The indicator system in force for a year (one rule: rubrics.indicators.system_in_force)."""
    from rubrics.indicators import system_in_force
    return system_in_force(year)


def rated_indicator(year: int, indicator_no: int):
    """The indicator if reviewers rate it with a rubric that year; else RatingError."""
    try:
        indicator = system_for_year(year).get(indicator_no)
    except ValueError:  # RubricError: no such indicator in that year's system
        indicator = None
    if indicator is None or not indicator.is_rated or not indicator.rubric:
        raise RatingError(f"指标 {indicator_no} 不是需要评审评档的指标。")
    return indicator


def rubric_values(indicator) -> list[int]:
    return [level.value for level in indicator.rubric]


# ── who may do what ─────────────────────────────────────────────────────────

def ensure_can_view(session: Session, user: User, year: int, unit_code: str, indicator_no: int) -> None:
    if user.role == "office":
        return
    if user.role != "reviewer":
        raise RatingAccessError("只有评审专家和协调小组办公室可以查看评分。")
    if unit_code in conflicted_units(session, user) or unit_code == user.home_unit_code:
        raise RatingAccessError("您与该单位存在回避关系，不能查看或评分。")
    if not is_assigned(session, user, year, unit_code, indicator_no):
        raise RatingAccessError("该评审任务未分配给您。")


def kind_for(user: User) -> str:
    """Reviewers rate independently; the office records the panel's consensus."""
    return "consensus" if user.role == "office" else "independent"


# ── reading ─────────────────────────────────────────────────────────────────

def item_ratings(session: Session, year: int, unit_code: str, indicator_no: int) -> list[Rating]:
    return list(session.exec(select(Rating).where(
        Rating.year == year, Rating.unit_code == unit_code, Rating.indicator_no == indicator_no).order_by(Rating.id)))


def own_rating(session: Session, user: User, year: int, unit_code: str, indicator_no: int) -> Rating | None:
    """The rating this user edits: their independent one, or (office) the item's single consensus."""
    kind = kind_for(user)
    for r in item_ratings(session, year, unit_code, indicator_no):
        if r.kind == kind and (kind == "consensus" or r.reviewer_id == user.id):
            return r
    return None


def spread_of(levels: list[int]) -> int:
    return max(levels) - min(levels) if len(levels) > 1 else 0


def is_disputed(levels: list[int]) -> bool:
    return len(levels) > 1 and spread_of(levels) >= DISAGREEMENT_SPREAD


@dataclass
class ItemView:
    """What one user may see of one item's ratings."""
    own: Rating | None
    others: list[Rating] = field(default_factory=list)  # submitted independent ratings, own included
    consensus: Rating | None = None
    revealed: bool = False  # False: independence still hides the others

    @property
    def levels(self) -> list[int]:
        return [r.level_value for r in self.others if r.level_value is not None]

    @property
    def spread(self) -> int:
        return spread_of(self.levels)

    @property
    def disputed(self) -> bool:
        return is_disputed(self.levels)


def item_view(session: Session, user: User, year: int, unit_code: str, indicator_no: int) -> ItemView:
    ratings = item_ratings(session, year, unit_code, indicator_no)
    view = ItemView(own=own_rating(session, user, year, unit_code, indicator_no))
    if user.role == "office":
        view.revealed = True
    else:
        view.revealed = view.own is not None and view.own.status == "submitted"
    if not view.revealed:
        return view
    view.others = [r for r in ratings if r.kind == "independent" and r.status == "submitted"]
    consensus = next((r for r in ratings if r.kind == "consensus"), None)
    if consensus is not None and (user.role == "office" or consensus.status == "submitted"):
        view.consensus = consensus
    return view


def history(session: Session, rating: Rating) -> list[RatingRevision]:
    return list(session.exec(select(RatingRevision).where(RatingRevision.rating_id == rating.id)
                             .order_by(RatingRevision.revision)))


# ── evidence for a link ─────────────────────────────────────────────────────

def parse_link_spec(spec: str) -> tuple[int, int | None, int | None]:
    """'123' links passage 123 whole; '123:40:95' links characters 40–95 of its version's text."""
    parts = str(spec).strip().split(":")
    try:
        if len(parts) == 1:
            return int(parts[0]), None, None
        if len(parts) == 3:
            return int(parts[0]), int(parts[1]), int(parts[2])
    except ValueError:
        pass
    raise RatingError(f"无法识别的证据引用：{spec}")


def item_passage(session: Session, year: int, unit_code: str, passage_id: int) -> Passage:
    """The passage, only if it is in the current version of an active document of this unit and year."""
    passage = citable_passage(session, passage_id, unit_code, year)
    if passage is None:
        raise ForeignEvidence("只能引用本单位本年度、仍然有效的证据段落。")
    return passage


def _link_key(link: EvidenceLink) -> tuple[int | None, int, int]:
    return link.passage_id, link.start, link.end


def _sync_links(session: Session, user: User, rating: Rating, specs: list[str]) -> None:
    """Make the rating's links exactly the requested ones; kept links keep their rows (and history)."""
    wanted: dict[tuple[int, int, int], tuple[Passage, int | None, int | None]] = {}
    existing = {_link_key(link): link for link in links_of(session, "rating", rating.id)}
    for spec in specs[:MAX_LINKS + 1]:
        pid, start, end = parse_link_spec(spec)
        if start is not None and end <= start:
            raise RatingError("引用范围为空。")
        passage = session.get(Passage, pid)
        key = (pid, passage.start if passage and start is None else start,
               passage.end if passage and end is None else end)
        if key in existing:  # an already-linked passage stays linked even if its document changed since
            wanted[key] = (passage, start, end)
            continue
        passage = item_passage(session, rating.year, rating.unit_code, pid)
        if start is not None and not (passage.start <= start < end <= passage.end):
            raise RatingError("引用范围超出所选段落。")
        wanted[key] = (passage, start, end)
    if len(wanted) > MAX_LINKS:
        raise RatingError(f"一条评分最多引用 {MAX_LINKS} 处证据。")
    for key, link in existing.items():
        if key not in wanted:
            session.delete(link)
    for key, (passage, start, end) in wanted.items():
        if key not in existing:
            link_passage(session, "rating", rating.id, passage, user, start=start, end=end)
    session.flush()


def snapshot(session: Session, rating: Rating) -> dict:
    return {
        "kind": rating.kind, "level_value": rating.level_value, "rationale": rating.rationale,
        "status": rating.status,
        "links": [{"passage_id": link.passage_id, "document_id": link.document_id, "page": link.page_no,
                   "start": link.start, "end": link.end, "quote": link.quote[:300]}
                  for link in links_of(session, "rating", rating.id)],
    }


# ── writing ─────────────────────────────────────────────────────────────────

def save_rating(session: Session, user: User, year: int, unit_code: str, indicator_no: int, *,
                level_value: int | None, rationale: str, link_specs: list[str], base_revision: int,
                submit: bool = False) -> Rating:
    """Store a draft, or submit; refuses (and writes nothing) on a stale revision or invalid input.

    A submitted rating stays submitted: editing it re-checks the submission rules.
    The session must carry no other pending work: a refusal rolls it back.
    """
    ensure_can_view(session, user, year, unit_code, indicator_no)
    if user.role not in ("reviewer", "office"):
        raise RatingAccessError("您无权评分。")
    indicator = rated_indicator(year, indicator_no)
    values = rubric_values(indicator)
    if level_value is not None and level_value not in values:
        raise RatingError(f"档次 {level_value} 不在该指标的评分标准中（可选：{'、'.join(map(str, values))}）。")
    closed = closed_notice(session, year)
    if closed:  # a closed year's scores are final (review/year_lock.py)
        raise RatingError(closed)
    rationale = (rationale or "").strip()
    if len(rationale) > MAX_RATIONALE:
        raise RatingError(f"评分理由最多 {MAX_RATIONALE} 字。")

    try:
        return _write(session, user, year, unit_code, indicator_no, level_value, rationale, link_specs,
                      base_revision, submit, values)
    except Exception:
        session.rollback()  # a refusal writes nothing: no rating, no link, no revision
        raise


def _write(session: Session, user: User, year: int, unit_code: str, indicator_no: int, level_value: int | None,
           rationale: str, link_specs: list[str], base_revision: int, submit: bool, values: list[int]) -> Rating:
    rating = own_rating(session, user, year, unit_code, indicator_no)
    old = snapshot(session, rating) if rating is not None else None
    if rating is None:
        if base_revision != 0:
            raise StaleRevision()
        rating = Rating(year=year, unit_code=unit_code, indicator_no=indicator_no,
                        indicator_version=str(getattr(system_for_year(year), "version", "")),
                        reviewer_id=user.id, kind=kind_for(user), revision=1)
        session.add(rating)
        try:
            session.flush()
        except IntegrityError:  # the same reviewer created it from another tab a moment ago
            raise StaleRevision() from None
    else:
        # Compare-and-set in the database, so two requests that both read revision n cannot both win.
        moved = session.execute(update(Rating).where(Rating.id == rating.id, Rating.revision == base_revision)
                                .values(revision=base_revision + 1))
        if moved.rowcount != 1:
            raise StaleRevision()
        rating.revision = base_revision + 1

    submit = submit or rating.status == "submitted"
    rating.level_value = level_value
    rating.rationale = rationale
    _sync_links(session, user, rating, link_specs)
    if submit:
        problems = submission_problems(session, rating, values)
        if problems:
            raise RatingError("无法提交：" + "；".join(problems) + "。")
        if rating.status != "submitted":
            rating.status, rating.submitted_at = "submitted", utcnow()
    new = snapshot(session, rating)
    if old is not None and new == old:
        session.rollback()  # nothing changed: no new revision, no history noise
        return session.get(Rating, rating.id)
    rating.updated_at = utcnow()
    session.add(RatingRevision(rating_id=rating.id, revision=rating.revision, snapshot=new, user_id=user.id))
    action = "rating_consensus" if rating.kind == "consensus" else (
        "rating_submit" if rating.status == "submitted" else "rating_save")
    audit.record(session, action, user=user, object_type="rating", object_id=rating.id,
                 detail={"year": year, "unit": unit_code, "indicator": indicator_no, "revision": rating.revision,
                         "old": old, "new": new})
    session.flush()
    return rating


def submission_problems(session: Session, rating: Rating, values: list[int]) -> list[str]:
    problems = []
    if rating.level_value not in values:
        problems.append("请选择评分标准中的一个档次")
    if not rating.rationale.strip():
        problems.append("请填写评分理由")
    links = links_of(session, "rating", rating.id)
    if not any(refresh_link_status(session, link) == "ok" for link in links):
        problems.append("请至少引用一处有效的证据段落")
    return problems


# ── lists and progress ──────────────────────────────────────────────────────

def ratings_by_item(session: Session, year: int, unit_codes: list[str] | None = None
                    ) -> dict[tuple[str, int], list[Rating]]:
    query = select(Rating).where(Rating.year == year)
    if unit_codes is not None:
        query = query.where(Rating.unit_code.in_(unit_codes))
    result: dict[tuple[str, int], list[Rating]] = defaultdict(list)
    for r in session.exec(query.order_by(Rating.id)):
        result[(r.unit_code, r.indicator_no)].append(r)
    return result


def item_status(ratings: list[Rating], viewer: User) -> str:
    """One of STATUS_LABELS' keys, as this viewer may know it (a reviewer learns of a dispute after submitting)."""
    if any(r.kind == "consensus" and r.status == "submitted" for r in ratings):
        return "consensus"
    independent = [r for r in ratings if r.kind == "independent"]
    submitted = [r.level_value for r in independent if r.status == "submitted" and r.level_value is not None]
    if viewer.role == "reviewer":
        own = next((r for r in independent if r.reviewer_id == viewer.id), None)
        if own is None:
            return "todo"
        if own.status != "submitted":
            return "draft"
    elif not submitted:
        return "draft" if independent or any(r.kind == "consensus" for r in ratings) else "todo"
    return "disputed" if is_disputed(submitted) else "submitted"


def items_with_evidence(session: Session, year: int) -> set[tuple[str, int]]:
    """(unit, indicator) pairs with at least one tagged, hinted or linked passage of active evidence."""
    documents = {d.id: d for d in session.exec(select(Document).where(Document.year == year,
                                                                      Document.status == "active"))}
    found: set[tuple[str, int]] = set()
    for d in documents.values():
        found.update((d.unit_code, int(no)) for no in (d.indicator_hints or []) if str(no).isdigit())
    current = {d.current_version_id: d for d in documents.values() if d.current_version_id}
    verdicts = Verdicts.load(session, documents)
    for (doc_id, _pid, no), decision in verdicts.items():
        if decision == "confirm":
            found.add((documents[doc_id].unit_code, no))
    if current:
        for s in session.exec(select(TagSuggestion).where(TagSuggestion.version_id.in_(current),
                                                          TagSuggestion.suggested == True)):  # noqa: E712
            d = current[s.version_id]
            if verdicts.of(d.id, s.passage_id, s.indicator_no) != "reject":
                found.add((d.unit_code, s.indicator_no))
    linked = session.exec(select(Rating.unit_code, Rating.indicator_no).join(
        EvidenceLink, (EvidenceLink.owner_kind == "rating") & (EvidenceLink.owner_id == Rating.id))
        .where(Rating.year == year)).all()
    found.update((u, n) for u, n in linked)
    return found


def latest_assigned_year(session: Session) -> int | None:
    """The latest year anything is assigned in: the panels' current work."""
    from sqlalchemy import func
    return session.exec(select(func.max(Assignment.year))).one()


def assigned_items(session: Session, year: int, reviewer_id: int | None = None) -> set[tuple[str, int]]:
    query = select(Assignment.unit_code, Assignment.indicator_no).where(Assignment.year == year)
    if reviewer_id is not None:
        query = query.where(Assignment.reviewer_id == reviewer_id)
    return {(u, n) for u, n in session.exec(query)}


@dataclass
class Cell:
    total: int = 0
    rated: int = 0
    draft: int = 0
    disputed: int = 0
    no_evidence: int = 0

    def add(self, other: "Cell") -> None:
        for name in ("total", "rated", "draft", "disputed", "no_evidence"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def progress(session: Session, year: int, unit_codes: list[str], level1_of: dict[int, int]
             ) -> dict[tuple[str, int], Cell]:
    """Counts per (unit, first-level indicator) over the rated indicators in `level1_of` (indicator → level-1 no).

    rated: a submitted consensus or at least one submitted independent rating;
    draft: not rated yet but someone has a draft; disputed: submitted levels spread
    ≥ DISAGREEMENT_SPREAD and no consensus yet; no_evidence: nothing tagged, hinted or linked.
    """
    by_item = ratings_by_item(session, year, unit_codes)
    evidence = items_with_evidence(session, year)
    cells: dict[tuple[str, int], Cell] = {}
    for unit in unit_codes:
        for no, level1 in level1_of.items():
            cell = cells.setdefault((unit, level1), Cell())
            cell.total += 1
            ratings = by_item.get((unit, no), [])
            consensus = any(r.kind == "consensus" and r.status == "submitted" for r in ratings)
            submitted = [r.level_value for r in ratings if r.kind == "independent" and r.status == "submitted"
                         and r.level_value is not None]
            if consensus or submitted:
                cell.rated += 1
            elif any(r.status == "draft" for r in ratings):
                cell.draft += 1
            if not consensus and is_disputed(submitted):
                cell.disputed += 1
            if (unit, no) not in evidence:
                cell.no_evidence += 1
    return cells


# ── evidence beside the rubric ──────────────────────────────────────────────

SOURCE_LABELS = {"confirmed": "已确认", "suggested": "系统建议", "hinted": "单位标注", "candidate": "候选"}
SOURCE_ORDER = {"confirmed": 0, "suggested": 1, "hinted": 2, "candidate": 3}
HINTED_PASSAGES_PER_DOCUMENT = 5
MAX_CANDIDATES = 80


@dataclass
class Candidate:
    passage: Passage
    document: Document
    source: str  # confirmed | suggested | hinted | candidate
    reason: str = ""
    score: float = 0.0
    decision: str | None = None  # the latest reviewer decision on this passage's tag, if any


def candidate_passages(session: Session, year: int, unit_code: str, indicator_no: int) -> list[Candidate]:
    """Passages of the unit's active evidence for the year that bear on the indicator.

    Confirmed tags first, then the tagger's suggestions, the documents the province
    hinted (their first passages), then the tagger's weaker candidates; each once.
    """
    documents = {d.current_version_id: d for d in session.exec(select(Document).where(
        Document.unit_code == unit_code, Document.year == year, Document.status == "active",
        Document.current_version_id != None))}  # noqa: E711
    if not documents:
        return []
    doc_ids = [d.id for d in documents.values()]
    verdicts = Verdicts.load(session, doc_ids, indicator_no)
    found: dict[int, Candidate] = {}

    def put(passage: Passage, source: str, reason: str = "", score: float = 0.0) -> None:
        document = documents.get(passage.version_id)
        if document is None:
            return
        decision = verdicts.of(document.id, passage.id, indicator_no)
        if decision == "confirm":
            source = "confirmed"
        known = found.get(passage.id)
        if known is None or SOURCE_ORDER[source] < SOURCE_ORDER[known.source]:
            found[passage.id] = Candidate(passage, document, source, reason or (known.reason if known else ""),
                                          score, decision)

    suggestions = session.exec(select(TagSuggestion, Passage).join(Passage, Passage.id == TagSuggestion.passage_id)
                               .where(TagSuggestion.version_id.in_(documents),
                                      TagSuggestion.indicator_no == indicator_no)
                               .order_by(TagSuggestion.score.desc())).all()
    for s, passage in suggestions:
        put(passage, "suggested" if s.suggested else "candidate", s.reason, s.score)
    confirmed_ids = [pid for (_doc, pid, _no), d in verdicts.items()
                     if d == "confirm" and pid is not None and pid not in found]
    for passage in session.exec(select(Passage).where(Passage.id.in_(confirmed_ids))) if confirmed_ids else []:
        put(passage, "confirmed", "评审人员确认")
    for version_id, document in documents.items():
        if indicator_no in {int(n) for n in (document.indicator_hints or []) if str(n).isdigit()}:
            for passage in session.exec(select(Passage).where(Passage.version_id == version_id)
                                        .order_by(Passage.seq).limit(HINTED_PASSAGES_PER_DOCUMENT)):
                put(passage, "hinted", "填报单位提交时标注了该指标")
    ordered = sorted(found.values(), key=lambda c: (SOURCE_ORDER[c.source], -c.score, c.document.id, c.passage.seq))
    return ordered[:MAX_CANDIDATES]
