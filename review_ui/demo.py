"""Demo data: last year's round closed and complete for all 32 units, this year's round open.

Last year (today's year − 1): every unit's submitted self-assessment with levels and statistics
(base and year values), satisfaction surveys for 83–85, an approved spot-check whose units carry
two reviewers' ratings and the consensus, categories decided — so the dashboard, charts, the score
table and the 专报 show a whole cycle.  This year: a round open with its deadlines ahead of today,
reviewer assignments and a handful of evidence files, so the demo province user uploads at once.

All figures are generated from a fixed seed per unit (reproducible, different between units); the
rounds are marked is_demo, and every text says 演示.

The demo's accounts have a published password. `kaoping demo` therefore refuses a data directory
that holds anything else (`real_data`: other accounts, rounds not marked as demo, evidence not from
the demo's accounts) unless told `--force`, and even then, where real users exist, its accounts are
created disabled with a random password nobody knows.
"""
from __future__ import annotations

import io
import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sqlmodel import select

from evidence.accounts import create_user, verify_password
from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import Assignment, Document, Rating, Round, SelfAssessment, SelfAssessmentItem, Unit, User
from rubrics.units import in_national_order

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"  # <unit code>/<what it is>.txt, dated $year
DEMO_PASSWORD = "kaoping-demo"
DEMO_MARK = "（演示数据）"
SPOTCHECK_SEED = 20240301

DEMO_USERS = [
    # username, role, unit, home unit, display name
    ("office", "office", None, None, "协调小组办公室（演示）"),
    ("reviewer1", "reviewer", None, "ZJ", "评审专家甲（浙江）"),
    ("reviewer2", "reviewer", None, "GD", "评审专家乙（广东）"),
    ("js", "province", "JS", None, "江苏省产改办（演示）"),
    ("sh", "province", "SH", None, "上海市产改办（演示）"),
]
DEMO_ASSIGNMENTS = [(unit, no) for unit in ("JS", "SH") for no in (4, 7, 9, 41, 67)]


def demo_years(today: date | None = None) -> tuple[int, int]:
    """(last year, this year): the closed round and the open one, computed from today."""
    this = (today or date.today()).year
    return this - 1, this


def _chinese_year(year: int) -> str:
    """二〇二六: how a 公文 writes the year of its date."""
    return "".join("〇一二三四五六七八九"[int(d)] for d in str(year))


def demo_files(year: int) -> list[tuple[str, str, bytes]]:
    """(unit, file name, content) of the sample evidence of the open round, named and dated in its year."""
    from string import Template
    files = []
    for path in sorted(DEMO_DATA.glob("*/*.txt")):
        text = Template(path.read_text(encoding="utf-8")).substitute(year=year, year_cn=_chinese_year(year))
        files.append((path.parent.name, f"{year}年{path.stem}.txt", text.encode("utf-8")))
    return files


def demo_file_names(year: int) -> tuple[str, ...]:
    return tuple(name for _, name, _ in demo_files(year))


def _strength(code: str) -> float:
    """A unit's demo 'development level' in 0.25–0.98, fixed per unit."""
    return random.Random(f"kaoping-demo-{code}").uniform(0.25, 0.98)


def _measure_values(code: str, indicator, strength: float) -> dict[str, dict]:
    """Base-year and current values: strong units report more; weaker ones often grow faster (差异性)."""
    rng = random.Random(f"kaoping-demo-{code}-{indicator.no}")
    out = {}
    for m in indicator.measures:
        if not m.scored:
            out[m.key] = {"value": rng.randint(150, 600), "base_value": None}
            continue
        growth = rng.uniform(-0.04, 0.12) + (1 - strength) * rng.uniform(0.0, 0.25)
        if m.direction == "lower":
            base = round(3 + 12 * (1 - strength) + rng.uniform(-1, 1), 1)
            value = round(max(base * (1 - growth), 0.5), 1)
        elif m.share:
            base = round(min(15 + 60 * strength + rng.uniform(-8, 8), 95), 1)
            value = round(min(base * (1 + growth), 99.0), 1)
        else:
            base = float(max(1, round((10 + 200 * strength) * rng.uniform(0.6, 1.4))))
            value = float(max(0, round(base * (1 + growth))))
        out[m.key] = {"value": value, "base_value": base if m.growth else None}
    return out


def _level(strength: float, rng: random.Random, levels: tuple[int, ...]) -> int:
    raw = 1 + 3 * strength + rng.uniform(-0.9, 0.9)
    return min(max(int(round(raw)), min(levels)), max(levels))


