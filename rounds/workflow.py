"""The yearly round on top of the database: history, spot-check, scores, categories, self-assessment.

The rules themselves are pure functions in rounds/spotcheck.py, rounds/scoring.py and
rounds/categories.py; this module reads their inputs from the database and records
their results, with an audit trail.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date

from sqlmodel import Session, select

from evidence import audit
from review.worklist import today_in_china
from review.year_lock import FINAL, closed_notice, is_closed
from rubrics.indicators import system_in_force
from rubrics.units import in_national_order, unit_name, unit_names
from rounds.categories import CATEGORIES as CATEGORY_ORDER, DEFAULT_THRESHOLDS
from evidence.models import (CategoryDecision, Conflict, EvidenceLink, Rating, Round, SelfAssessment, SelfAssessmentItem, SpotCheck,
                             StatisticValue, SurveyResult, Unit, User, utcnow)


class RoundError(ValueError):
    """A user-facing problem with the round's data, in Chinese."""


def get_round(session: Session, year: int) -> Round:
    rnd = session.exec(select(Round).where(Round.year == year)).first()
    if rnd is None:
        raise RoundError(f"{year} 年度的评价尚未建立。请先在“评价年度”中创建。")
    return rnd


def create_round(session: Session, year: int, user: User | None = None, **deadlines) -> Round:
    if session.exec(select(Round).where(Round.year == year)).first():
        raise RoundError(f"{year} 年度已存在。")
    system = system_in_force(year)
    rnd = Round(year=year, indicator_version=system.version,
                self_assessment_due=deadlines.get("self_assessment_due") or date(year + 1, 2, 28),
                spotcheck_due=deadlines.get("spotcheck_due") or date(year + 1, 3, 31),
                review_due=deadlines.get("review_due") or date(year + 1, 7, 31),
                upload_due=deadlines.get("upload_due"),
                category_thresholds=dict(DEFAULT_THRESHOLDS))
    session.add(rnd)
    audit.record(session, "round", user=user, object_type="round", object_id=year,
                 detail={"created": True, "indicator_version": system.version})
    return rnd


def require_office(user: User, what: str) -> None:
    if user.role != "office":
        raise RoundError(f"只有协调小组办公室可以{what}。")


def open_round(session: Session, year: int, consequence: str = FINAL) -> Round:
    """The round of `year`, refused once it is closed: its scores are final (review/year_lock.py, the one
    rule). consequence says what that stops."""
    rnd = get_round(session, year)
    if is_closed(rnd):
        raise RoundError(closed_notice(session, year, consequence))
    return rnd


def close_round(session: Session, user: User, year: int) -> Round:
    """End the year: its scores, categories and 专报 are final, and every record of the year is read-only."""
    require_office(user, "结束年度评价")
    rnd = open_round(session, year, "无需再次结束。")
    rnd.status = "closed"
    audit.record(session, "round", user=user, object_type="round", object_id=year, detail={"closed": True})
    return rnd


def reopen_round(session: Session, user: User, year: int, reason: str) -> Round:
    """Undo an end of the year (a mistake, a late correction the coordination group approved); needs a reason."""
    require_office(user, "重新开放年度评价")
    rnd = get_round(session, year)
    if not is_closed(rnd):
        raise RoundError(f"{year} 年度评价尚未结束，无需重新开放。")
    if not reason.strip():
        raise RoundError("重新开放年度评价必须写明理由（将记入审计日志）。")
    rnd.status = "open"
    audit.record(session, "round", user=user, object_type="round", object_id=year,
                 detail={"reopened": True, "reason": reason.strip()})
    return rnd


def system_for(rnd: Round):
    return system_in_force(rnd.year)


# ── Self-assessment ─────────────────────────────────────────────────────────

def self_assessment(session: Session, year: int, unit_code: str, create: bool = True) -> SelfAssessment:
    """The unit's self-assessment for the year; with create=False an unsaved blank one if none exists."""
    sa = session.exec(select(SelfAssessment).where(SelfAssessment.year == year,
                                                   SelfAssessment.unit_code == unit_code)).first()
    if sa is None:
        sa = SelfAssessment(year=year, unit_code=unit_code)
        if create:
            session.add(sa)
            session.flush()
    return sa


