"""Demo data: a round, one user per role and a handful of evidence files."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlmodel import select

from evidence.accounts import create_user
from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import Assignment, Round, User

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
DEMO_YEAR = 2023
DEMO_PASSWORD = "kaoping-demo"

DEMO_USERS = [
    # username, role, unit, home unit, display name
    ("office", "office", None, None, "协调小组办公室（演示）"),
    ("reviewer1", "reviewer", None, "ZJ", "评审专家甲（浙江）"),
    ("reviewer2", "reviewer", None, "GD", "评审专家乙（广东）"),
    ("js", "province", "JS", None, "江苏省产改办（演示）"),
    ("sh", "province", "SH", None, "上海市产改办（演示）"),
]
DEMO_ASSIGNMENTS = [(unit, no) for unit in ("JS", "SH") for no in (4, 7, 9, 41, 67)]


def ensure_round(session, year: int) -> Round:
    from rubrics.indicators import load_system
    existing = session.exec(select(Round).where(Round.year == year)).first()
    if existing:
        return existing
    system = load_system(year) if year in _years() else load_system()
    # A real round for year Y runs from early Y+1 to mid-summer; the demo's round is always open, with
    # deadlines counted from the day it is loaded, so a demo user can upload and assess at once.
    today = date.today()
    rnd = Round(year=year, indicator_version=system.version, upload_due=today + timedelta(days=21),
                self_assessment_due=today + timedelta(days=30), spotcheck_due=today + timedelta(days=60),
                review_due=today + timedelta(days=120), category_thresholds={"优秀": 90, "良好": 75, "一般": 60})
    session.add(rnd)
    return rnd


def _years() -> list[int]:
    from rubrics.indicators import available_years
    return available_years()


def load_demo(settings: Settings) -> str:
    from ingest.queue import drain
    from ingest.submit import submit

    created = []
    with session_scope(settings.database_url) as session:
        ensure_round(session, DEMO_YEAR)
        users = {}
        for username, role, unit, home, name in DEMO_USERS:
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None:
                user = create_user(session, username, DEMO_PASSWORD, role, unit_code=unit,
                                   home_unit_code=home, display_name=name)
                created.append(username)
            users[username] = user
        session.flush()
        for reviewer in ("reviewer1", "reviewer2"):
            for unit, no in DEMO_ASSIGNMENTS:
                exists = session.exec(select(Assignment).where(
                    Assignment.year == DEMO_YEAR, Assignment.reviewer_id == users[reviewer].id,
                    Assignment.unit_code == unit, Assignment.indicator_no == no)).first()
                if not exists:
                    session.add(Assignment(year=DEMO_YEAR, reviewer_id=users[reviewer].id, unit_code=unit,
                                           indicator_no=no, created_by=users["office"].id))
        session.commit()
        for path in sorted(DEMO_DATA.iterdir()):
            unit = path.name.split("-", 1)[0]
            uploader = users["js" if unit == "JS" else "sh"]
            with path.open("rb") as fh:
                submit(session, settings, fh, path.name, unit_code=unit, year=DEMO_YEAR, user=uploader)
            session.commit()
    processed = drain(settings)
    lines = [f"演示数据已载入（{DEMO_YEAR} 年度，处理文件 {processed} 个）。"]
    if created:
        lines.append(f"演示账号（密码均为 {DEMO_PASSWORD}）：" + "、".join(created))
    return "\n".join(lines)
