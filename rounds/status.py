"""What the round's dashboard shows: each unit's state and each step's truthful status.

A step is done only when it is done for every unit that owes it, and its count says how far it
is (28/32 self-assessments, 10/11 spot-checked units scored …).  Pure reading; nothing is stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from evidence.models import CategoryDecision, SelfAssessment, Unit, User
from rounds import workflow as R
from review.year_lock import closed_notice
from rounds.categories import DECISION_SOURCES
from rubrics.units import in_national_order, unit_names


@dataclass
class Step:
    label: str
    due: date | None
    done: int
    owed: int
    waiting_for: str = ""  # what must happen before anything is owed (the spot-check list), said instead of 0/0

    @property
    def complete(self) -> bool:
        return self.owed > 0 and self.done >= self.owed

    def state(self, today: date) -> str:
        if self.complete:
            return "已完成"
        if not self.owed and self.waiting_for:
            return "未开始"
        return "已逾期" if self.due and today > self.due else "进行中"

    @property
    def count(self) -> str:
        if not self.owed and self.waiting_for:
            return self.waiting_for
        return f"{self.done}/{self.owed}"


def self_assessment_state(sa: SelfAssessment | None, due: date, today: date) -> str:
    if sa and sa.status == "submitted":
        return "已提交"
    if today > due:
        return "逾期未交"
    return "草稿" if sa else "未开始"


def dashboard(session: Session, year: int, today: date | None = None) -> dict:
    """Rows per unit and the steps of the round, from the one score computation."""
    today = today or date.today()
    rnd = R.get_round(session, year)
    sas = {s.unit_code: s for s in session.exec(select(SelfAssessment).where(SelfAssessment.year == year))}
    cats = {c.unit_code: c for c in session.exec(select(CategoryDecision).where(CategoryDecision.year == year))}
    sc = R.current_spotcheck(session, year)
    checked = set(sc.selected) if sc else set()
    scores = {u.code: u for u in R.round_scores(session, year)}
    rows = []
    for unit in in_national_order(session.exec(select(Unit))):
        result = scores[unit.code]
        rows.append({"unit": unit, "sa": sas.get(unit.code),
                     "sa_state": self_assessment_state(sas.get(unit.code), rnd.self_assessment_due, today),
                     "checked": unit.code in checked, "result": result,
                     "score": round(result.total, 2) if result.scored_weight else None,
                     "share": result.scored_share, "missing": len(result.waiting),
                     "category": cats.get(unit.code),
                     "source_label": DECISION_SOURCES.get(cats[unit.code].source, "") if unit.code in cats else ""})
    n = len(rows)
    steps = [
        Step("年度自评", rnd.self_assessment_due, sum(r["sa_state"] == "已提交" for r in rows), n),
        Step("确定抽查名单", rnd.spotcheck_due, int(bool(sc and sc.status == "approved")), 1),
        Step("抽查单位评分完成", rnd.review_due, sum(scores[c].complete for c in checked), len(checked),
             waiting_for="待抽查名单确定后计数"),
        Step("全部指标计分", rnd.review_due, sum(r["result"].complete for r in rows), n),
        Step("类别认定", rnd.review_due, len([r for r in rows if r["category"]]), n),
    ]
    return {"rnd": rnd, "rows": rows, "spotcheck": sc, "steps": steps, "today": today,
            "closed": closed_notice(session, year)}


def radar(session: Session, year: int, unit_code: str) -> dict:
    """A unit's points per first-level indicator (None where nothing is scored yet), the maxima and the
    average of the units scored there."""
    rnd = R.get_round(session, year)
    results = R.round_scores(session, year)
    mine = next((u for u in results if u.code == unit_code), None)
    if mine is None:
        raise R.RoundError(f"未知单位代码：{unit_code}")
    maxima: dict[str, float] = {}
    for ind in R.system_for(rnd).indicators:
        maxima[ind.level1] = maxima.get(ind.level1, 0) + ind.weight
    per_unit = [u.level1_points() for u in results]
    average = {}
    for key in maxima:
        values = [p[key] for p in per_unit if key in p]
        if values:
            average[key] = sum(values) / len(values)
    own = mine.level1_points()
    # a first-level indicator with nothing scored yet is missing (None), never a real 0
    return {"name": mine.name, "own": {k: own.get(k) for k in maxima}, "maxima": maxima,
            "average": average or None}


def spotcheck_page(session: Session, year: int) -> dict:
    """The spot-check list of the year as the office reads it: units in the national order, and each
    change to the proposal with who made it (their name, not their login), when and which units."""
    rnd = R.get_round(session, year)
    sc = R.current_spotcheck(session, year)
    units = in_national_order(session.exec(select(Unit)))
    names = {u.username: u.display_name or u.username for u in session.exec(select(User))}
    overrides = [{"who": o.get("by_name") or names.get(o.get("by"), "协调小组办公室"), "at": o.get("at"),
                  "added": unit_names(o.get("add", [])) or "无", "removed": unit_names(o.get("remove", [])) or "无",
                  "reason": o.get("reason", "")} for o in (sc.overrides if sc else [])]
    return {"rnd": rnd, "sc": sc, "units": units, "overrides": overrides, "closed": closed_notice(session, year)}
