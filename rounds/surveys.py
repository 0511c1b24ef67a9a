"""Satisfaction surveys for indicators 83–85: publish, answer, close, import, and the index per unit.

- The questionnaires are data (rubrics/questionnaires/<audience>.yaml): workers (83), enterprise
  managers and union cadres (84), provincial staff (85).
- The office publishes a survey per unit, year and audience; it is reached without an account by an
  unguessable link (secrets.token_urlsafe) and answered once per browser.  It takes answers until the
  office closes it, the round closes, or it reaches its cap.  An online answer beyond what one address
  may give it (a day's share, a burst, identical sheets) is kept but held, outside the index, until the
  office counts or discards it (hold_reasons, review_held).
- Responses gathered elsewhere come in through the response template (rounds/survey_sheet.py, XLSX or
  CSV): every bad cell is reported, nothing is stored from a file with errors, and a file is imported once.
- Each response is scored 0–100 by its questionnaire; response_batches hands the per-unit batches to
  rounds/workflow.survey_indices, which pools them into the index (with n and a 95% interval) that
  score_round turns into the points of 83–85 — or 样本不足 below the indicator's min_sample.

The web layer (review_ui/routes/surveys.py) owns what needs the app's secret: the signed browser id,
the per-page token and the keyed hash of the address; this module receives their results.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from evidence import audit
from evidence.file_policy import start_of_day
from evidence.models import Round, Survey, SurveyResponse, User, utcnow
from rounds.scoring import ResponseBatch
from rounds.survey_sheet import read_responses
from rounds.workflow import RoundError, get_round, open_round, require_office, system_for
from rubrics.indicators import load_units
from rubrics.questionnaires import AUDIENCES, Questionnaire, load_questionnaires, questionnaire

SOURCE_ONLINE = "在线填写"
SOURCE_IMPORT = "导入"
#: the most answers one survey takes (a link posted where it should not be cannot flood the index)
DEFAULT_MAX_RESPONSES = 3000
#: answers from one address to one survey within RATE_WINDOW beyond this are refused for a while: a
#: workshop on one Wi-Fi may answer together, a script may not
RATE_PER_ADDRESS = 60
RATE_WINDOW = timedelta(minutes=10)
#: What one address (a household, or a whole company behind one NAT) gives one survey and is counted at
#: once. Beyond it an answer is kept but held — not in the index — until the office counts or discards it
#: on the survey's page: the one-answer-per-browser cookie stops nobody who clears cookies.
COUNTED_PER_ADDRESS_DAY = 20
BURST_COUNT = 5  # answers from one address within BURST_WINDOW after which the next ones are held
BURST_WINDOW = timedelta(minutes=10)
IDENTICAL_PER_ADDRESS_DAY = 2  # the same answers from one address that day after which the next are held
COUNTED, HELD, DISCARDED = "counted", "held", "discarded"
STATUS_LABELS = {COUNTED: "计入", HELD: "待核", DISCARDED: "已舍弃"}
HOLD_REASONS = {
    "daily": f"同一网络当天超过 {COUNTED_PER_ADDRESS_DAY} 份",
    "burst": f"同一网络 {int(BURST_WINDOW.total_seconds() // 60)} 分钟内超过 {BURST_COUNT} 份",
    "identical": "与同一网络当天的其他答卷完全相同",
}


class SurveyUnavailable(Exception):
    """The public survey page cannot take an answer; status and a Chinese message for the respondent."""

    def __init__(self, status: int, message: str, title: str = "问卷无法填写"):
        super().__init__(message)
        self.status, self.message, self.title = status, message, title


class AnswerIncomplete(ValueError):
    """The answer sheet misses items or has values off the scale; problems in Chinese, nothing stored."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("；".join(problems))


def already_answered() -> SurveyUnavailable:
    return SurveyUnavailable(409, "您已经填写过这份问卷，每人只需填写一次，感谢您的参与。", "已经填写过")


def audience_name(audience: str) -> str:
    return questionnaire(audience).name


# ── publishing and closing (the office) ───────────────────────────────────

CLOSED = "问卷已随之关闭，不能再发布、开放或导入问卷。"


def _check_questionnaire(system, q: Questionnaire) -> None:
    indicator = system.get(q.indicator_no)
    if indicator.source != "survey":
        raise RoundError(f"问卷“{q.name}”对应的指标 {q.indicator_no}（{indicator.name}）不是满意度问卷指标。")