RATIONALES = {4: "工作成效突出，制度、举措、案例齐备，佐证材料充分。", 3: "工作扎实，主要任务已落实，个别环节有待深化。",
              2: "有部署但推进不平衡，佐证材料以工作安排为主，缺少成效数据。", 1: "未见实质性举措，佐证材料不足。"}


def _self_assessments(session, year: int, system, units: list[Unit], submitted_at: datetime) -> None:
    for unit in units:
        strength = _strength(unit.code)
        rng = random.Random(f"kaoping-demo-self-{unit.code}")
        sa = SelfAssessment(year=year, unit_code=unit.code, status="submitted", submitted_at=submitted_at,
                            report=f"{unit.name}{year}年度推进产业工人队伍建设改革工作自评报告{DEMO_MARK}。"
                                   "本报告由演示程序生成，内容为虚构，仅供熟悉系统使用。")
        session.add(sa)
        session.flush()
        for ind in system.indicators:
            item = SelfAssessmentItem(self_assessment_id=sa.id, indicator_no=ind.no)
            if ind.is_rated:
                item.level_value = _level(strength, rng, ind.level_values)
                item.narrative = f"{ind.name}：{RATIONALES[item.level_value]}{DEMO_MARK}"
            if ind.measures and ind.source != "survey":
                item.values = _with_growth(_measure_values(unit.code, ind, strength))
            session.add(item)


def _with_growth(values: dict) -> dict:
    from rounds.workflow import _with_growth as compute
    return compute(values)


def _surveys(session, year: int, system, office: User) -> None:
    """Publish every unit's three surveys and give them answer sheets, as respondents would (the
    survey path: responses → index → points of 83–85): stronger units answer more contentedly."""
    from rounds import surveys as S
    from rubrics.questionnaires import load_questionnaires
    S.publish(session, office, year)
    session.flush()
    for q in load_questionnaires().values():
        minimum = system.get(q.indicator_no).scoring.min_sample
        sheets = []
        for unit in session.exec(select(Unit).order_by(Unit.code)):
            rng = random.Random(f"kaoping-demo-survey-{unit.code}-{q.audience}")
            centre = 2.6 + 1.9 * _strength(unit.code)
            for _ in range(rng.randint(minimum + 10, minimum * 2)):
                mood = rng.gauss(0, 0.5)  # some respondents are happier than others
                sheets.append((unit.code, {item.key: 0 if rng.random() < 0.04 else
                                           min(max(round(rng.gauss(centre + mood, 0.8)), 1), 5) for item in q.items}))
        S.add_responses(session, q, year, sheets, source=f"{S.SOURCE_ONLINE}{DEMO_MARK}")


def _ratings(session, year: int, system, codes: list[str], reviewers: list[User], office: User,
             when: datetime) -> None:
    """Two reviewers rate each spot-checked unit (never their own province); the office records the consensus."""
    for code in codes:
        strength = _strength(code)
        for ind in system.rated_indicators():
            rng = random.Random(f"kaoping-demo-rating-{code}-{ind.no}")
            consensus = _level(strength * 0.95, rng, ind.level_values)
            for reviewer in reviewers:
                if reviewer.home_unit_code == code:
                    continue
                own = min(max(consensus + rng.choice((-1, 0, 0, 0, 1)), min(ind.level_values)), max(ind.level_values))
                session.add(Rating(year=year, unit_code=code, indicator_no=ind.no, indicator_version=system.version,
                                   reviewer_id=reviewer.id, level_value=own, status="submitted", submitted_at=when,
                                   rationale=f"{RATIONALES[own]}{DEMO_MARK}"))
            session.add(Rating(year=year, unit_code=code, indicator_no=ind.no, indicator_version=system.version,
                               reviewer_id=office.id, kind="consensus", level_value=consensus, status="submitted",
                               submitted_at=when, rationale=f"{RATIONALES[consensus]}{DEMO_MARK}"))


def load_closed_round(session, year: int, users: dict[str, User]) -> None:
    """Last year's round, complete for every unit and closed."""
    from rounds import workflow as R
    from rounds.categories import category_for, validate_thresholds
    rnd = R.create_round(session, year, users["office"])
    rnd.is_demo = True
    session.flush()
    system = R.system_for(rnd)
    units = in_national_order(session.exec(select(Unit)))
    submitted = datetime.combine(rnd.self_assessment_due, time(9), tzinfo=timezone.utc)
    _self_assessments(session, year, system, units, submitted)
    _surveys(session, year, system, users["office"])
    session.flush()
    # Each unit's self-category is the category of its own self-assessed score: an honest self-assessment.
    thresholds = validate_thresholds(rnd.category_thresholds)
    for result in R.round_scores(session, year):
        sa = R.self_assessment(session, year, result.code, create=False)
        sa.self_category = category_for(result.percent, thresholds)
    session.flush()
    sc = R.propose_spotcheck(session, users["office"], year, seed=SPOTCHECK_SEED)
    R.approve_spotcheck(session, users["office"], sc, rnd.spotcheck_due, f"协调小组第1次会议{DEMO_MARK}")
    _ratings(session, year, system, list(sc.selected), [users["reviewer1"], users["reviewer2"]], users["office"],
             datetime.combine(rnd.review_due, time(9), tzinfo=timezone.utc))
    session.flush()
    R.decide_categories(session, users["office"], year)
    rnd.status = "closed"


