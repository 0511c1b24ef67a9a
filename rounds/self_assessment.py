"""A unit's self-assessment as people read it: how far the form is filled, what was submitted,
and who may read it.

Storing it (save, link, submit, reopen) is rounds/workflow.py; this module only reads.
- Progress: an indicator is filled when the unit has given what it owes for it — a level for a
  rated indicator, every value for a measured one. The satisfaction indicators (83–85) come
  from surveys, so the unit owes nothing for them and they are not counted.
- Reading: the claimed level with its rubric label, the narrative, the values with their source
  (the unit's own figure, and the office's where it corrected one), the linked passages.
- Who reads it: the office every unit; a reviewer the units assigned to them in that year and not
  conflicted with (nor their home unit); a province its own. Only a submitted self-assessment
  speaks for a unit, so others see a draft as "not submitted".
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlmodel import Session, select

from evidence.accounts import visible_units
from evidence.models import EvidenceLink, SelfAssessment, SelfAssessmentItem, StatisticValue, User
from review.document_meta import document_titles
from review.year_lock import closed_notice
from rubrics.indicators import KINDS, system_in_force
from rubrics.units import unit_name


BEIJING = timezone(timedelta(hours=8))


class SelfAssessmentAccessError(PermissionError):
    """This user may not read that unit's self-assessment (the message is Chinese)."""


def is_filled(indicator, item: SelfAssessmentItem | None) -> bool:
    return item is not None and indicator.answered(item.level_value, item.values)


@dataclass
class SectionProgress:
    no: int
    name: str
    owed: int
    open_nos: list[int]  # indicators of the section still to fill, in order

    @property
    def filled(self) -> int:
        return self.owed - len(self.open_nos)


@dataclass
class Progress:
    sections: list[SectionProgress]
    survey_nos: list[int]

    @property
    def filled(self) -> int:
        return sum(s.filled for s in self.sections)

    @property
    def owed(self) -> int:
        return sum(s.owed for s in self.sections)

    @property
    def open_nos(self) -> list[int]:
        return [no for s in self.sections for no in s.open_nos]


def progress(system, items: dict[int, SelfAssessmentItem]) -> Progress:
    sections = []
    for l1 in system.level1:
        nos = [no for l2 in l1.level2 for no in l2.indicator_nos if system.get(no).self_assessed]
        sections.append(SectionProgress(l1.no, l1.name, len(nos),
                                        [no for no in nos if not is_filled(system.get(no), items.get(no))]))
    return Progress(sections, [i.no for i in system.indicators if not i.self_assessed])


def item_links(session: Session, items: dict[int, SelfAssessmentItem]) -> dict[int, list[EvidenceLink]]:
    """The passages linked to each item, in the order they were linked."""
    by_id = {item.id: no for no, item in items.items() if item.id is not None}
    out: dict[int, list[EvidenceLink]] = {no: [] for no in items}
    if by_id:
        for link in session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "self_item",
                                                            EvidenceLink.owner_id.in_(list(by_id)))
                                 .order_by(EvidenceLink.id)):
            out[by_id[link.owner_id]].append(link)
    return out


def fingerprint(sa: SelfAssessment, items: dict[int, SelfAssessmentItem],
                links: dict[int, list[EvidenceLink]]) -> str:
    """A digest of everything the unit submits: the confirmation page carries it, so what is locked
    is what was shown (a save from another tab in between asks for a new confirmation)."""
    content = {
        "category": sa.self_category, "report": sa.report,
        "items": sorted([no, i.level_value, i.narrative, i.values or {}] for no, i in items.items()),
        "links": sorted([no, link.passage_id, link.start, link.end] for no, ls in links.items() for link in ls),
    }
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


# ── reading ─────────────────────────────────────────────────────────────────

@dataclass
class ValueRow:
    label: str
    unit: str
    value: float | None
    base_value: float | None
    growth_pct: float | None
    source: str = "自评报告"
    corrected: tuple[float | None, float | None, str] | None = None  # the office's value, base and why


