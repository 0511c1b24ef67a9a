"""A unit's self-assessment (自评) as an official-looking DOCX: title, the unit's report, then per
first-level indicator each third-level one with the claimed level, the narrative, the values
and the quoted evidence with its citation."""

from __future__ import annotations

from pathlib import Path

from .model import SelfAssessmentDocument
from .officialdoc import OfficialDoc, cn_number

NOT_GIVEN = "未填"


def self_assessment_title(doc: SelfAssessmentDocument) -> str:
    return f"{doc.unit_name}{doc.year}年度推进产业工人队伍建设改革工作自评"


def write_self_assessment_docx(doc: SelfAssessmentDocument, out: Path) -> Path:
    word = OfficialDoc()
    title = self_assessment_title(doc)
    word.properties(title, doc.unit_name)
    word.title(title)
    if doc.notice:
        word.note(doc.notice)
    word.labelled("单位：", doc.unit_name)
    word.labelled("自评类别：", doc.category or NOT_GIVEN)
    if doc.status_line:
        word.labelled("状态：", doc.status_line)
    if doc.progress_line:
        word.labelled("填写进度：", doc.progress_line)
    word.heading("自评报告", 1)
    if doc.report.strip():
        word.body(doc.report)
    else:
        word.note("（未填写自评报告。）")
    for index, section in enumerate(doc.sections, 1):
        word.heading(f"{cn_number(index)}、{section.title}", 1)
        for ind in section.indicators:
            word.heading(f"{ind.no}. {ind.name}", 3)
            if not ind.owed:
                word.note("本指标由满意度调查得出，单位无需填写。")
                continue
            if ind.kind_label:
                word.labelled("指标类型：", ind.kind_label)
            if ind.rated:
                word.labelled("自评等级：", ind.claimed_level or NOT_GIVEN)
                word.labelled("说明：", ind.narrative.strip() or NOT_GIVEN)
            if ind.values:
                word.table(["数值项", "本年", "基期", "增长", "来源"],
                           [[v.label, v.value, v.base_value or "—", v.growth or "—", v.source] for v in ind.values],
                           widths_mm=[50, 22, 22, 20, 42], center_columns={1, 2, 3})
            for excerpt in ind.excerpts:
                word.quote(excerpt.text, excerpt.citation.line(),
                           attention_note=excerpt.note if excerpt.needs_attention else None)
    return word.save(Path(out))
