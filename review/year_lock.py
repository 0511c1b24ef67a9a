"""Whether a year's records may still change: the one rule behind every read-only form of a closed year.

Once the office ends a year's round (Round.status "closed"), its scores, categories and 专报 are final,
so nothing they rest on changes any more, for anyone, the office included: self-assessments, ratings,
assignments, spot-check and categories, evidence (upload, withdrawal, corrections of its metadata),
statistics and surveys. Each service that writes a year's records refuses with `closed_notice` (in its own
error type, so each screen shows the refusal where it shows its others); each form that edits them asks
the same `closed_notice` to show itself read-only and say why. Ending and reopening a round are the only
writes left (rounds/workflow.py `close_round`, `reopen_round`).
"""
from __future__ import annotations

from sqlmodel import Session, select

from evidence.models import Round

CLOSED_STATUS = "closed"


def is_closed(rnd: Round | None) -> bool:
    return rnd is not None and rnd.status == CLOSED_STATUS


def closed_years():
    """The years whose round has ended, as a subquery (`Model.year.not_in(closed_years())`)."""
    return select(Round.year).where(Round.status == CLOSED_STATUS)


def year_closed(session: Session, year: int | None) -> bool:
    if year is None:
        return False
    return session.exec(select(Round.status).where(Round.year == year)).first() == CLOSED_STATUS


FINAL = "各项记录已定稿，只能查看，不能再修改。"


def closed_notice(session: Session, year: int | None, consequence: str = FINAL) -> str:
    """'' while the year's records may change; otherwise why they may not (the read-only form shows it, a
    refused write answers it). `consequence` says what the end of the year stops, where more is to say."""
    if not year_closed(session, year):
        return ""
    return f"本年度评估已结束：{year} 年度评价已由协调小组办公室结束，{consequence}"
