"""The yearly results 专报 (《推进产业工人队伍建设改革协调小组专报》) as DOCX.

意见 第（八）条: evaluation results are reported in the form of the 协调小组专报.
"""

from __future__ import annotations

from pathlib import Path

from .model import CATEGORIES, LEVEL1_INDICATORS, UnitResult, YearReport, format_cn_date
from .officialdoc import WUHAO, OfficialDoc, cn_number, format_score

MASTHEAD = "推进产业工人队伍建设改革协调小组专报"
DRAFT_MARK = "（未定稿）"


def report_title(report: YearReport) -> str:
    return f"关于{report.year}年度各省（区、市）推进产业工人队伍建设改革工作情况评价考核结果的报告"


UNDECIDED = "未认定"


def units_phrase(codes) -> str:
    """"31个省（区、市）和新疆生产建设兵团": the 兵团 (BT) is not a province, so it is not counted among them."""
    codes = list(codes)
    provinces = len([c for c in codes if c != "BT"])
    if not provinces:
        return "新疆生产建设兵团" if "BT" in codes else "0个省（区、市）"
    return f"{provinces}个省（区、市）" + ("和新疆生产建设兵团" if "BT" in codes else "")


def counts_sentence(report: YearReport) -> str:
    counts = {c: n for c, n in report.counts().items() if c != UNDECIDED}
    total = sum(counts.values())
    if not total:
        return f"{report.year}年度尚无评价考核结果。"
    parts = [f"{c}{counts[c]}个" for c in counts if counts[c]]
    decided = [u.code for u in report.units if u.category != UNDECIDED] or [str(i) for i in range(total)]
    text = f"{report.year}年度参加评价考核的{units_phrase(decided)}中，评价类别为" + "、".join(parts) + "。"
    if len(decided) < len(report.units):
        text += f"另有{len(report.units) - len(decided)}个单位尚未认定类别。"
    if report.previous_year_counts:
        prev = report.previous_year_counts
        changes = []
        for c in CATEGORIES:
            delta = counts.get(c, 0) - prev.get(c, 0)
            if delta:
                changes.append(f"{c}{'增加' if delta > 0 else '减少'}{abs(delta)}个")
        text += ("与上年度相比，" + "、".join(changes) + "。") if changes else "各类别数量与上年度持平。"
    return text


def spotcheck_rows(report: YearReport) -> list[tuple[str, str, list[str]]]:
    """The explicit spot-check list, or the units marked spotchecked."""
    if report.spotcheck:
        return [(code, name, list(reasons)) for code, name, reasons in report.spotcheck]
    return [(u.code, u.name, u.spotcheck_reasons) for u in report.units if u.spotchecked]


def _remarks(unit: UnitResult) -> str:
    marks = list(unit.flags)
    if unit.spotchecked:
        marks.insert(0, "抽查")
    return "、".join(marks)


def _level1_average(units: list[UnitResult]) -> dict[str, float]:
    avg = {}
    for key in LEVEL1_INDICATORS:
        values = [u.level1_scores[key] for u in units if u.level1_scores.get(key) is not None]
        if values:
            avg[key] = sum(values) / len(values)
    return avg


def write_zhuanbao(report: YearReport, out: Path, *, with_radars: bool = True) -> Path:
    """Write the 专报 DOCX for one year and return its path."""
    from . import charts  # matplotlib is only needed here, not for the other documents

    doc = OfficialDoc()
    doc.properties(report_title(report), report.issuer)
    issue = f"第{report.issue_no}期" if report.issue_no is not None else ""
    doc.masthead(MASTHEAD, issue, report.issuer, format_cn_date(report.date), size=26)
    if not report.final:
        doc.title(DRAFT_MARK)
        doc.note("本年度评价考核尚未全部完成，以下结果为阶段性结果，不得作为正式结论使用；未完成事项见文末。")
    if report.notice:
        doc.note(report.notice)
    doc.title(report_title(report))
    doc.body(report.summary)

    doc.heading("一、评价考核结果总体情况", 1)
    doc.body(counts_sentence(report))
    rows = [[i, u.name, u.category, score_text(u), u.previous_category or "—", _remarks(u)]
            for i, u in enumerate(report.units, 1)]
    doc.table(["序号", "省（区、市）", "评价类别", "总分", "上年类别", "备注"], rows,
              widths_mm=[15, 42, 22, 20, 22, 35], center_columns={0, 2, 3, 4})
    counts = report.counts()
    doc.picture(charts.category_distribution(counts, title=""),
                width_mm=120, caption=f"图1　{report.year}年度评价类别分布")
    if report.previous_year_counts:
        doc.picture(charts.year_over_year(counts, report.previous_year_counts, year=report.year, title=""),
                    width_mm=120, caption="图2　评价类别年度对比")

    doc.heading("二、各省（区、市）主要亮点和存在问题", 1)
    average = _level1_average(report.units)
    for i, unit in enumerate(report.units, 1):
        _write_unit(doc, i, unit, report, average if with_radars else None)

    doc.heading("三、抽查评估情况", 1)
    rows = spotcheck_rows(report)
    if not rows:
        doc.note("本年度未开展抽查评估。")
    else:
        doc.body(f"本年度对以下{units_phrase(code for code, _, _ in rows)}开展抽查评估：")
        for i, (_, name, reasons) in enumerate(rows, 1):
            doc.body(f"{i}．{name}：" + ("；".join(reasons) if reasons else "随机抽取") + "。")
    if any(u.level1_scores for u in report.units):
        _write_score_annex(doc, report)
    if not report.final:
        doc.heading("未完成事项", 1)
        for i, line in enumerate(report.missing, 1):
            doc.body(f"{i}．{line}")
    return doc.save(out)


