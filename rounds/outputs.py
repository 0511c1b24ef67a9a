"""Maps a year's records into the report writers' plain data (reports/model.py)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from rounds import workflow as R
from rubrics.units import in_national_order
from evidence.models import CategoryDecision, Document, DocumentVersion, EvidenceLink, Rating, Unit, User


MAX_POINTS = 5


def _citation(session: Session, link: EvidenceLink, unit_names: dict[str, str]):
    from reports.model import Citation
    from review.document_meta import effective_metadata
    document = session.get(Document, link.document_id)
    meta = effective_metadata(session, document, session.get(DocumentVersion, link.version_id))  # corrections count
    return Citation(unit_name=unit_names.get(document.unit_code, document.unit_code),
                    document_title=meta.title or document.filename, doc_number=meta.doc_number,
                    date=meta.doc_date, page=link.page_no, filename=document.filename)


def missing_lines(results) -> list[str]:
    """One line per unit with unscored indicators, grouped by reason."""
    lines = []
    for u in results:
        if u.complete:
            continue
        by_reason: dict[str, list[int]] = {}
        for r in u.waiting:
            reason = r.basis.split("：")[0]
            by_reason.setdefault(reason, []).append(r.no)
        weight = sum(r.weight for r in u.waiting)
        parts = [f"{reason}：指标{'、'.join(map(str, nos[:12]))}{'等' if len(nos) > 12 else ''}（{len(nos)}项）"
                 for reason, nos in by_reason.items()]
        lines.append(f"{u.name}：{'；'.join(parts)}，合计{weight:g}分未评")
    return lines


def year_report(session: Session, year: int):
    from reports.model import Excerpt, UnitResult, YearReport
    from reports.zhuanbao import UNDECIDED, units_phrase
    from rounds.categories import flags_for

    rnd = R.get_round(session, year)
    system = R.system_for(rnd)
    units = {u.code: u for u in in_national_order(session.exec(select(Unit)))}
    names = {c: u.name for c, u in units.items()}
    decisions = {c.unit_code: c for c in session.exec(select(CategoryDecision).where(CategoryDecision.year == year))}
    previous = {c.unit_code: c.category for c in session.exec(
        select(CategoryDecision).where(CategoryDecision.year == year - 1))}
    history = R.category_history(session)
    sc = R.current_spotcheck(session, year)
    scored = R.round_scores(session, year)
    results = []
    for u in scored:
        code = u.code
        decision = decisions.get(code)
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
            if r.level_value is None or not r.rationale.strip():
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
            code=code, name=names.get(code, code), category=decision.category if decision else UNDECIDED,
            previous_category=previous.get(code),
            total_score=u.total if u.scored_weight else None, scored_share=u.scored_share,
            level1_scores=u.level1_points(), strengths=strengths, problems=problems,
            evidence=evidence, spotchecked=bool(sc and code in sc.selected),
            spotcheck_reasons=list((sc.reasons or {}).get(code, [])) if sc else [],
            flags=[f.message for f in flags_for(history.get(code, {}), year)]))
    counts: dict[str, int] = {}
    for r in results:
        if r.category != UNDECIDED:
            counts[r.category] = counts.get(r.category, 0) + 1
    prev_counts: dict[str, int] = {}
    for c in previous.values():
        prev_counts[c] = prev_counts.get(c, 0) + 1
    summary = (f"{year}年度，协调小组办公室组织对{units_phrase(units)}推进产业工人队伍建设改革"
               f"工作情况进行评价考核，{len(sc.selected) if sc else 0}个单位纳入抽查评估。"
               + ("，".join(f"{k}{v}个" for k, v in counts.items()) + "。" if counts else ""))
    missing = missing_lines(scored)
    undecided = [names[c] for c in units if c not in decisions]
    if undecided:
        missing.append(f"尚未认定类别的单位（{len(undecided)}个）：{'、'.join(undecided)}")
    level1_max: dict[str, float] = {}
    for ind in system.indicators:
        level1_max[ind.level1] = level1_max.get(ind.level1, 0) + ind.weight
    spot = [(c, names.get(c, c), list(sc.reasons.get(c, [])))
            for c in in_national_order(sc.selected, code=lambda c: c)] if sc else []
    return YearReport(year=year, units=results, summary=summary, category_counts=counts, spotcheck=spot,
                      date=date.today(), previous_year_counts=prev_counts or None, level1_max=level1_max,
                      final=not missing, missing=missing, notice=demo_notice(rnd))


def demo_notice(rnd) -> str:
    return "本文件由演示数据生成，数据均为虚构，仅供熟悉系统使用。" if rnd.is_demo else ""


def score_sheet(session: Session, year: int):
    from reports.model import ScoreSheet
    from rounds.scoring import agreement_for
    from rubrics.indicators import KINDS

    rnd = R.get_round(session, year)
    system = R.system_for(rnd)
    units = [(u.code, u.name) for u in in_national_order(session.exec(select(Unit)))]
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
    scored = R.round_scores(session, year)
    points = {(u.code, r.no): r.points for u in scored for r in u.indicators}
    basis = {(u.code, r.no): r.basis for u in scored for r in u.indicators}
    totals = {u.code: u.total for u in scored if u.scored_weight}
    categories = {c.unit_code: c.category for c in session.exec(select(CategoryDecision).where(CategoryDecision.year == year))}
    return ScoreSheet(year=year, indicators=[(i.no, i.name, i.level1) for i in system.indicators],
                      units=units, raw=raw, consensus=consensus, agreement=agreement, totals=totals,
                      categories=categories, points=points, basis=basis,
                      weights={i.no: (KINDS[i.kind], i.weight) for i in system.indicators},
                      scored_share={u.code: u.scored_share for u in scored}, notice=demo_notice(rnd))


def scores_json(session: Session, year: int) -> dict:
    """The round's scores as `kaoping scores --json` prints them (points are null while waiting)."""
    categories = {c.unit_code: c.category for c in session.exec(
        select(CategoryDecision).where(CategoryDecision.year == year))}
    return {"year": year, "units": [
        {"code": u.code, "name": u.name, "total": u.total, "complete": u.complete,
         "category": categories.get(u.code),
         "indicators": [{"no": r.no, "kind": r.kind, "weight": r.weight, "points": r.points, "basis": r.basis}
                        for r in u.indicators]}
        for u in R.round_scores(session, year)]}