@dataclass
class Published:
    created: list[Survey]
    existing: list[Survey]

    def message(self) -> str:
        text = f"已发布 {len(self.created)} 份问卷。"
        if self.existing:
            text += f"另有 {len(self.existing)} 份此前已发布，链接不变。"
        return text


def publish(session: Session, user: User, year: int, *, units: list[str] | None = None,
            audiences: list[str] | None = None, max_responses: int = DEFAULT_MAX_RESPONSES,
            ip: str = "") -> Published:
    """A survey per unit and audience (all by default), each with its own unguessable link (audited)."""
    require_office(user, "发布问卷")
    rnd = open_round(session, year, CLOSED)
    system = system_for(rnd)
    known = [u.code for u in load_units()]
    units = list(units) if units else known
    unknown = [c for c in units if c not in known]
    if unknown:
        raise RoundError(f"未知的单位代码：{'、'.join(unknown)}")
    audiences = list(audiences) if audiences else list(AUDIENCES)
    qs = load_questionnaires()
    for a in audiences:
        if a not in qs:
            raise RoundError(f"未知的问卷对象：{a}")
        _check_questionnaire(system, qs[a])
    if not 1 <= int(max_responses) <= 100_000:
        raise RoundError("每份问卷的份数上限应在 1 到 100000 之间。")
    existing = {(s.unit_code, s.audience): s for s in session.exec(select(Survey).where(Survey.year == year))}
    out = Published([], [])
    for code in units:
        for a in audiences:
            if (code, a) in existing:
                out.existing.append(existing[(code, a)])
                continue
            survey = Survey(year=year, unit_code=code, audience=a, indicator_no=qs[a].indicator_no,
                            questionnaire_version=qs[a].version, token=secrets.token_urlsafe(24),
                            max_responses=int(max_responses), created_by=user.id)
            session.add(survey)
            out.created.append(survey)
    if out.created:
        session.flush()
        audit.record(session, "survey_publish", user=user, object_type="round", object_id=year, ip=ip,
                     detail={"year": year, "units": sorted({s.unit_code for s in out.created}),
                             "audience": [qs[a].name for a in audiences], "max_responses": int(max_responses)})
    return out


def set_open(session: Session, user: User, survey_id: int, *, open_: bool, ip: str = "") -> Survey:
    """Close a survey (its link answers 410 from now on) or open it again (audited)."""
    require_office(user, "关闭或开放问卷")
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise RoundError("问卷不存在。")
    if open_:
        open_round(session, survey.year, CLOSED)
    survey.status, survey.closed_at = ("open", None) if open_ else ("closed", utcnow())
    session.add(survey)
    audit.record(session, "survey_reopen" if open_ else "survey_close", user=user, object_type="survey",
                 object_id=survey.id, ip=ip,
                 detail={"year": survey.year, "unit": survey.unit_code, "audience": audience_name(survey.audience)})
    return survey


# ── answering (anyone with the link) ──────────────────────────────────────

def survey_by_token(session: Session, token: str) -> Survey:
    survey = session.exec(select(Survey).where(Survey.token == token)).first() if token else None
    if survey is None:
        raise SurveyUnavailable(404, "找不到这份问卷。请检查链接是否完整，或向发放问卷的单位索取新的链接。",
                                "问卷不存在")
    return survey


def responses_of(session: Session, survey: Survey) -> int:
    """Answers that take up room under the survey's cap: counted and held (a discarded one frees its place)."""
    return session.exec(select(func.count(SurveyResponse.id)).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.status != DISCARDED)).one()