def self_items(session: Session, sa: SelfAssessment) -> dict[int, SelfAssessmentItem]:
    if sa.id is None:
        return {}
    return {i.indicator_no: i for i in session.exec(
        select(SelfAssessmentItem).where(SelfAssessmentItem.self_assessment_id == sa.id))}


class SelfAssessmentInvalid(RoundError):
    """Typed values the rules refuse; `problems` maps each field to its Chinese message:
    ("category",), ("level", no), ("value", no, measure key), ("base", no, measure key)."""

    def __init__(self, problems: dict[tuple, str]):
        self.problems = problems
        shown = "；".join(list(problems.values())[:3]) + ("……" if len(problems) > 3 else "")
        super().__init__(f"有 {len(problems)} 处填写需要修改，未保存：{shown}")


MAX_ITEM_LINKS = 50  # passages linked to one indicator of a self-assessment


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def editable_self_assessment(session: Session, user: User, year: int, today: date | None = None) -> SelfAssessment:
    """The province's own self-assessment, if it may still change it (not locked, deadline not passed
    unless the office reopened it, year not ended); created on first use."""
    rnd = open_round(session, year)
    if user.role != "province" or not user.unit_code:
        raise RoundError("只有省级填报人员可以填写本单位自评。")
    sa = self_assessment(session, year, user.unit_code)
    if sa.status == "submitted":
        raise RoundError("自评已提交并锁定；如需修改，请联系协调小组办公室退回。")
    if (today or today_in_china()) > rnd.self_assessment_due and not sa.reopen_reason:
        raise RoundError(f"自评截止日期（{_chinese_date(rnd.self_assessment_due)}）已过，无法再修改。")
    return sa


def self_assessment_problems(system, category: str | None, levels: dict[int, int | None],
                             values: dict[int, dict[str, dict]]) -> dict[tuple, str]:
    """Every problem of what was typed, by field; the statistic rule is rounds.statistics.check_value,
    the same the office's corrections and the template import apply."""
    from rounds.statistics import check_value
    problems: dict[tuple, str] = {}
    if category and category not in CATEGORY_ORDER:
        problems[("category",)] = f"未知的自评类别：{category}"
    for no, level in levels.items():
        indicator = system.get(no)
        if level is not None and level not in indicator.level_values:
            problems[("level", no)] = (f"指标 {no} 的自评等级 {level} 不在评分细则范围内"
                                       f"（可选：{'、'.join(map(str, indicator.level_values))}）")
    for no, measures in values.items():
        indicator = system.get(no)
        known = {m.key: m for m in indicator.measures}
        for key, entry in measures.items():
            measure = known.get(key)
            if measure is None:
                problems[("value", no, key)] = f"指标 {no} 没有这一数值项，请刷新页面后重试"
                continue
            for part, field, what in (("value", "value", "本年值"), ("base_value", "base", "基期值")):
                problem = check_value(measure, entry.get(part), what)
                if problem:
                    problems[(field, no, key)] = f"指标 {no}“{measure.label}”：{problem}"
    return problems


