"""Satisfaction surveys: questionnaires as data, publishing, the rules of an answer, the response template
and its import, and the index per unit that scores 83–85 (or leaves them 样本不足)."""
from __future__ import annotations

import io
import shutil
from datetime import timedelta

import openpyxl
import pytest
from sqlmodel import Session, func, select

from evidence.models import AuditEvent, Survey, SurveyResponse
from rounds import survey_sheet as SS
from rounds import surveys as S
from rounds import workflow as R
from rounds.sheets import SheetRejected
from rubrics.indicators import RUBRICS_DIR, RubricError, system_in_force
from rubrics.questionnaires import AUDIENCES, load_questionnaires, questionnaire

WORKERS = questionnaire("workers")


# ── questionnaires ────────────────────────────────────────────────────────

def test_three_questionnaires_tied_to_83_84_85_on_a_five_point_scale():
    qs = load_questionnaires()
    assert list(qs) == list(AUDIENCES) == ["workers", "enterprise", "staff"]
    assert [q.indicator_no for q in qs.values()] == [83, 84, 85]
    system = system_in_force(2023)
    for q in qs.values():
        assert system.get(q.indicator_no).source == "survey"
        assert len(q.scale) == 5 and q.unknown and len(q.items) >= 8
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in item.text) for item in q.items)


def test_a_response_scores_the_mean_of_its_answered_items_on_0_to_100():
    keys = [i.key for i in WORKERS.items]
    assert WORKERS.score({k: 5 for k in keys}) == 100
    assert WORKERS.score({k: 1 for k in keys}) == 0
    assert WORKERS.score({k: 3 for k in keys}) == 50
    half = {k: (4 if n < len(keys) // 2 else 0) for n, k in enumerate(keys)}  # the rest 不了解
    assert WORKERS.score(half) == 75
    assert WORKERS.score({keys[0]: 5}) is None  # fewer than half the items answered


@pytest.mark.parametrize("old, new, words", [
    ("audience: workers", "audience: worker", ["audience", "与文件名 workers.yaml 不一致"]),
    ("scale: [很不满意, 不太满意, 一般, 比较满意, 非常满意]", "scale: [不满意, 一般, 满意]", ["5 个等级", "3 个"]),
    ("  - {key: training,", "  - {key: guidance,", ["key “guidance”", "重复"]),
    ("  - {key: training,", "  - {key: Training,", ["小写字母"]),
    ("indicator: 83", "indicator: 八十三", ["indicator", "整数"]),
    ("name: 产业工人\n", "name: 产业工人\ncolour: red\n", ["未知的键", "colour"]),
])
def test_a_broken_questionnaire_is_refused_naming_file_and_line(tmp_path, old, new, words):
    shutil.copytree(RUBRICS_DIR / "questionnaires", tmp_path / "questionnaires")
    path = tmp_path / "questionnaires" / "workers.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(RubricError) as err:
        load_questionnaires(tmp_path)
    assert "workers.yaml" in str(err.value) and "第" in str(err.value)
    assert all(w in str(err.value) for w in words), str(err.value)


# ── publishing and answering ─────────────────────────────────────────────

@pytest.fixture
def world(settings, make_user):
    from evidence.db import get_engine
    office = make_user("office", "office")
    province = make_user("js", "province", unit="JS")
    with Session(get_engine(settings.database_url), expire_on_commit=False) as session:
        R.create_round(session, 2023, office)
        session.commit()
        yield {"session": session, "office": office, "province": province}


def _answers(value: int = 4, q=WORKERS) -> dict[str, str]:
    return {item.key: str(value) for item in q.items}


def test_publishing_gives_each_unit_and_audience_its_own_unguessable_link_and_is_audited(world):
    session, office = world["session"], world["office"]
    with pytest.raises(R.RoundError, match="只有协调小组办公室"):
        S.publish(session, world["province"], 2023)
    published = S.publish(session, office, 2023, units=["JS", "SH"], ip="10.0.0.1")
    session.commit()
    assert len(published.created) == 6 and not published.existing
    tokens = [s.token for s in published.created]
    assert len(set(tokens)) == 6 and all(len(t) >= 30 for t in tokens)
    again = S.publish(session, office, 2023, units=["JS"], audiences=["workers"])
    assert not again.created and again.existing[0].token == published.created[0].token  # a link never changes
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "survey_publish")).one()
    assert event.detail["units"] == ["JS", "SH"] and event.ip == "10.0.0.1"
    assert all(s.token not in str(event.detail) for s in published.created)  # a link is a secret, not a log line
    with pytest.raises(R.RoundError, match="未知的单位代码"):
        S.publish(session, office, 2023, units=["XX"])


