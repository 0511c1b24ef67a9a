"""Plain input data for the documents Kaoping produces.

The report writers never touch the database: the caller maps its records into
these dataclasses, so the writers can be tested (and reused) with plain data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

#: The seven first-level indicators of the 产改 evaluation system, in the order
#: of 附件1 (产改字〔2022〕1号). Charts and tables use this order.
LEVEL1_INDICATORS: tuple[str, ...] = (
    "组织领导",
    "思想引领",
    "素质提升",
    "队伍壮大",
    "地位提高",
    "权益维护",
    "社会评价",
)

#: Evaluation categories, highest first (意见 第（七）条).
CATEGORIES: tuple[str, ...] = ("优秀", "良好", "一般", "差")

DEFAULT_ISSUER = "推进产业工人队伍建设改革协调小组办公室"

DateLike = dt.date | str | None


def format_cn_date(value: DateLike) -> str:
    """Render a date the way official documents write it: 2023年5月6日.

    ISO strings ("2023-05-06") are converted; other strings pass through
    untouched because callers sometimes only know "2023年5月" and we must not
    invent a day.
    """
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:  # ISO strings straight from the database
            value = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return value
    return f"{value.year}年{value.month}月{value.day}日"


@dataclass
class Citation:
    unit_name: str
    document_title: str
    doc_number: str = ""
    date: DateLike = None
    page: int | str | None = None
    filename: str = ""

    def source_text(self) -> str:
        """江苏省《关于…》（苏产改〔2023〕3号），2023年5月6日，第2页"""
        title = self.document_title.strip()
        if title and not title.startswith("《"):
            title = f"《{title}》"
        text = f"{self.unit_name}{title}"
        if self.doc_number:
            text += f"（{self.doc_number}）"
        parts = [text]
        if self.date:
            parts.append(format_cn_date(self.date))
        if self.page not in (None, ""):
            parts.append(f"第{self.page}页")
        return "，".join(parts)

    def line(self) -> str:
        """The citation line printed under an excerpt."""
        return f"——摘自：{self.source_text()}"


@dataclass
class Excerpt:
    text: str
    citation: Citation
    needs_attention: bool = False
    note: str = ""


@dataclass
class CaseEntry:
    case_title: str
    unit_name: str
    summary: str = ""
    excerpts: list[Excerpt] = field(default_factory=list)
    indicator_labels: list[str] = field(default_factory=list)


@dataclass
class CollectionSection:
    title: str
    entries: list[CaseEntry] = field(default_factory=list)


@dataclass
class Collection:
    title: str
    year: int
    preface: str = ""
    sections: list[CollectionSection] = field(default_factory=list)
    kind: Literal["collection", "briefing"] = "collection"
    issue_no: int | None = None
    issuer: str = DEFAULT_ISSUER
    date: DateLike = None


@dataclass
class UnitResult:
    code: str
    name: str
    category: str
    previous_category: str | None = None
    total_score: float | None = None
    #: share of the weight behind total_score (1.0 = all indicators scored)
    scored_share: float = 1.0
    level1_scores: dict[str, float] = field(default_factory=dict)
    strengths: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    evidence: list[Excerpt] = field(default_factory=list)
    spotchecked: bool = False
    spotcheck_reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass
class YearReport:
    year: int
    units: list[UnitResult]
    summary: str = ""
    #: category -> number of units; computed from ``units`` when left empty.
    category_counts: dict[str, int] = field(default_factory=dict)
    #: (unit code, unit name, reasons)
    spotcheck: list[tuple[str, str, list[str]]] = field(default_factory=list)
    issue_no: int | None = None
    date: DateLike = None
    previous_year_counts: dict[str, int] | None = None
    issuer: str = DEFAULT_ISSUER
    #: first-level indicator -> maximum points (weight); radars show % of it when given
    level1_max: dict[str, float] | None = None
    #: False while any unit has unscored indicators: the cover says 未定稿 and `missing` says why
    final: bool = True
    #: what is still missing, one line per unit ("江苏省：指标 14、23 缺少数值（权重 1.5 分）")
    missing: list[str] = field(default_factory=list)
    #: a note shown under the masthead (e.g. that the data are demo data)
    notice: str = ""

    def counts(self) -> dict[str, int]:
        """Category counts in CATEGORIES order, derived from units if not given."""
        if self.category_counts:
            source = self.category_counts
        else:
            source = {}
            for unit in self.units:
                source[unit.category] = source.get(unit.category, 0) + 1
        ordered = {c: int(source.get(c, 0)) for c in CATEGORIES}
        # keep any non-standard category (e.g. 待定) rather than silently dropping it
        for key, value in source.items():
            ordered.setdefault(key, int(value))
        return ordered


@dataclass
class ScoreSheet:
    year: int
    #: (indicator number, indicator name, first-level indicator name)
    indicators: list[tuple[int | str, str, str]]
    #: (unit code, unit name)
    units: list[tuple[str, str]]
    #: (unit code, indicator no) -> [(reviewer, value, status)]
    raw: dict[tuple[str, int | str], list[tuple[str, float | None, str]]] = field(default_factory=dict)
    #: (unit code, indicator no) -> agreed value, None while still disputed
    consensus: dict[tuple[str, int | str], float | None] = field(default_factory=dict)
    #: indicator no -> (Krippendorff's alpha, Cohen/Fleiss kappa)
    agreement: dict[int | str, tuple[float | None, float | None]] = field(default_factory=dict)
    #: unit code -> total score
    totals: dict[str, float] = field(default_factory=dict)
    #: unit code -> category; optional, shown on the 汇总 sheet when given
    categories: dict[str, str] = field(default_factory=dict)
    #: (unit code, indicator no) -> points earned, None while waiting; from rounds.scoring.score_round.
    #: When given, the 汇总 sheet sums these (the one computation) and a 指标得分 sheet lists them.
    points: dict[tuple[str, int | str], float | None] = field(default_factory=dict)
    #: (unit code, indicator no) -> where the points came from, or why they wait
    basis: dict[tuple[str, int | str], str] = field(default_factory=dict)
    #: indicator no -> (kind label, weight) for the 指标得分 sheet
    weights: dict[int | str, tuple[str, float]] = field(default_factory=dict)
    #: unit code -> share of the weight scored (1.0 = complete)
    scored_share: dict[str, float] = field(default_factory=dict)
    #: a note every sheet carries (e.g. that the data are demo data)
    notice: str = ""


@dataclass
class ClaimedValue:
    """One statistic a unit reported in its self-assessment, as printed."""
    label: str
    value: str
    base_value: str = ""
    growth: str = ""
    source: str = "自评报告"


@dataclass
class ClaimedIndicator:
    """What a unit's self-assessment says about one indicator."""
    no: int
    name: str
    kind_label: str = ""
    owed: bool = True
    rated: bool = True  # a level is claimed on the rubric (qualitative and mixed indicators)
    claimed_level: str = ""  # "好（4）：……" or "" when none was given
    narrative: str = ""
    values: list[ClaimedValue] = field(default_factory=list)
    excerpts: list[Excerpt] = field(default_factory=list)


@dataclass
class SelfAssessmentSection:
    title: str
    indicators: list[ClaimedIndicator] = field(default_factory=list)


@dataclass
class SelfAssessmentDocument:
    """A unit's self-assessment of a year, for printing (自评报告)."""
    year: int
    unit_name: str
    category: str = ""
    report: str = ""
    status_line: str = ""  # 已于2024年2月20日提交 / 草稿（尚未提交）
    progress_line: str = ""  # 已填 80/85 项
    sections: list[SelfAssessmentSection] = field(default_factory=list)
    notice: str = ""  # e.g. that the data are demo data
