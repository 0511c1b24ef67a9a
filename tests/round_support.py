"""A round to test against, stored the way the office's pages find it."""
from __future__ import annotations

from datetime import date

from sqlmodel import Session

from evidence.db import get_engine
from evidence.models import Round


def add_round(settings, year: int = 2023) -> None:
    """An open round of `year` under the 2022 indicator system, deadlines far ahead."""
    with Session(get_engine(settings.database_url)) as session:
        session.add(Round(year=year, indicator_version="2022.1", self_assessment_due=date(2099, 2, 28),
                          spotcheck_due=date(2099, 3, 31), review_due=date(2099, 7, 31),
                          category_thresholds={"优秀": 90, "良好": 75, "一般": 60}))
        session.commit()