def _survey(world, unit="JS", audience="workers", cap=S.DEFAULT_MAX_RESPONSES) -> Survey:
    published = S.publish(world["session"], world["office"], 2023, units=[unit], audiences=[audience],
                          max_responses=cap)
    world["session"].commit()
    return (published.created or published.existing)[0]


def _answer(world, survey, browser: str, *, nonce: str | None = None, ip: str = "ip-1", value: int = 4, now=None):
    response = S.record_answer(world["session"], survey, _answers(value), browser=browser, nonce=nonce or browser,
                               ip_hash=ip, now=now)
    world["session"].commit()
    return response


def test_one_answer_per_browser_and_per_page(world):
    survey = _survey(world)
    response = _answer(world, survey, "browser-a")
    assert response.score == 75 and response.source == "在线填写" and response.survey_id == survey.id
    with pytest.raises(S.SurveyUnavailable) as err:
        _answer(world, survey, "browser-a", nonce="another-page")
    assert err.value.status == 409 and "已经填写过" in err.value.message
    with pytest.raises(S.SurveyUnavailable) as err:
        _answer(world, survey, "browser-b", nonce="browser-a")  # the same page posted again
    assert err.value.status == 409


def test_an_incomplete_or_tampered_answer_is_refused_and_nothing_stored(world):
    survey = _survey(world)
    raw = _answers()
    raw.pop(WORKERS.items[2].key)
    raw[WORKERS.items[4].key] = "9"
    with pytest.raises(S.AnswerIncomplete) as err:
        S.record_answer(world["session"], survey, raw, browser="b", nonce="n", ip_hash="i")
    assert err.value.problems == ["第3题未作答", "第5题的答案无效"]
    unknowns = {item.key: "0" for item in WORKERS.items}
    with pytest.raises(S.AnswerIncomplete, match="至少对一半"):
        S.record_answer(world["session"], survey, unknowns, browser="b", nonce="n", ip_hash="i")
    world["session"].rollback()
    assert world["session"].exec(select(func.count(SurveyResponse.id))).one() == 0


def test_a_closed_survey_a_closed_round_and_a_full_survey_take_no_answers(world):
    session = world["session"]
    survey = _survey(world, cap=2)
    _answer(world, survey, "a")
    _answer(world, survey, "b")
    with pytest.raises(S.SurveyUnavailable) as err:
        _answer(world, survey, "c")
    assert err.value.status == 410 and "已收满" in err.value.message
    other = _survey(world, unit="SH")
    S.set_open(session, world["office"], other.id, open_=False, ip="10.0.0.2")
    session.commit()
    with pytest.raises(S.SurveyUnavailable) as err:
        _answer(world, other, "d")
    assert err.value.status == 410 and "已关闭" in err.value.message
    S.set_open(session, world["office"], other.id, open_=True)
    session.commit()
    _answer(world, other, "d")
    R.get_round(session, 2023).status = "closed"
    session.commit()
    with pytest.raises(S.SurveyUnavailable) as err:
        _answer(world, other, "e")
    assert err.value.status == 410 and "2023年度评价已结束" in err.value.message
    with pytest.raises(R.RoundError, match="已结束"):
        S.set_open(session, world["office"], other.id, open_=True)
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_type == "survey"))]
    assert actions == ["survey_close", "survey_reopen"]


def test_one_address_may_answer_only_so_often(world):
    from evidence.models import utcnow
    survey = _survey(world)
    start = utcnow()
    for i in range(S.RATE_PER_ADDRESS):
        _answer(world, survey, f"b{i}", ip="same-wifi", now=start)
    with pytest.raises(S.SurveyUnavailable) as err:
        _answer(world, survey, "one-more", ip="same-wifi", now=start)
    assert err.value.status == 429 and "过于频繁" in err.value.message
    _answer(world, survey, "elsewhere", ip="other-wifi", now=start)  # other addresses are not held back
    _answer(world, survey, "later", ip="same-wifi", now=start + S.RATE_WINDOW + timedelta(seconds=1))