def status_counts(session: Session, survey: Survey) -> dict[str, int]:
    """{counted, held, discarded: how many} of a survey's answers."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    counts.update(session.exec(select(SurveyResponse.status, func.count(SurveyResponse.id))
                               .where(SurveyResponse.survey_id == survey.id).group_by(SurveyResponse.status)).all())
    return counts


def check_answerable(session: Session, survey: Survey) -> None:
    """SurveyUnavailable (410) when the survey takes no more answers."""
    rnd = session.exec(select(Round).where(Round.year == survey.year)).first()
    if rnd is None or rnd.status == "closed":
        raise SurveyUnavailable(410, f"{survey.year}年度评价已结束，本问卷已关闭，感谢您的关注。", "问卷已关闭")
    if survey.status != "open":
        raise SurveyUnavailable(410, "本问卷已关闭，不再接受填写，感谢您的关注。", "问卷已关闭")
    if responses_of(session, survey) >= survey.max_responses:
        raise SurveyUnavailable(410, "本问卷已收满，不再接受填写，感谢您的参与。", "问卷已收满")


def parse_answers(q: Questionnaire, raw: dict[str, str], *, every_item: bool = True) -> dict[str, int]:
    """{item key: 1..5, or 0 for 不了解} from form values; AnswerIncomplete lists what is missing or wrong."""
    answers, problems = {}, []
    for n, item in enumerate(q.items, 1):
        value = str(raw.get(item.key) or "").strip()
        if value == "":
            if every_item:
                problems.append(f"第{n}题未作答")
            continue
        if value not in {str(v) for v in range(0 if q.unknown else 1, 6)}:
            problems.append(f"第{n}题的答案无效")
            continue
        answers[item.key] = int(value)
    if not problems and q.score(answers) is None:
        problems.append("请至少对一半的题目作出评价（“不了解”不计入）")
    if problems:
        raise AnswerIncomplete(problems)
    return answers


def _response(survey_or_key, q: Questionnaire, answers: dict[str, int], **fields) -> SurveyResponse:
    year, unit_code, survey_id = survey_or_key
    return SurveyResponse(year=year, unit_code=unit_code, indicator_no=q.indicator_no, audience=q.audience,
                          survey_id=survey_id, answers=answers, score=round(q.score(answers), 4), **fields)


def answered(session: Session, survey: Survey, browser: str) -> bool:
    """Whether this browser (its hashed id) has answered the survey."""
    return session.exec(select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id,
                                                        SurveyResponse.browser == browser)).first() is not None


def record_answer(session: Session, survey: Survey, raw: dict[str, str], *, browser: str, nonce: str,
                  ip_hash: str, now: datetime | None = None) -> SurveyResponse:
    """One answer sheet from the public page: checked (open, once per browser and page, rate, cap)
    and scored, or refused with SurveyUnavailable / AnswerIncomplete and nothing stored."""
    check_answerable(session, survey)
    if answered(session, survey, browser):
        raise already_answered()
    if session.exec(select(SurveyResponse.id).where(SurveyResponse.page_nonce == nonce)).first() is not None:
        raise SurveyUnavailable(409, "这一页问卷已经提交过，感谢您的参与。", "已经填写过")
    now = now or utcnow()
    if _from_address(session, survey, ip_hash, since=now - RATE_WINDOW) >= RATE_PER_ADDRESS:
        raise SurveyUnavailable(429, "同一网络提交过于频繁，请过十几分钟再填写。", "请稍后再试")
    q = questionnaire(survey.audience)
    answers = parse_answers(q, raw)
    pattern = answer_pattern(answers)
    reasons = hold_reasons(session, survey, ip_hash, pattern, now)
    response = _response((survey.year, survey.unit_code, survey.id), q, answers, source=SOURCE_ONLINE,
                         browser=browser, page_nonce=nonce, ip_hash=ip_hash, created_at=now, pattern=pattern,
                         status=HELD if reasons else COUNTED, hold_reason=",".join(reasons))
    session.add(response)
    return response


def answer_pattern(answers: dict[str, int]) -> str:
    """The same answers to every item give the same pattern (a hash: answers are JSON, which databases
    do not compare alike)."""
    return hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()[:32]


def _from_address(session: Session, survey: Survey, ip_hash: str, *, since: datetime, pattern: str | None = None) -> int:
    query = select(func.count(SurveyResponse.id)).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.ip_hash == ip_hash, SurveyResponse.created_at >= since)
    if pattern is not None:
        query = query.where(SurveyResponse.pattern == pattern)
    return session.exec(query).one()


def hold_reasons(session: Session, survey: Survey, ip_hash: str, pattern: str, now: datetime) -> list[str]:
    """Why an online answer is to be held for the office rather than counted at once (HOLD_REASONS keys;
    [] to count it): what its address already gave this survey today (Beijing day), within the last
    minutes, and with exactly these answers. Anonymous respondents may share one address (a company's
    NAT), so none of this refuses an answer: the office sees the held ones together and decides."""
    day = start_of_day(now)
    reasons = []
    if _from_address(session, survey, ip_hash, since=day) >= COUNTED_PER_ADDRESS_DAY:
        reasons.append("daily")
    if _from_address(session, survey, ip_hash, since=now - BURST_WINDOW) >= BURST_COUNT:
        reasons.append("burst")
    if _from_address(session, survey, ip_hash, since=day, pattern=pattern) >= IDENTICAL_PER_ADDRESS_DAY:
        reasons.append("identical")
    return reasons


def reason_labels(hold_reason: str) -> list[str]:
    return [HOLD_REASONS[r] for r in hold_reason.split(",") if r in HOLD_REASONS]


# ── held answers: the office counts or discards them ──────────────────────

@dataclass
class HeldGroup:
    """The held answers of one survey from one network (address hash), as the office reviews them."""
    network: str               # the keyed address hash: a form value, never shown
    label: str                 # 网络 1, 网络 2 … in the order they first answered
    count: int
    first: datetime
    last: datetime
    mean: float
    identical: int             # answers in the group that repeat another answer sheet of the group
    reasons: list[str]


def held_groups(session: Session, survey: Survey) -> list[HeldGroup]:
    """Held answers grouped by the network they came from, the largest group first."""
    rows = session.exec(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id,
                                                     SurveyResponse.status == HELD)
                        .order_by(SurveyResponse.created_at, SurveyResponse.id)).all()
    groups: dict[str, list[SurveyResponse]] = {}
    for row in rows:
        groups.setdefault(row.ip_hash or "", []).append(row)
    out = []
    for n, (network, items) in enumerate(groups.items(), 1):
        reasons = list(dict.fromkeys(label for row in items for label in reason_labels(row.hold_reason)))
        patterns = [row.pattern for row in items]
        out.append(HeldGroup(network, f"网络 {n}", len(items), items[0].created_at, items[-1].created_at,
                             sum(r.score for r in items) / len(items),
                             len(patterns) - len(set(patterns)), reasons))
    return sorted(out, key=lambda g: -g.count)


def review_held(session: Session, user: User, survey_id: int, network: str, decision: str, ip: str = "") -> int:
    """Count (accept) or discard every held answer of one survey from one network; audited with how many
    and why they were held. Returns how many were decided."""
    require_office(user, "核定问卷答卷")
    if decision not in ("accept", "discard"):
        raise RoundError("未知操作。")
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise RoundError("问卷不存在。")
    open_round(session, survey.year, "问卷结果已随之确定，不能再核定答卷。")
    rows = session.exec(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id,
                                                     SurveyResponse.status == HELD,
                                                     SurveyResponse.ip_hash == network)).all()
    if not rows:
        raise RoundError("这些答卷已经核定过，或不存在。请刷新页面。")
    now = utcnow()
    status = COUNTED if decision == "accept" else DISCARDED
    for row in rows:
        row.status, row.reviewed_by, row.reviewed_at = status, user.id, now
        session.add(row)
    audit.record(session, "survey_review", user=user, object_type="survey", object_id=survey.id, ip=ip,
                 detail={"year": survey.year, "unit": survey.unit_code, "audience": audience_name(survey.audience),
                         "decision": STATUS_LABELS[status], "responses": len(rows),
                         "reason": "、".join(dict.fromkeys(label for r in rows for label in reason_labels(r.hold_reason)))})
    return len(rows)


def add_responses(session: Session, q: Questionnaire, year: int, sheets: list[tuple[str, dict[str, int]]], *,
                  source: str, batch: str | None = None) -> int:
    """Answer sheets [(unit, answers)] gathered elsewhere (an import, the demo), attached to the unit's
    survey of that audience when there is one.  Every sheet must be valid (parse_answers)."""
    surveys = {s.unit_code: s.id for s in session.exec(select(Survey).where(Survey.year == year,
                                                                             Survey.audience == q.audience))}
    rows = [_response((year, code, surveys.get(code)), q, answers, source=source, batch=batch)
            for code, answers in sheets]
    session.add_all(rows)
    return len(rows)


# ── importing responses gathered elsewhere ────────────────────────────────

@dataclass
class ImportedResponses:
    count: int
    per_unit: dict[str, int] = field(default_factory=dict)

    def message(self, name: str) -> str:
        return f"已导入“{name}”问卷 {self.count} 份，涉及 {len(self.per_unit)} 个单位。"


def import_responses(session: Session, user: User, year: int, audience: str, data: bytes, filename: str,
                     ip: str = "") -> ImportedResponses:
    """A filled-in response template into the year's responses: all of it or nothing; a file once."""
    require_office(user, "导入问卷")
    rnd = open_round(session, year, CLOSED)
    q = questionnaire(audience)
    _check_questionnaire(system_for(rnd), q)
    digest = hashlib.sha256(data).hexdigest()
    if session.exec(select(SurveyResponse.id).where(SurveyResponse.batch == digest)).first() is not None:
        raise RoundError(f"文件“{filename}”已经导入过，未重复导入。")
    sheets = read_responses(q, year, data, filename)
    count = add_responses(session, q, year, sheets, source=f"{SOURCE_IMPORT}（{filename[:80]}）", batch=digest)
    per_unit: dict[str, int] = {}
    for code, _ in sheets:
        per_unit[code] = per_unit.get(code, 0) + 1
    audit.record(session, "survey_import", user=user, object_type="round", object_id=year, ip=ip,
                 detail={"year": year, "audience": q.name, "filename": filename[:200], "responses": count,
                         "units": sorted(per_unit)})
    return ImportedResponses(count, per_unit)