def save_self_assessment(session: Session, user: User, year: int, *, category: str | None, report: str,
                         levels: dict[int, int | None], narratives: dict[int, str],
                         values: dict[int, dict[str, dict]], links: list[tuple[int, int]] = (),
                         unlink: list[int] = (), unreadable: dict[tuple, str] | None = None,
                         today: date | None = None) -> SelfAssessment:
    """Store the unit's draft. An indicator named in levels, narratives or values is set (None, "" or {}
    clears it); one not named keeps what it had. Links: (indicator no, passage id) to add, link ids
    to remove. `unreadable`: fields the caller could not even read (text in a number field …), keyed
    like the problems. Every problem is reported at once by field (SelfAssessmentInvalid) and nothing
    is stored; a save that changes nothing writes nothing (autosave sends the same form often)."""
    from rounds.self_assessment import fingerprint, item_links
    from rubrics.indicators import RubricError
    sa = editable_self_assessment(session, user, year, today)
    system = system_for(get_round(session, year))
    try:
        problems = {**(unreadable or {}), **self_assessment_problems(system, category, levels, values)}
        for no in set(narratives) | {no for no, _ in links}:
            system.get(no)
    except RubricError as exc:
        raise RoundError(str(exc)) from None
    if problems:
        raise SelfAssessmentInvalid(problems)
    items = self_items(session, sa)
    before = fingerprint(sa, items, item_links(session, items))
    for no in set(levels) | set(narratives) | set(values):
        item = items.get(no)
        if item is None and levels.get(no) is None and not narratives.get(no) and not any(
                v is not None for entry in values.get(no, {}).values() for v in entry.values()):
            continue  # an untouched indicator gets no row
        item = item or SelfAssessmentItem(self_assessment_id=sa.id, indicator_no=no)
        if no in levels:
            item.level_value = levels[no]
        if no in narratives:
            item.narrative = narratives[no]
        if no in values:
            item.values = _with_growth(values[no])
        session.add(item)
        items[no] = item
    sa.self_category = category
    sa.report = report
    session.flush()
    for no, passage_id in links:
        _link_item(session, user, sa, items, no, passage_id)
    _unlink(session, items, unlink)
    session.flush()
    after = fingerprint(sa, items, item_links(session, items))
    if after != before:
        audit.record(session, "self_assessment", user=user, object_type="self_assessment", object_id=sa.id,
                     detail={"year": year, "category": category, "saved": True})
    return sa


def _with_growth(measures: dict[str, dict]) -> dict[str, dict]:
    """Growth is computed from the base-year value, never typed (the values passed rounds/statistics first)."""
    from rounds.scoring import growth_rate
    out = {}
    for key, entry in measures.items():
        value, base = entry.get("value"), entry.get("base_value")
        if value is None and base is None:
            continue
        growth = None
        if value is not None and base not in (None, 0):
            growth = round(growth_rate(float(value), float(base)) * 100, 2)
        out[key] = {"value": value, "base_value": base, "growth_pct": growth}
    return out


def _link_item(session: Session, user: User, sa: SelfAssessment, items: dict[int, SelfAssessmentItem],
               no: int, passage_id: int) -> EvidenceLink | None:
    """Link one passage of the unit's own current evidence of the year to an item (made if needed);
    a passage already linked there stays linked once."""
    from review.links import citable_passage, link_passage
    passage = citable_passage(session, passage_id, sa.unit_code, sa.year)
    if passage is None:
        raise RoundError("只能关联本单位本年度的有效证据。")
    item = items.get(no)
    if item is None:
        item = items[no] = SelfAssessmentItem(self_assessment_id=sa.id, indicator_no=no)
        session.add(item)
        session.flush()
    existing = list(session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "self_item",
                                                            EvidenceLink.owner_id == item.id)))
    if any(link.passage_id == passage.id for link in existing):
        return None
    if len(existing) >= MAX_ITEM_LINKS:
        raise RoundError(f"每项指标最多关联 {MAX_ITEM_LINKS} 处证据。")
    return link_passage(session, "self_item", item.id, passage, user)


def _unlink(session: Session, items: dict[int, SelfAssessmentItem], link_ids: list[int]) -> None:
    """Remove links, only ever those of this self-assessment's own items."""
    owners = [item.id for item in items.values() if item.id is not None]
    if not link_ids or not owners:
        return
    for link in session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "self_item",
                                                        EvidenceLink.owner_id.in_(owners),
                                                        EvidenceLink.id.in_(list(link_ids)))):
        session.delete(link)


def link_self_evidence(session: Session, user: User, year: int, indicator_no: int, passage_id: int,
                       today: date | None = None) -> SelfAssessment:
    """The passage picker's 关联: one passage to one indicator of the province's own draft."""
    from rubrics.indicators import RubricError
    sa = editable_self_assessment(session, user, year, today)
    try:
        indicator = system_for(get_round(session, year)).get(indicator_no)
    except RubricError as exc:
        raise RoundError(str(exc)) from None
    if indicator.source == "survey":
        raise RoundError(f"指标 {indicator_no} 由满意度调查得出，无需关联证据。")
    link = _link_item(session, user, sa, self_items(session, sa), indicator_no, passage_id)
    if link is not None:
        session.flush()
        audit.record(session, "self_assessment", user=user, object_type="self_assessment", object_id=sa.id,
                     detail={"year": year, "indicator": indicator_no, "linked_passage": passage_id})
    return sa