# ── the index: responses → batches → SurveyIndex → points (or 样本不足) ─────

def _points(session, unit: str, no: int):
    result = next(u for u in R.round_scores(session, 2023) if u.code == unit)
    return next(r for r in result.indicators if r.no == no)


def test_responses_make_the_index_that_scores_83_or_leave_it_waiting_below_the_minimum(world):
    session = world["session"]
    survey = _survey(world)
    minimum = system_in_force(2023).get(83).scoring.min_sample
    for i in range(minimum - 1):
        _answer(world, survey, f"b{i}", ip=f"ip{i}", value=4 if i % 2 else 5)
    waiting = _points(session, "JS", 83)
    assert waiting.points is None and waiting.basis == f"样本不足（{minimum - 1}份，至少{minimum}份）"
    _answer(world, survey, "last", ip="ip-last", value=4)
    scored = _points(session, "JS", 83)
    from rounds.scoring import survey_index
    expected = survey_index([r.score for r in session.exec(select(SurveyResponse))])
    assert scored.points == pytest.approx(scored.weight * expected.index / 100, abs=1e-4)
    assert f"{minimum}份" in scored.basis and f"{expected.low:.1f}–{expected.high:.1f}" in scored.basis
    overview = S.overview(session, 2023)
    js = next(row for row in overview["rows"] if row["unit"].code == "JS")
    cell = next(c for c in js["cells"] if c.audience == "workers")
    assert cell.responses == minimum and cell.enough and cell.index.n == minimum


# ── the response template and its import ─────────────────────────────────

def _template(tmp_path, name="workers.xlsx", year=2023, audience="workers", rows=()) -> bytes:
    path = SS.write_response_template(year, audience, tmp_path / name)
    if path.suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        text += "".join(",".join(str(v) for v in row) + "\n" for row in rows)
        return text.encode("gbk")  # as Excel in China saves a CSV
    wb = openpyxl.load_workbook(path)
    for r, row in enumerate(rows, SS.FIRST_DATA_ROW):
        for c, value in enumerate(row, 1):
            wb[SS.SHEET].cell(row=r, column=c, value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row(unit="JS", value=4, n=len(WORKERS.items)):
    return [unit, ""] + [value] * n


def test_the_response_template_says_what_it_is(tmp_path):
    wb = openpyxl.load_workbook(io.BytesIO(_template(tmp_path)))
    ws = wb[SS.SHEET]
    assert "2023年度满意度问卷录入模板·产业工人" in ws["A1"].value and "问卷版本 2022.1" in ws["A1"].value
    assert [c.value for c in ws[2]][:3] == ["单位代码", "单位名称", f"第1题 {WORKERS.items[0].text}"]
    assert wb["模板信息"].sheet_state == "hidden" and ws.freeze_panes == "C3"
    notes = " ".join(str(c.value) for row in wb["录入说明"].iter_rows() for c in row if c.value)
    assert "1 = 很不满意" in notes and "“不了解”填 0" in notes


@pytest.mark.parametrize("name", ["workers.xlsx", "workers.csv"])
def test_imported_responses_count_like_online_ones_and_a_file_goes_in_once(world, tmp_path, name):
    session = world["session"]
    rows = [_row("JS", 5), _row("JS", "比较满意"), ["", "上海市"] + [3] * 9 + ["不了解"], ["SH", "上海"] + [2] * 10]
    data = _template(tmp_path, name, rows=rows)
    outcome = S.import_responses(session, world["office"], 2023, "workers", data, name, ip="10.0.0.3")
    session.commit()
    assert outcome.count == 4 and outcome.per_unit == {"JS": 2, "SH": 2}
    scores = sorted(r.score for r in session.exec(select(SurveyResponse).where(SurveyResponse.unit_code == "JS")))
    assert scores == [75, 100] and all(r.source == f"导入（{name}）" for r in session.exec(select(SurveyResponse)))
    assert R.survey_indices(session, 2023)[("SH", 83)].n == 2
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "survey_import")).one()
    assert event.detail["responses"] == 4 and event.detail["units"] == ["JS", "SH"]
    with pytest.raises(R.RoundError, match="已经导入过"):
        S.import_responses(session, world["office"], 2023, "workers", data, "copy-" + name)