@dataclass
class ItemReading:
    indicator: object
    kind_label: str
    owed: bool
    filled: bool
    level_value: int | None = None
    level_label: str = ""
    level_descriptor: str = ""
    narrative: str = ""
    values: list[ValueRow] = field(default_factory=list)
    links: list[EvidenceLink] = field(default_factory=list)


@dataclass
class SectionReading:
    no: int
    name: str
    items: list[ItemReading]


@dataclass
class SelfAssessmentReading:
    year: int
    unit_code: str
    unit_name: str
    submitted: bool
    shown: bool  # False: a draft, and the reader is not the unit — nothing of it is shown
    category: str | None = None
    report: str = ""
    submitted_at: datetime | None = None
    reopen_reason: str = ""
    progress: Progress | None = None

    @property
    def submitted_on(self) -> date | None:
        """The day it was submitted, in Beijing (the database keeps UTC)."""
        if self.submitted_at is None:
            return None
        at = self.submitted_at if self.submitted_at.tzinfo else self.submitted_at.replace(tzinfo=timezone.utc)
        return at.astimezone(BEIJING).date()
    sections: list[SectionReading] = field(default_factory=list)
    titles: dict[int, str] = field(default_factory=dict)  # document → what its cited passages are called


def ensure_can_read(session: Session, user: User, year: int, unit_code: str) -> None:
    if user.role == "office":
        return
    if user.role == "province":
        if user.unit_code == unit_code:
            return
        raise SelfAssessmentAccessError("只能查看本单位的自评。")
    if user.role == "reviewer":
        if unit_code == user.home_unit_code:
            raise SelfAssessmentAccessError("您与该单位存在回避关系，不能查看其自评。")
        if unit_code in (visible_units(session, user, year) or []):
            return
        raise SelfAssessmentAccessError("只能查看分配给您评审、且无回避关系的单位的自评。")
    raise SelfAssessmentAccessError("您无权查看自评。")


def _reading_of(indicator, item: SelfAssessmentItem | None, links: list[EvidenceLink],
                corrections: dict[str, StatisticValue]) -> ItemReading:
    reading = ItemReading(indicator, KINDS.get(indicator.kind, ""), indicator.self_assessed, is_filled(indicator, item),
                          links=links)
    if item is not None:
        reading.level_value, reading.narrative = item.level_value, item.narrative or ""
        if item.level_value is not None and item.level_value in indicator.level_values:
            level = indicator.level(item.level_value)
            reading.level_label, reading.level_descriptor = level.label, level.descriptor
    own = (item.values or {}) if item is not None else {}
    for m in indicator.measures:
        entry = own.get(m.key) or {}
        row = ValueRow(m.label, m.unit, entry.get("value"), entry.get("base_value"), entry.get("growth_pct"))
        fix = corrections.get(m.key)
        if fix is not None:
            row.corrected = (fix.value, fix.base_value, fix.source + (f"：{fix.reason}" if fix.reason else ""))
        if entry or fix is not None:
            reading.values.append(row)
    return reading