# ── the index per unit ────────────────────────────────────────────────────

def response_batches(session: Session, year: int) -> dict[tuple[str, int], ResponseBatch]:
    """{(unit, indicator): ResponseBatch} over every counted response of the year (online and imported);
    held and discarded answers are not in the index."""
    n, total, squares = (func.count(SurveyResponse.id), func.sum(SurveyResponse.score),
                         func.sum(SurveyResponse.score * SurveyResponse.score))
    out = {}
    for unit, no, count, s, ss in session.exec(
            select(SurveyResponse.unit_code, SurveyResponse.indicator_no, n, total, squares)
            .where(SurveyResponse.year == year, SurveyResponse.status == COUNTED)
            .group_by(SurveyResponse.unit_code, SurveyResponse.indicator_no)):
        mean = float(s) / count
        sd = None
        if count > 1:
            variance = max((float(ss) - count * mean * mean) / (count - 1), 0.0)
            sd = variance ** 0.5
        out[(unit, no)] = ResponseBatch(int(count), mean, sd)
    return out


@dataclass
class SurveyCell:
    """One unit's survey of one audience, as the office's page shows it."""
    audience: str
    survey: Survey | None
    responses: int             # counted answers to this survey's link and imported for this unit and audience
    index: object | None       # the pooled SurveyIndex that scores the indicator
    min_sample: int
    held: int = 0              # kept, not counted, waiting for the office
    discarded: int = 0

    @property
    def enough(self) -> bool:
        return self.index is not None and self.index.n >= self.min_sample