def open_deadlines(year: int, today: date) -> dict[str, date]:
    """The usual deadlines of a round (February–July of next year), never sooner than weeks from today,
    so the demo round is open from the day it is loaded whatever the date."""
    usual = {"self_assessment_due": date(year + 1, 2, 28), "spotcheck_due": date(year + 1, 3, 31),
             "review_due": date(year + 1, 7, 31)}
    soonest = {"self_assessment_due": 30, "spotcheck_due": 60, "review_due": 120}
    return {k: max(v, today + timedelta(days=soonest[k])) for k, v in usual.items()}


def load_open_round(session, year: int, users: dict[str, User], today: date | None = None) -> Round:
    """This year's round, open: every deadline ahead of today."""
    from rounds import workflow as R
    rnd = R.create_round(session, year, users["office"], **open_deadlines(year, today or date.today()))
    rnd.is_demo = True
    session.flush()
    from rounds.surveys import publish
    publish(session, users["office"], year)  # the links work today: open one on a phone to try it
    for reviewer in ("reviewer1", "reviewer2"):
        for unit, no in DEMO_ASSIGNMENTS:
            session.add(Assignment(year=year, reviewer_id=users[reviewer].id, unit_code=unit, indicator_no=no,
                                   created_by=users["office"].id))
    return rnd


def is_demo_account(user: User) -> bool:
    return user.username in {u[0] for u in DEMO_USERS} and verify_password(user, DEMO_PASSWORD)


def real_data(session) -> list[str]:
    """What in this data directory the demo did not make, in Chinese; empty for a new or demo-only one."""
    found = []
    users = session.exec(select(User)).all()
    demo_ids = {u.id for u in users if is_demo_account(u)}
    if real := [u for u in users if u.id not in demo_ids]:
        found.append(f"{len(real)} 个非演示账号")
    if rounds := session.exec(select(Round.year).where(Round.is_demo == False)).all():  # noqa: E712
        found.append("、".join(str(y) for y in sorted(rounds)) + " 年度的评价")
    documents = session.exec(select(Document.uploaded_by)).all()
    if others := [d for d in documents if d not in demo_ids]:
        found.append(f"{len(others)} 份证据")
    return found


def load_demo(settings: Settings, today: date | None = None) -> str:
    """Load the demo. Where real users exist (possible only when the operator forced it), the demo's
    accounts are made disabled, with a random password: a published password never opens anything there."""
    import secrets

    from ingest.queue import drain
    from ingest.submit import submit

    last, this = demo_years(today)
    created = []
    with session_scope(settings.database_url) as session:
        has_real_users = any(not is_demo_account(u) for u in session.exec(select(User)))
        users = {}
        for username, role, unit, home, name in DEMO_USERS:
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None:
                password = secrets.token_urlsafe(24) if has_real_users else DEMO_PASSWORD
                user = create_user(session, username, password, role, unit_code=unit, home_unit_code=home,
                                   display_name=name, check_strength=False)  # published anyway
                user.active = not has_real_users
                created.append(username)
            users[username] = user
        session.flush()
        existing = set(session.exec(select(Round.year)).all())
        if last not in existing:
            load_closed_round(session, last, users)
        new_round = this not in existing
        if new_round:
            load_open_round(session, this, users, today)
        session.commit()
        if new_round:
            for unit, name, content in demo_files(this):
                uploader = users["js" if unit == "JS" else "sh"]
                submit(session, settings, io.BytesIO(content), name, unit_code=unit, year=this, user=uploader)
                session.commit()
    processed = drain(settings)
    lines = [f"演示数据已载入：{last} 年度评价已完成并关闭（32个单位全部计分、认定类别，可生成专报）；"
             f"{this} 年度评价进行中（处理示例证据 {processed} 个）。演示数据均为虚构。"]
    if created and has_real_users:
        lines.append("本目录已有真实用户：演示账号（" + "、".join(created) + "）已停用，密码随机，无法登录。")
    elif created:
        lines.append(f"演示账号（密码均为 {DEMO_PASSWORD}）：" + "、".join(created))
    return "\n".join(lines)
