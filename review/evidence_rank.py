"""The unit's passages most likely to evidence indicator N, for the scoring screen.

The database side of tagging/evidence_rank.py (passed in as `rank`, since
review/ knows records, not the tagger): it reads the unit's active
evidence for the year (only that unit's: a reviewer sees what the item shows),
the ingest tagger's stored passage scores and the reviewers' latest decisions,
and returns the best few.  Confirmed passages lead, rejected ones are left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlmodel import Session, select

from evidence.models import Document, Passage, TagDecision, TagSuggestion

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
    latest: dict[int, str] = {}
    for d in session.exec(select(TagDecision).where(
            TagDecision.document_id.in_([doc.id for doc in documents.values()]),
            TagDecision.indicator_no == indicator_no, TagDecision.passage_id != None)  # noqa: E711
            .order_by(TagDecision.id)):
        latest[d.passage_id] = d.decision
    known = {s.passage_id: (s.score, s.reason) for s in session.exec(select(TagSuggestion).where(
        TagSuggestion.version_id.in_(list(documents)), TagSuggestion.indicator_no == indicator_no,
        TagSuggestion.passage_id != None))}  # noqa: E711
    by_id = {p.id: p for p in passages}
    ranked = rank([p.text for p in passages], indicator_no, keys=[p.id for p in passages],
                           year=year, known=known)
    ranked = [r for r in ranked if latest.get(r.key) != "reject"]
    ranked.sort(key=lambda r: (latest.get(r.key) != "confirm", -r.score))
    out = []
    for r in ranked[:limit]:
        passage = by_id[r.key]
        reason = "评审人员已确认。" if latest.get(r.key) == "confirm" else r.reason
        out.append(RankedEvidence(passage, documents[passage.version_id], r.score, reason, latest.get(r.key)))
    return out