def submit_self_assessment(session: Session, user: User, year: int, today: date | None = None,
                           confirmed: str | None = None) -> SelfAssessment:
    """Lock the draft. `confirmed` is the fingerprint the confirmation page showed: if the draft changed
    since, nothing is locked and the unit confirms again."""
    from rounds.self_assessment import fingerprint, item_links
    sa = editable_self_assessment(session, user, year, today)
    if not sa.self_category:
        raise RoundError("请先选择自评类别。")
    if not sa.report.strip():
        raise RoundError("请填写自评报告。")
    if confirmed is not None:
        items = self_items(session, sa)
        if fingerprint(sa, items, item_links(session, items)) != confirmed:
            raise RoundError("确认之后自评内容又有改动（可能在另一个窗口保存过），请核对后重新确认。")
    sa.status, sa.submitted_at, sa.submitted_by = "submitted", utcnow(), user.id
    audit.record(session, "self_assessment", user=user, object_type="self_assessment", object_id=sa.id,
                 detail={"year": year, "submitted": True, "category": sa.self_category})
    return sa


def reopen_self_assessment(session: Session, user: User, year: int, unit_code: str, reason: str) -> SelfAssessment:
    if user.role != "office":
        raise RoundError("只有协调小组办公室可以退回自评。")
    if not reason.strip():
        raise RoundError("退回自评必须写明理由。")
    open_round(session, year)
    existing = session.exec(select(SelfAssessment).where(SelfAssessment.year == year,
                                                         SelfAssessment.unit_code == unit_code)).first()
    if existing is None or existing.status != "submitted":
        raise RoundError(f"{unit_name(unit_code)}的 {year} 年度自评尚未提交，无需退回。")
    sa = existing
    sa.status, sa.reopen_reason = "draft", reason.strip()
    audit.record(session, "self_reopen", user=user, object_type="self_assessment", object_id=sa.id,
                 detail={"year": year, "unit": unit_code, "reason": reason})
    return sa


# ── Spot-check ──────────────────────────────────────────────────────────────

def submitted_self_categories(session: Session, year: int) -> dict[str, str]:
    """Only a submitted self-assessment speaks for a unit; drafts count for nothing."""
    return {s.unit_code: s.self_category for s in session.exec(select(SelfAssessment).where(
        SelfAssessment.year == year, SelfAssessment.status == "submitted")) if s.self_category}


def unit_histories(session: Session, year: int) -> list:
    from rounds.spotcheck import UnitHistory
    prev_cat = {c.unit_code: c.category for c in session.exec(
        select(CategoryDecision).where(CategoryDecision.year == year - 1))}
    self_now = submitted_self_categories(session, year)
    self_prev = submitted_self_categories(session, year - 1)
    last = approved_spotcheck(session, year - 1)
    checked = set(last.selected) if last else set()
    return [UnitHistory(code=u.code, previous_category=prev_cat.get(u.code), self_category=self_now.get(u.code),
                        previous_self_category=self_prev.get(u.code), checked_last_year=u.code in checked)
            for u in session.exec(select(Unit).order_by(Unit.code))]


def propose_spotcheck(session: Session, user: User, year: int, seed: int | None = None,
                      change_basis: str = "previous_category") -> SpotCheck:
    from rounds.spotcheck import draw_spotcheck
    open_round(session, year)
    if approved_spotcheck(session, year) is not None:
        raise RoundError(f"{year} 年度的抽查名单已审定，不能重新抽取；如需调整请按程序重新审定。")
    if seed is not None and not 0 <= seed < 2 ** 63:
        raise RoundError("随机种子应为 0 到 2^63 之间的整数。")
    result = draw_spotcheck(unit_histories(session, year), seed=seed, change_basis=change_basis)
    sc = SpotCheck(year=year, seed=result.seed, change_basis=change_basis, selected=list(result.selected),
                   reasons={k: list(v) for k, v in result.reasons.items()}, conflicts=list(result.conflicts),
                   draw=dataclasses.asdict(result), created_by=user.id)
    session.add(sc)
    session.flush()
    audit.record(session, "spotcheck", user=user, object_type="spotcheck", object_id=sc.id,
                 detail={"year": year, "seed": result.seed, "selected": list(result.selected)})
    return sc