def test_every_bad_response_cell_is_reported_and_nothing_is_imported(world, tmp_path):
    session = world["session"]
    rows = [_row("JS", 4), _row("XX", 4), _row("JS", 7), ["JS", ""] + [4, "很满意"] + [4] * 8,
            ["JS", ""] + [0] * 8 + [4, 4], ["JS", "浙江省"] + [4] * 10]
    with pytest.raises(SheetRejected) as err:
        S.import_responses(session, world["office"], 2023, "workers", _template(tmp_path, rows=rows), "w.xlsx")
    found = {(p.row, p.column): p.reason for p in err.value.problems}
    first = SS.FIRST_DATA_ROW
    assert "未知单位“XX”" in found[(first + 1, "A")]
    assert "第1题答案应为 1–5 的整数或 0（不了解）" in found[(first + 2, "C")] and "“7”" in found[(first + 2, "C")]
    assert "第2题" in found[(first + 3, "D")] and "很满意" in found[(first + 3, "D")]
    assert "有效作答不足一半" in found[(first + 4, "")]
    assert "与单位代码 JS（江苏省）不符" in found[(first + 5, "B")]
    assert len(err.value.problems) == 4 + len(WORKERS.items)  # every cell of the row of sevens is named
    assert session.exec(select(func.count(SurveyResponse.id))).one() == 0


def test_a_template_of_another_year_or_audience_is_refused(world, tmp_path):
    session = world["session"]
    for name, data, words in (
            ("a.xlsx", _template(tmp_path, "a.xlsx", year=2022, rows=[_row()]), "这是2022年度的模板"),
            ("b.xlsx", _template(tmp_path, "b.xlsx", audience="staff", rows=[_row()]), "“工作人员”问卷的模板"),
            ("c.csv", _template(tmp_path, "c.csv", year=2022, rows=[_row()]), "这是2022年度的模板")):
        with pytest.raises(SheetRejected) as err:
            S.import_responses(session, world["office"], 2023, "workers", data, name)
        assert words in err.value.problems[0].reason, err.value.problems[0].reason
    with pytest.raises(SheetRejected) as err:
        S.import_responses(session, world["office"], 2023, "workers", _template(tmp_path, "d.xlsx"), "d.xlsx")
    assert "没有问卷数据" in err.value.problems[0].reason


# ── stuffing from one address: kept, held, counted only when the office says so ─