def reading(session: Session, system, year: int, unit_code: str, *, with_draft: bool = False
            ) -> SelfAssessmentReading:
    """The unit's self-assessment, indicator by indicator in the order of the indicator system.
    A draft is shown only with_draft (the unit reading its own)."""
    sa = session.exec(select(SelfAssessment).where(SelfAssessment.year == year,
                                                   SelfAssessment.unit_code == unit_code)).first()
    submitted = bool(sa and sa.status == "submitted")
    out = SelfAssessmentReading(year, unit_code, unit_name(unit_code), submitted, shown=submitted or with_draft)
    if sa is None or not out.shown:
        return out
    items = {i.indicator_no: i for i in session.exec(select(SelfAssessmentItem).where(
        SelfAssessmentItem.self_assessment_id == sa.id))}
    links = item_links(session, items)
    corrections: dict[int, dict[str, StatisticValue]] = {}
    for row in session.exec(select(StatisticValue).where(StatisticValue.year == year,
                                                         StatisticValue.unit_code == unit_code)):
        corrections.setdefault(row.indicator_no, {})[row.measure_key] = row
    out.category, out.report, out.submitted_at = sa.self_category, sa.report, sa.submitted_at
    out.reopen_reason = sa.reopen_reason
    out.progress = progress(system, items)
    out.titles = document_titles(session, [link.document_id for ls in links.values() for link in ls])
    for l1 in system.level1:
        nos = [no for l2 in l1.level2 for no in l2.indicator_nos]
        out.sections.append(SectionReading(l1.no, l1.name, [
            _reading_of(system.get(no), items.get(no), links.get(no, []), corrections.get(no, {})) for no in nos]))
    return out


def read_self_assessment(session: Session, user: User, year: int, unit_code: str) -> SelfAssessmentReading:
    """The reading of one unit's self-assessment for this user, after the access rule."""
    from rounds import workflow as W
    ensure_can_read(session, user, year, unit_code)
    if unit_name(unit_code) == unit_code:
        raise W.RoundError("没有这个单位。")
    system = W.system_for(W.get_round(session, year))
    return reading(session, system, year, unit_code, with_draft=user.role == "province")


def claimed_item(session: Session, year: int, unit_code: str, indicator_no: int) -> ItemReading | None:
    """What the unit's submitted self-assessment says about one indicator (the scoring screen shows it
    beside the rubric); None while the unit has not submitted."""
    sa = session.exec(select(SelfAssessment).where(SelfAssessment.year == year, SelfAssessment.unit_code == unit_code,
                                                   SelfAssessment.status == "submitted")).first()
    if sa is None:
        return None
    item = session.exec(select(SelfAssessmentItem).where(SelfAssessmentItem.self_assessment_id == sa.id,
                                                         SelfAssessmentItem.indicator_no == indicator_no)).first()
    links = item_links(session, {indicator_no: item})[indicator_no] if item else []
    corrections = {row.measure_key: row for row in session.exec(select(StatisticValue).where(
        StatisticValue.year == year, StatisticValue.unit_code == unit_code,
        StatisticValue.indicator_no == indicator_no))}
    return _reading_of(system_in_force(year).get(indicator_no), item, links, corrections)


# ── the province's form ─────────────────────────────────────────────────────

@dataclass
class FormState:
    rnd: object
    sa: SelfAssessment
    system: object
    items: dict[int, SelfAssessmentItem]
    links: dict[int, list[EvidenceLink]]
    progress: Progress
    closed: str = ""  # why nothing of the year can change any more (review/year_lock.py), or ''
    titles: dict[int, str] = field(default_factory=dict)  # document → what its linked passages are called

    @property
    def locked(self) -> bool:
        return self.sa.status == "submitted" or bool(self.closed)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.sa, self.items, self.links)

    @property
    def linked_count(self) -> int:
        return sum(len(ls) for ls in self.links.values())


def form_state(session: Session, unit_code: str, year: int | None = None) -> FormState | None:
    """The unit's self-assessment of the year (the latest round when no year is given) as its form
    shows it; None when there is no such round. Reading creates nothing."""
    from evidence.models import Round
    from rounds import workflow as W
    query = select(Round).where(Round.year == year) if year else select(Round).order_by(Round.year.desc())
    rnd = session.exec(query).first()
    if rnd is None:
        return None
    sa = W.self_assessment(session, rnd.year, unit_code, create=False)
    system = W.system_for(rnd)
    items = W.self_items(session, sa)
    links = item_links(session, items)
    return FormState(rnd, sa, system, items, links, progress(system, items), closed=closed_notice(session, rnd.year),
                     titles=document_titles(session, [link.document_id for ls in links.values() for link in ls]))
