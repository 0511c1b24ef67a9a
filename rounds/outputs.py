"""Maps a year's records into the report writers' plain data (reports/model.py)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from rounds import workflow as R
from evidence.models import CategoryDecision, Document, DocumentVersion, EvidenceLink, Rating, Unit, User


MAX_POINTS = 5


def _citation(session: Session, link: EvidenceLink, unit_names: dict[str, str]):
    from reports.model import Citation
    document = session.get(Document, link.document_id)
    version = session.get(DocumentVersion, link.version_id)
    return Citation(unit_name=unit_names.get(document.unit_code, document.unit_code),
                    document_title=version.title or document.filename, doc_number=version.doc_number,
                    date=version.doc_date, page=link.page_no, filename=document.filename)


def year_report(session: Session, year: int):
    from reports.model import Excerpt, UnitResult, YearReport
    from rounds.categories import flags_for

    rnd = R.get_round(session, year)
    system = R.system_for(rnd)
    units = {u.code: u for u in session.exec(select(Unit).order_by(Unit.code))}
    names = {c: u.name for c, u in units.items()}
    decisions = {c.unit_code: c for c in session.exec(select(CategoryDecision).where(CategoryDecision.year == year))}
    previous = {c.unit_code: c.category for c in session.exec(
        select(CategoryDecision).where(CategoryDecision.year == year - 1))}
    history = R.category_history(session)
    sc = R.current_spotcheck(session, year)
    scores = R.unit_scores(session, year)
    results = []
    for code, decision in decisions.items():
        s = scores.get(code, {})
        strengths, problems, evidence = [], [], []
        ratings = session.exec(select(Rating).where(Rating.year == year, Rating.unit_code == code,
                                                    Rating.status == "submitted")).all()
        best: dict[int, Rating] = {}
        for r in ratings:
            if r.kind == "consensus" or r.indicator_no not in best:
                best[r.indicator_no] = r
        # The heaviest indicators first, a handful each: a 专报 names what matters most, not every item.
        for no, r in sorted(best.items(), key=lambda item: -system.get(item[0]).weight):
            ind = system.get(no)
            if r.level_value is None:
                continue
            if r.level_value == max(ind.level_values) and len(strengths) < MAX_POINTS:
                strengths.append(f"{ind.name}：{r.rationale[:120]}")
                for link in session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "rating",
                                                                    EvidenceLink.owner_id == r.id)).all()[:1]:
                    evidence.append(Excerpt(text=link.quote, citation=_citation(session, link, names),
                                            needs_attention=link.status != "ok"))
            elif r.level_value <= min(ind.level_values) + 1 and len(problems) < MAX_POINTS:
                problems.append(f"{ind.name}：{r.rationale[:120]}")
        results.append(UnitResult(
            code=code, name=names.get(code, code), category=decision.category, previous_category=previous.get(code),
            total_score=decision.score, level1_scores=s.get("level1", {}), strengths=strengths, problems=problems,
            evidence=evidence, spotchecked=bool(sc and code in sc.selected),
            spotcheck_reasons=list((sc.reasons or {}).get(code, [])) if sc else [],
            flags=[f.message for f in flags_for(history.get(code, {}), year)]))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.category] = counts.get(r.category, 0) + 1
    prev_counts: dict[str, int] = {}
    for c in previous.values():
        prev_counts[c] = prev_counts.get(c, 0) + 1
    summary = (f"{year}年度，协调小组办公室组织对{len(units)}个省（区、市）和新疆生产建设兵团推进产业工人队伍建设改革"
               f"工作情况进行评价考核，{len(sc.selected) if sc else 0}个单位纳入抽查评估。"
               + "，".join(f"{k}{v}个" for k, v in counts.items()) + "。")
    level1_max: dict[str, float] = {}
    for ind in system.rated_indicators():
        level1_max[ind.level1] = level1_max.get(ind.level1, 0) + ind.weight
    spot = [(c, names.get(c, c), list(sc.reasons.get(c, []))) for c in sc.selected] if sc else []
    return YearReport(year=year, units=results, summary=summary, category_counts=counts, spotcheck=spot,
                      date=date.today(), previous_year_counts=prev_counts or None, level1_max=level1_max)


def score_sheet(session: Session, year: int):
    from reports.model import ScoreSheet
    from rounds.scoring import agreement_for

    rnd = R.get_round(session, year)
    system = R.system_for(rnd)
    units = [(u.code, u.name) for u in session.exec(select(Unit).order_by(Unit.code))]
    reviewers = {u.id: u.display_name or u.username for u in session.exec(select(User))}
    raw: dict = {}
    consensus: dict = {}
    by_indicator: dict[int, dict[tuple[str, int], int | None]] = {}
    for r in session.exec(select(Rating).where(Rating.year == year).order_by(Rating.id)):
        if r.kind == "consensus":
            if r.status == "submitted":
                consensus[(r.unit_code, r.indicator_no)] = r.level_value
            continue
        raw.setdefault((r.unit_code, r.indicator_no), []).append(
            (reviewers.get(r.reviewer_id, str(r.reviewer_id)), r.level_value, "已提交" if r.status == "submitted" else "草稿"))
        if r.status == "submitted":
            by_indicator.setdefault(r.indicator_no, {})[(r.unit_code, r.reviewer_id)] = r.level_value
    agreement = {}
    for no, cells in by_indicator.items():
        agreement[no] = agreement_for(cells)
    scores = R.unit_scores(session, year)
    totals = {c: s["total"] for c, s in scores.items() if s["total"] is not None}
    categories = {c.unit_code: c.category for c in session.exec(select(CategoryDecision).where(CategoryDecision.year == year))}
    return ScoreSheet(year=year, indicators=[(i.no, i.name, i.level1) for i in system.rated_indicators()],
                      units=units, raw=raw, consensus=consensus, agreement=agreement, totals=totals,
                      categories=categories)


def write_year_report(session: Session, year: int, out: Path) -> Path:
    from reports.zhuanbao import write_zhuanbao
    write_zhuanbao(year_report(session, year), out)
    return out


def write_score_table(session: Session, year: int, out: Path) -> Path:
    from reports.scores_xlsx import write_scores_xlsx
    write_scores_xlsx(score_sheet(session, year), out)
    return out