def score_text(unit: UnitResult) -> str:
    """The total, saying when it covers only part of the weight (未评 when nothing is scored)."""
    if unit.total_score is None or unit.scored_share <= 0:
        return "未评"
    text = format_score(unit.total_score)
    return text if unit.scored_share >= 1 else f"{text}（已评{unit.scored_share:.0%}）"


def _write_score_annex(doc: OfficialDoc, report: YearReport) -> None:
    """附件: unit × first-level indicator scores, for readers who want the numbers."""
    columns = [k for k in LEVEL1_INDICATORS if any(k in u.level1_scores for u in report.units)]
    doc.page_break()
    doc.labelled("附件", "").paragraph_format.first_line_indent = 0  # 附件 label sits flush left
    doc.title(f"{report.year}年度各省（区、市）一级指标得分")
    rows = [[u.name, *[format_score(u.level1_scores.get(k)) if k in u.level1_scores else "未评" for k in columns],
             score_text(u)]
            for u in report.units]
    if not report.final:
        doc.note("未评指标不计分（不按0分计）；总分只含已评部分。")
    name_width, total_width = 34, 16
    each = (156 - name_width - total_width) / max(len(columns), 1)
    # seven narrow columns: break "组织领导" evenly as 组织/领导 instead of 组织领/导
    headers = [k[: len(k) // 2] + "\n" + k[len(k) // 2:] if len(k) == 4 else k for k in columns]
    doc.table(["省（区、市）", *headers, "总分"], rows,
              widths_mm=[name_width, *[each] * len(columns), total_width],
              center_columns=set(range(1, len(columns) + 2)), size=WUHAO)


def _write_unit(doc: OfficialDoc, index: int, unit: UnitResult, report: YearReport,
                average: dict[str, float] | None) -> None:
    score = score_text(unit)
    doc.heading(f"（{cn_number(index)}）{unit.name}：{unit.category}（{score if score == '未评' else score + '分'}）", 2)
    if unit.previous_category and unit.previous_category != unit.category:
        doc.note(f"上年度评价类别为{unit.previous_category}。", keep_with_next=True)
    if not unit.strengths and not unit.problems:
        # an empty "主要亮点：无。存在问题：无。" would read as a finding; say why there is none
        doc.note("本单位未纳入抽查评估，评价类别依自评认定，未形成评审意见。" if not unit.spotchecked
                 else "抽查评估的评审意见尚未形成。")
    for label, items in (("主要亮点", unit.strengths), ("存在问题", unit.problems)):
        if not items:
            continue
        doc.labelled(f"{label}：", "")
        for n, item in enumerate(items, 1):
            doc.body(f"{n}．{item}")
    if unit.evidence:
        doc.labelled("佐证材料：", "")
        for excerpt in unit.evidence:
            doc.quote(excerpt.text, excerpt.citation.line(),
                      attention_note=excerpt.note if excerpt.needs_attention else None)
    if average is not None and unit.level1_scores:
        from . import charts

        png = charts.radar(unit.level1_scores, label=unit.name, maxima=report.level1_max,
                           reference=average, reference_label="各省平均")
        doc.picture(png, width_mm=95, caption=f"{unit.name}一级指标得分情况")