def overview(session: Session, year: int) -> dict:
    """Per unit (national order) and audience: the survey, its responses, the index with n and its interval."""
    from rounds.workflow import survey_indices
    rnd = get_round(session, year)
    system = system_for(rnd)
    qs = load_questionnaires()
    surveys = {(s.unit_code, s.audience): s for s in session.exec(select(Survey).where(Survey.year == year))}
    counts = {(u, a, st): c for u, a, st, c in session.exec(
        select(SurveyResponse.unit_code, SurveyResponse.audience, SurveyResponse.status, func.count(SurveyResponse.id))
        .where(SurveyResponse.year == year)
        .group_by(SurveyResponse.unit_code, SurveyResponse.audience, SurveyResponse.status))}
    indices = survey_indices(session, year)
    rows = []
    for unit in load_units():
        cells = []
        for a, q in qs.items():
            scoring = system.get(q.indicator_no).scoring
            cells.append(SurveyCell(a, surveys.get((unit.code, a)), counts.get((unit.code, a, COUNTED), 0),
                                    indices.get((unit.code, q.indicator_no)), scoring.min_sample if scoring else 0,
                                    held=counts.get((unit.code, a, HELD), 0),
                                    discarded=counts.get((unit.code, a, DISCARDED), 0)))
        rows.append({"unit": unit, "cells": cells})
    return {"rnd": rnd, "rows": rows, "questionnaires": qs, "closed": rnd.status == "closed"}


def links(session: Session, year: int) -> list[tuple[object, str, Survey]]:
    """(unit, audience name, survey) of every published survey, in the national order — to hand out."""
    from rubrics.units import national_rank
    units = {u.code: u for u in load_units()}
    qs = load_questionnaires()
    surveys = sorted(session.exec(select(Survey).where(Survey.year == year)),
                     key=lambda s: (national_rank(s.unit_code), AUDIENCES.index(s.audience)))
    return [(units[s.unit_code], qs[s.audience].name, s) for s in surveys]