def write_year_report(session: Session, year: int, out: Path) -> Path:
    from reports.zhuanbao import write_zhuanbao
    write_zhuanbao(year_report(session, year), out)
    return out


def write_score_table(session: Session, year: int, out: Path) -> Path:
    from reports.scores_xlsx import write_scores_xlsx
    write_scores_xlsx(score_sheet(session, year), out)
    return out


def self_assessment_document(session: Session, reading):
    """A unit's self-assessment (rounds.self_assessment.reading) in the report writer's plain data."""
    from reports.model import (ClaimedIndicator, ClaimedValue, Excerpt, SelfAssessmentDocument,
                               SelfAssessmentSection, format_cn_date)

    def number(value) -> str:
        return "" if value is None else f"{value:g}"

    names = {reading.unit_code: reading.unit_name}
    doc = SelfAssessmentDocument(
        year=reading.year, unit_name=reading.unit_name, category=reading.category or "", report=reading.report,
        status_line=(f"已于{format_cn_date(reading.submitted_on)}提交" if reading.submitted else "草稿（尚未提交）"),
        progress_line=(f"已填 {reading.progress.filled}/{reading.progress.owed} 项" if reading.progress else ""),
        notice=demo_notice(R.get_round(session, reading.year)))
    for section in reading.sections:
        out = SelfAssessmentSection(section.name)
        for it in section.items:
            claimed = (f"{it.level_label}（{it.level_value}）：{it.level_descriptor}"
                       if it.level_value is not None else "")
            values = []
            for v in it.values:
                source = v.source
                if v.corrected:
                    source += f"；办公室采用 {number(v.corrected[0]) or '—'}（{v.corrected[2]}）"
                values.append(ClaimedValue(f"{v.label}（{v.unit}）" if v.unit else v.label,
                                           number(v.value) or "未填", number(v.base_value),
                                           f"{v.growth_pct:g}%" if v.growth_pct is not None else "", source))
            excerpts = [Excerpt(text=link.quote, citation=_citation(session, link, names),
                                needs_attention=link.status != "ok",
                                note="证据已撤回或更新，请核对原文。" if link.status != "ok" else "")
                        for link in it.links]
            out.indicators.append(ClaimedIndicator(it.indicator.no, it.indicator.name, it.kind_label, it.owed,
                                                   it.indicator.is_rated, claimed, it.narrative, values, excerpts))
        doc.sections.append(out)
    return doc


def write_self_assessment(session: Session, reading, out: Path) -> Path:
    from reports.self_assessment import write_self_assessment_docx
    return write_self_assessment_docx(self_assessment_document(session, reading), out)
