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

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from sqlmodel import Session, select

from evidence.models import Document, Passage, TagSuggestion
from review.tags import Verdicts

TOP_SHOWN = 5

# A unit's evidence can run to tens of thousands of passages; past this many the
# earliest passages of each document are ranked (titles and openings carry most).
MAX_PASSAGES = 20_000


# A passage's text never changes (a new version has new passages), so the texts of
# a unit's passages are kept by their ids, with the version each belongs to: a
# scoring screen loaded ~200 passages with their text on every opening. The same
# tuple is handed to the ranking each time, which then knows it without reading
# it again.
TEXTS_KEPT_CHARS = 32_000_000
_TEXTS: OrderedDict[tuple, tuple] = OrderedDict()
_TEXTS_LOCK = threading.Lock()


def _texts_of(session: Session, ids: tuple) -> tuple[tuple, tuple]:
    """(texts, version ids) of the passages, in the order of ``ids``."""
    with _TEXTS_LOCK:
        found = _TEXTS.get(ids)
        if found is not None:
            _TEXTS.move_to_end(ids)
            return found
    rows = {i: (t, v) for i, t, v in session.exec(
        select(Passage.id, Passage.text, Passage.version_id).where(Passage.id.in_(ids))).all()}
    texts = tuple((rows.get(i) or ("", None))[0] or "" for i in ids)
    versions = tuple((rows.get(i) or ("", None))[1] for i in ids)
    with _TEXTS_LOCK:
        _TEXTS[ids] = (texts, versions)
        while len(_TEXTS) > 1 and sum(sum(map(len, t)) for t, _ in _TEXTS.values()) > TEXTS_KEPT_CHARS:
            _TEXTS.popitem(last=False)
    return texts, versions


@dataclass
class RankedEvidence:
    passage: Passage
    document: Document
    score: float
    reason: str
    decision: str | None = None


def prepare_units(session: Session, year: int, unit_codes, prepare: Callable) -> int:
    """Hand each unit's passage texts for the year to ``prepare`` (tagging.evidence_rank.unit_texts):
    what every indicator's ranking of the unit shares, made before a reviewer opens a screen."""
    done = 0
    for unit_code in unit_codes:
        documents = _active_versions(session, year, unit_code)
        ids = _passage_ids(session, documents)
        if ids:
            prepare(_texts_of(session, ids)[0])
            done += 1
    return done


def _active_versions(session: Session, year: int, unit_code: str) -> dict[int, Document]:
    return {d.current_version_id: d for d in session.exec(select(Document).where(
        Document.unit_code == unit_code, Document.year == year, Document.status == "active",
        Document.current_version_id != None))}  # noqa: E711


def _passage_ids(session: Session, documents: dict) -> tuple:
    if not documents:
        return ()
    return tuple(session.exec(select(Passage.id).where(Passage.version_id.in_(list(documents)))
                              .order_by(Passage.seq, Passage.version_id).limit(MAX_PASSAGES)))


def ranked_evidence(session: Session, year: int, unit_code: str, indicator_no: int, rank: Callable,
                    limit: int = TOP_SHOWN) -> list[RankedEvidence]:
    """`rank(texts, no, keys=, year=, known=)` orders passages (tagging.evidence_rank.rank_passages)."""
    documents = _active_versions(session, year, unit_code)
    ids = _passage_ids(session, documents)
    if not ids:
        return []
    texts, versions = _texts_of(session, ids)
    verdicts = Verdicts.load(session, [doc.id for doc in documents.values()], indicator_no)
    document_of = {pid: documents[vid] for pid, vid in zip(ids, versions) if vid in documents}
    decision = {pid: verdicts.of(document_of[pid].id, pid, indicator_no) for pid in document_of}
    known = {s.passage_id: (s.score, s.reason) for s in session.exec(select(TagSuggestion).where(
        TagSuggestion.version_id.in_(list(documents)), TagSuggestion.indicator_no == indicator_no,
        TagSuggestion.passage_id != None))}  # noqa: E711
    ranked = rank(texts, indicator_no, keys=list(ids), year=year, known=known)
    ranked = [r for r in ranked if r.key in document_of and decision[r.key] != "reject"]
    ranked = sorted(ranked, key=lambda r: (decision[r.key] != "confirm", -r.score))
    out = []
    for r in ranked[:limit]:
        passage = session.get(Passage, r.key)
        reason = "评审人员已确认。" if decision[r.key] == "confirm" else r.reason
        out.append(RankedEvidence(passage, document_of[r.key], r.score, reason, decision[r.key]))
    return out