def current_spotcheck(session: Session, year: int) -> SpotCheck | None:
    """The list that counts: the approved one if there is one, else the latest proposal."""
    return approved_spotcheck(session, year) or session.exec(
        select(SpotCheck).where(SpotCheck.year == year).order_by(SpotCheck.id.desc())).first()


def approved_spotcheck(session: Session, year: int) -> SpotCheck | None:
    return session.exec(select(SpotCheck).where(SpotCheck.year == year, SpotCheck.status == "approved")
                        .order_by(SpotCheck.id.desc())).first()


def override_spotcheck(session: Session, user: User, sc: SpotCheck, *, add: list[str], remove: list[str],
                       reason: str) -> SpotCheck:
    """The office's change to the proposal: forced units stay, quota breaches are recorded as conflicts."""
    from rounds.spotcheck import SpotcheckOverrideError, SpotcheckResult, apply_override
    open_round(session, sc.year)
    if sc.status == "approved":
        raise RoundError("抽查名单已审定，不能再调整。")
    current = SpotcheckResult(**{**sc.draw, "selected": list(sc.selected), "reasons": dict(sc.reasons),
                                 "conflicts": list(sc.conflicts)})
    try:
        result = apply_override(current, add=add, remove=remove, reason=reason)
    except SpotcheckOverrideError as exc:
        raise RoundError(str(exc)) from None
    sc.selected, sc.reasons, sc.conflicts = list(result.selected), dict(result.reasons), list(result.conflicts)
    sc.draw = dataclasses.asdict(result)
    sc.overrides = list(sc.overrides) + [{"add": add, "remove": remove, "reason": reason.strip(),
                                          "by": user.username, "by_name": user.display_name or user.username,
                                          "at": utcnow().isoformat(timespec="seconds")}]
    audit.record(session, "spotcheck", user=user, object_type="spotcheck", object_id=sc.id,
                 detail={"override": {"add": add, "remove": remove}, "reason": reason})
    return sc


def approve_spotcheck(session: Session, user: User, sc: SpotCheck, approved_at: date, meeting: str) -> SpotCheck:
    open_round(session, sc.year)
    if sc.status == "approved":  # a final record: its date and meeting are not rewritten
        raise RoundError(f"该抽查名单已于 {sc.approved_at} 经“{sc.approval_meeting}”审定，不能再次审定。")
    if not meeting.strip():
        raise RoundError("请填写审定的会议（如：协调小组第N次会议）。")
    sc.status, sc.approved_at, sc.approval_meeting = "approved", approved_at, meeting.strip()
    audit.record(session, "spotcheck", user=user, object_type="spotcheck", object_id=sc.id,
                 detail={"approved_at": approved_at.isoformat(), "meeting": meeting})
    return sc


# ── Scores and categories ───────────────────────────────────────────────────

def item_values(session: Session, year: int) -> dict[tuple[str, int], dict]:
    """Per (unit, indicator): the consensus value if any, else the submitted independent values.

    A reviewer's rating of a unit they later declared a conflict with does not count.
    """
    conflicted = set(session.exec(select(Conflict.user_id, Conflict.unit_code)).all())
    out: dict[tuple[str, int], dict] = defaultdict(lambda: {"consensus": None, "independent": {}})
    for r in session.exec(select(Rating).where(Rating.year == year, Rating.status == "submitted")):
        entry = out[(r.unit_code, r.indicator_no)]
        if r.kind == "consensus":
            entry["consensus"] = r.level_value
        elif (r.reviewer_id, r.unit_code) not in conflicted:
            entry["independent"][r.reviewer_id] = r.level_value
    return out