def _varied(i: int, q=WORKERS) -> dict[str, str]:
    """An answer sheet that differs from its neighbours (no two alike within a few hundred)."""
    return {item.key: str(1 + (i // 5 ** n) % 5) for n, item in enumerate(q.items)}


def _status(session, **where) -> dict[str, int]:
    query = select(SurveyResponse.status, func.count(SurveyResponse.id)).group_by(SurveyResponse.status)
    for key, value in where.items():
        query = query.where(getattr(SurveyResponse, key) == value)
    return dict(session.exec(query).all())


def test_one_person_with_fresh_cookies_cannot_fill_the_sample_from_one_address(world):
    """The review's attack: perfect answers, a new browser id each time, paced under the rate limit, all
    day long. What is counted stays far below the minimum sample; the rest waits for the office."""
    from evidence.models import utcnow
    session = world["session"]
    survey = _survey(world)
    minimum = system_in_force(2023).get(83).scoring.min_sample
    start = utcnow().replace(hour=1, minute=0)  # 09:00 Beijing: the whole run falls in one Beijing day
    for i in range(300):
        _answer(world, survey, f"jar-{i}", nonce=f"page-{i}", ip="one-office", value=5,
                now=start + timedelta(seconds=11 * i))  # 55 per 10 minutes: under the hard rate limit
    counts = _status(session)
    assert counts["counted"] <= S.COUNTED_PER_ADDRESS_DAY and counts["held"] == 300 - counts["counted"]
    assert counts["counted"] <= S.IDENTICAL_PER_ADDRESS_DAY  # identical sheets are held from the third on
    waiting = _points(session, "JS", 83)
    assert waiting.points is None and "样本不足" in waiting.basis
    assert R.survey_indices(session, 2023)[("JS", 83)].n == counts["counted"]


def test_a_workshop_behind_one_address_is_counted_up_to_the_daily_share_then_held(world):
    from evidence.models import utcnow
    session = world["session"]
    survey = _survey(world)
    start = utcnow().replace(hour=1, minute=0)
    for i in range(S.COUNTED_PER_ADDRESS_DAY + 6):  # one every three minutes: never a burst
        S.record_answer(session, survey, _varied(i), browser=f"worker-{i}", nonce=f"n{i}", ip_hash="factory-nat",
                        now=start + timedelta(minutes=3 * i))
        session.commit()
    assert _status(session) == {"counted": S.COUNTED_PER_ADDRESS_DAY, "held": 6}
    held = session.exec(select(SurveyResponse).where(SurveyResponse.status == "held")).all()
    assert all(S.reason_labels(r.hold_reason) == [S.HOLD_REASONS["daily"]] for r in held)
    S.record_answer(session, survey, _varied(999), browser="next-day", nonce="nd", ip_hash="factory-nat",
                    now=start + timedelta(days=1))  # a new Beijing day: counted again
    session.commit()
    assert _status(session)["counted"] == S.COUNTED_PER_ADDRESS_DAY + 1


def test_a_burst_from_one_address_is_held(world):
    from evidence.models import utcnow
    session = world["session"]
    survey = _survey(world)
    start = utcnow().replace(hour=2, minute=0)
    for i in range(S.BURST_COUNT + 3):
        S.record_answer(session, survey, _varied(i), browser=f"b{i}", nonce=f"n{i}", ip_hash="meeting-room",
                        now=start + timedelta(seconds=30 * i))
        session.commit()
    assert _status(session) == {"counted": S.BURST_COUNT, "held": 3}
    [group] = S.held_groups(session, survey)
    assert group.count == 3 and group.label == "网络 1" and group.reasons == [S.HOLD_REASONS["burst"]]


def test_the_office_counts_or_discards_held_answers_and_each_decision_is_audited(world):
    from evidence.models import utcnow
    session, office = world["session"], world["office"]
    survey = _survey(world, cap=40)
    start = utcnow().replace(hour=1, minute=0)
    for ip in ("net-a", "net-b"):
        for i in range(S.BURST_COUNT + 4):
            S.record_answer(session, survey, _varied(i), browser=f"{ip}-{i}", nonce=f"{ip}-{i}", ip_hash=ip,
                            now=start + timedelta(seconds=20 * i))
            session.commit()
    assert _status(session) == {"counted": 2 * S.BURST_COUNT, "held": 8}
    assert R.survey_indices(session, 2023)[("JS", 83)].n == 2 * S.BURST_COUNT
    with pytest.raises(R.RoundError, match="只有协调小组办公室"):
        S.review_held(session, world["province"], survey.id, "net-a", "accept")
    assert S.review_held(session, office, survey.id, "net-a", "accept", ip="10.0.0.9") == 4
    assert S.review_held(session, office, survey.id, "net-b", "discard", ip="10.0.0.9") == 4
    session.commit()
    assert _status(session) == {"counted": 2 * S.BURST_COUNT + 4, "discarded": 4}
    assert R.survey_indices(session, 2023)[("JS", 83)].n == 2 * S.BURST_COUNT + 4  # discarded: not in the index
    assert S.status_counts(session, survey) == {"counted": 14, "held": 0, "discarded": 4}
    assert S.responses_of(session, survey) == 14  # a discarded answer frees its place under the cap
    with pytest.raises(R.RoundError, match="已经核定过"):
        S.review_held(session, office, survey.id, "net-a", "discard")
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "survey_review")).all()
    assert [(e.detail["decision"], e.detail["responses"], e.ip) for e in events] == [
        ("计入", 4, "10.0.0.9"), ("已舍弃", 4, "10.0.0.9")]
    assert S.HOLD_REASONS["burst"] in events[0].detail["reason"]
    reviewed = session.exec(select(SurveyResponse).where(SurveyResponse.reviewed_by == office.id)).all()
    assert len(reviewed) == 8 and all(r.reviewed_at for r in reviewed)


def test_held_answers_are_not_reviewed_after_the_round_closes(world):
    from evidence.models import utcnow
    session = world["session"]
    survey = _survey(world)
    start = utcnow().replace(hour=1, minute=0)
    for i in range(S.BURST_COUNT + 1):
        S.record_answer(session, survey, _varied(i), browser=f"b{i}", nonce=f"n{i}", ip_hash="x", now=start)
        session.commit()
    R.get_round(session, 2023).status = "closed"
    session.commit()
    with pytest.raises(R.RoundError, match="已结束"):
        S.review_held(session, world["office"], survey.id, "x", "accept")
