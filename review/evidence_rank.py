"""The unit's passages most likely to evidence indicator N, for the scoring screen.

The database side of tagging/evidence_rank.py (passed in as `rank`, since
review/ knows records, not the tagger): it reads the unit's active
evidence for the year (only that unit's: a reviewer sees what the item shows),
the ingest tagger's stored passage scores and the reviewers' decisions as they
stand (review.tags.Verdicts: the one rule for "latest decision wins", a
passage's own decision before its document's), and returns the best few.
Confirmed passages lead, rejected ones are left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlmodel import Session, select

from evidence.models import Document, Passage, TagSuggestion
from review.tags import Verdicts

TOP_SHOWN = 5

# A unit's evidence can run to tens of thousands of passages; past this many the
# earliest passages of each document are ranked (titles and openings carry most).
MAX_PASSAGES = 20_000


@dataclass
class RankedEvidence:
    passage: Passage
    document: Document
    score: float
    reason: str
    decision: str | None = None


def ranked_evidence(session: Session, year: int, unit_code: str, indicator_no: int, rank: Callable,
                    limit: int = TOP_SHOWN) -> list[RankedEvidence]:
    """`rank(texts, no, keys=, year=, known=)` orders passages (tagging.evidence_rank.rank_passages)."""
    documents = {d.current_version_id: d for d in session.exec(select(Document).where(
        Document.unit_code == unit_code, Document.year == year, Document.status == "active",
        Document.current_version_id != None))}  # noqa: E711
    if not documents:
        return []
    passages = list(session.exec(select(Passage).where(Passage.version_id.in_(list(documents)))
                                 .order_by(Passage.seq, Passage.version_id).limit(MAX_PASSAGES)))
    if not passages:
        return []
    verdicts = Verdicts.load(session, [doc.id for doc in documents.values()], indicator_no)
    known = {s.passage_id: (s.score, s.reason) for s in session.exec(select(TagSuggestion).where(
        TagSuggestion.version_id.in_(list(documents)), TagSuggestion.indicator_no == indicator_no,
        TagSuggestion.passage_id != None))}  # noqa: E711
    by_id = {p.id: p for p in passages}
    decision = {p.id: verdicts.of(documents[p.version_id].id, p.id, indicator_no) for p in passages}
    ranked = rank([p.text for p in passages], indicator_no, keys=[p.id for p in passages],
                  year=year, known=known)
    ranked = [r for r in ranked if decision[r.key] != "reject"]
    ranked.sort(key=lambda r: (decision[r.key] != "confirm", -r.score))
    out = []
    for r in ranked[:limit]:
        passage = by_id[r.key]
        reason = "评审人员已确认。" if decision[r.key] == "confirm" else r.reason
        out.append(RankedEvidence(passage, documents[passage.version_id], r.score, reason, decision[r.key]))
    return out