def measure_values(session: Session, year: int) -> dict:
    """{(unit, indicator, measure): MeasureValue}: the submitted self-assessments, then the office's values.

    A draft speaks for nobody; a value the office imported or corrected replaces the unit's own (a row
    that only records the office's confirmation of the unit's own value is no value of its own).
    """
    from rounds.scoring import MeasureValue
    from rounds.statistics import SOURCE_CONFIRMED_SELF, SOURCE_SELF
    out = {}
    submitted = {s.id: s.unit_code for s in session.exec(select(SelfAssessment).where(
        SelfAssessment.year == year, SelfAssessment.status == "submitted"))}
    if submitted:
        for item in session.exec(select(SelfAssessmentItem).where(
                SelfAssessmentItem.self_assessment_id.in_(list(submitted)))):
            for key, entry in (item.values or {}).items():
                out[(submitted[item.self_assessment_id], item.indicator_no, key)] = MeasureValue(
                    entry.get("value"), entry.get("base_value"), SOURCE_SELF)
    for row in session.exec(select(StatisticValue).where(StatisticValue.year == year,
                                                         StatisticValue.source != SOURCE_CONFIRMED_SELF)):
        out[(row.unit_code, row.indicator_no, row.measure_key)] = MeasureValue(
            row.value, row.base_value, row.source + (f"（{row.reason}）" if row.reason else ""))
    return out


def self_assessed_levels(session: Session, year: int) -> dict[tuple[str, int], int]:
    """{(unit, indicator): level} from submitted self-assessments."""
    submitted = {s.id: s.unit_code for s in session.exec(select(SelfAssessment).where(
        SelfAssessment.year == year, SelfAssessment.status == "submitted"))}
    if not submitted:
        return {}
    return {(submitted[i.self_assessment_id], i.indicator_no): i.level_value for i in session.exec(
        select(SelfAssessmentItem).where(SelfAssessmentItem.self_assessment_id.in_(list(submitted))))
        if i.level_value is not None}


def survey_indices(session: Session, year: int) -> dict:
    """{(unit, indicator): SurveyIndex} pooling every batch recorded for the unit: the responses to its
    surveys (rounds/surveys.py, answered online or imported) and results reported as summaries."""
    from rounds.scoring import ResponseBatch, pooled_index
    from rounds.surveys import response_batches
    batches: dict[tuple[str, int], list[ResponseBatch]] = defaultdict(list)
    for row in session.exec(select(SurveyResult).where(SurveyResult.year == year)):
        batches[(row.unit_code, row.indicator_no)].append(ResponseBatch(row.respondents, row.score, row.score_sd))
    for key, batch in response_batches(session, year).items():
        batches[key].append(batch)
    out = {}
    for key, rows in batches.items():
        index = pooled_index(rows)
        if index is not None:
            out[key] = index
    return out


def round_scores(session: Session, year: int) -> list:
    """Every unit on all the year's indicators — THE scores: dashboard, `kaoping scores`, XLSX and 专报 use these."""
    from rounds.scoring import RatingInput, score_round
    rnd = get_round(session, year)
    sc = current_spotcheck(session, year)
    checked = set(sc.selected) if sc else set()
    self_levels = {key: level for key, level in self_assessed_levels(session, year).items() if key[0] not in checked}
    rated = item_values(session, year)
    ratings = {key: RatingInput(consensus=rated[key]["consensus"] if key in rated else None,
                                independent=tuple(v for v in rated[key]["independent"].values() if v is not None)
                                if key in rated else (),
                                self_assessed=self_levels.get(key))
               for key in set(rated) | set(self_levels)}
    units = [(u.code, u.name) for u in in_national_order(session.exec(select(Unit)))]
    return score_round(system_for(rnd), units, ratings, measure_values(session, year), survey_indices(session, year))


def unit_scores(session: Session, year: int) -> dict[str, dict]:
    """round_scores keyed by unit, in the plain shape the pages use."""
    return {u.code: {"name": u.name, "total": round(u.total, 2), "complete": u.complete,
                     "scored_share": u.scored_share, "missing": [r.no for r in u.waiting],
                     "level1": u.level1_points(), "result": u}
            for u in round_scores(session, year)}


@dataclasses.dataclass
class CategoryOutcome:
    decisions: list[CategoryDecision]
    pending: list[str]  # spot-checked units whose review is not complete: not categorised yet
    without_self: list[str] = dataclasses.field(default_factory=list)  # neither checked nor self-assessed

    def message(self) -> str:
        text = f"已认定 {len(self.decisions)} 个单位的类别。"
        if self.pending:
            text += f"以下抽查单位评分尚未完成，暂不认定（也可由办公室直接认定并说明理由）：{unit_names(self.pending)}。"
        if self.without_self:
            text += (f"以下 {len(self.without_self)} 个单位未被抽查、也尚未提交自评类别，暂不认定"
                     f"（也可由办公室直接认定并说明理由）：{unit_names(self.without_self)}。")
        return text


def decide_categories(session: Session, user: User, year: int, adjustments: dict[str, str] | None = None,
                      note: str = "") -> CategoryOutcome:
    """Spot-checked units by their completed score; the others by their submitted self-category.

    An office adjustment needs a reason and stays in force when the categories are recomputed later.
    """
    from rounds.categories import CategoryError, decide_category, validate_thresholds
    rnd = open_round(session, year)
    try:
        thresholds = validate_thresholds(rnd.category_thresholds or DEFAULT_THRESHOLDS)
    except CategoryError as exc:
        raise RoundError(str(exc)) from None
    adjustments = dict(adjustments or {})
    if adjustments and not note.strip():
        raise RoundError("调整类别须在“认定说明”中写明理由。")
    sc = current_spotcheck(session, year)
    checked = set(sc.selected) if sc else set()
    scores = unit_scores(session, year)
    selfcat = submitted_self_categories(session, year)
    existing = {c.unit_code: c for c in session.exec(select(CategoryDecision).where(CategoryDecision.year == year))}
    first_year = session.exec(select(CategoryDecision).where(CategoryDecision.year < year)).first() is None
    outcome = CategoryOutcome([], [])
    for code, s in scores.items():
        row = existing.get(code)
        if code not in adjustments and row is not None and row.source == "adjusted":
            continue  # the office's earlier decision stands until the office changes it
        complete = s["complete"]
        if code in checked and not complete:
            if code not in adjustments:
                outcome.pending.append(code)
                continue
            category, source = adjustments[code], "adjusted"
            basis = f"抽查评估尚未完成，由协调小组办公室认定：{note.strip()}"
        elif code in checked or selfcat.get(code) or code in adjustments:
            try:
                d = decide_category(code, spot_checked=code in checked, score=s["total"], thresholds=thresholds,
                                    self_category=selfcat.get(code), office_category=adjustments.get(code),
                                    office_reason=note, initial=first_year and code not in checked
                                    and not selfcat.get(code))
            except CategoryError as exc:
                raise RoundError(str(exc)) from None
            category = d.category
            source = "adjusted" if code in adjustments and d.computed != d.category else (
                "spotcheck" if code in checked else ("initial" if d.computed is None else "self"))
            basis = "；".join([d.basis, *d.notes])
        else:
            if row is None:
                outcome.without_self.append(code)
            continue
        if category not in CATEGORY_ORDER:
            raise RoundError(f"未知类别：{category}")
        old = _decision_fields(row) if row else None
        row = row or CategoryDecision(year=year, unit_code=code, category=category, source=source)
        row.category, row.source, row.score, row.note = category, source, s["total"], basis
        row.decided_by, row.decided_at = user.id, utcnow()
        session.add(row)
        outcome.decisions.append(row)
        if old != _decision_fields(row):  # any change, the reason's wording included, with both versions
            audit.record(session, "category", user=user, object_type="unit", object_id=code,
                         detail={"year": year, "from": old and old["category"], "to": category, "basis": basis,
                                 "old": old, "new": _decision_fields(row)})
    return outcome


def _decision_fields(row: CategoryDecision) -> dict:
    return {"category": row.category, "source": row.source, "score": row.score, "note": row.note}


def category_history(session: Session) -> dict[str, dict[int, str]]:
    history: dict[str, dict[int, str]] = defaultdict(dict)
    for c in session.exec(select(CategoryDecision)):
        history[c.unit_code][c.year] = c.category
    return history
