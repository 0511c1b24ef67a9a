"""Sample Chinese data shared by the tests/test_reports_*.py files.

Kept in a test_ module because only tests/test_reports_*.py belong to the
reports work; the builders are imported by the sibling test files.
"""

from __future__ import annotations

import datetime as dt

from reports.model import (
    LEVEL1_INDICATORS,
    CaseEntry,
    Citation,
    Collection,
    CollectionSection,
    Excerpt,
    ScoreSheet,
    UnitResult,
    YearReport,
)

LONG_EXCERPT = (
    "全省建立健全产业工人技能形成体系，" * 60
    + "推动职业技能等级认定与职称评审贯通，累计培养高技能人才十二万人。"
)

UNITS = [
    ("32", "江苏省", "优秀", "良好", 92.5),
    ("44", "广东省", "优秀", "优秀", 91.25),
    ("33", "浙江省", "良好", "良好", 85.0),
    ("51", "四川省", "良好", "一般", 80.75),
    ("62", "甘肃省", "一般", "一般", 70.5),
    ("65", "新疆维吾尔自治区", "差", "一般", 58.0),
]


def sample_citation(unit: str = "江苏省", page: int = 2) -> Citation:
    return Citation(
        unit_name=unit,
        document_title="关于深化产业工人队伍建设改革的实施意见",
        doc_number="苏产改〔2023〕3号",
        date=dt.date(2023, 5, 6),
        page=page,
        filename="jiangsu_2023_3.pdf",
    )


def sample_collection(kind: str = "collection") -> Collection:
    jiangsu = CaseEntry(
        case_title="构建“技能+学历”双提升通道",
        unit_name="江苏省",
        summary="江苏省将产业工人素质提升纳入全省高质量发展考核。\n各地市建立产改工作联席会议制度，形成上下联动格局。",
        excerpts=[
            Excerpt("省总工会联合人社厅开展职工技能提升行动，年度培训职工80万人次。", sample_citation()),
            Excerpt(LONG_EXCERPT, sample_citation(page=7)),
        ],
        indicator_labels=["素质提升", "19 编发简报、专报、案例汇编等情况"],
    )
    guangdong = CaseEntry(
        case_title="产业工人服务阵地全覆盖",
        unit_name="广东省",
        summary="广东省在重点产业园区建设职工服务中心。",
        excerpts=[
            Excerpt(
                "全省建成职工服务中心1200余个，覆盖全部国家级产业园区。",
                Citation("广东省", "广东省产业工人队伍建设改革2023年工作总结", "粤产改〔2024〕1号",
                         dt.date(2024, 1, 15), 4, "gd.pdf"),
                needs_attention=True,
                note="<script>alert('x')</script>数字与统计公报不一致，请核对",
            )
        ],
        indicator_labels=["权益维护"],
    )
    return Collection(
        title="推进产业工人队伍建设改革典型案例汇编",
        year=2023,
        preface="为总结推广各地推进产业工人队伍建设改革的经验做法，协调小组办公室编印本汇编。\n"
                "本汇编所收案例均摘自各省（区、市）报送的自评材料，引文后注明出处。",
        sections=[
            CollectionSection("素质提升", [jiangsu]),
            CollectionSection("权益维护", [guangdong]),
            CollectionSection("社会评价", []),
        ],
        kind=kind,
        issue_no=3 if kind == "briefing" else None,
        date=dt.date(2024, 3, 1),
    )


def sample_year_report() -> YearReport:
    units = []
    for i, (code, name, category, previous, total) in enumerate(UNITS):
        level1 = {k: round(10 + (i * 3 + j * 5) % 9 + 0.5, 1) for j, k in enumerate(LEVEL1_INDICATORS)}
        units.append(UnitResult(
            code=code, name=name, category=category, previous_category=previous, total_score=total,
            level1_scores=level1,
            strengths=[f"{name}党委政府高度重视产改工作，建立协调机制。"],
            problems=[f"{name}产业工人技能等级认定覆盖面仍需扩大。"],
            evidence=[Excerpt(f"{name}年度培训产业工人{(i + 1) * 10}万人次。", sample_citation(name, i + 1))],
            spotchecked=i in (0, 4),
            spotcheck_reasons=["自评类别与初始类别差异较大"] if i in (0, 4) else [],
            flags=["进步明显"] if category != previous and i == 0 else [],
        ))
    return YearReport(
        year=2023,
        units=units,
        summary="按照《关于建立推进产业工人队伍建设改革工作情况评价考核机制的意见》要求，"
                "协调小组办公室组织开展了2023年度评价考核工作。现将有关情况报告如下。",
        issue_no=5,
        date=dt.date(2024, 3, 20),
        previous_year_counts={"优秀": 1, "良好": 2, "一般": 3, "差": 0},
        level1_max={k: 20.0 for k in LEVEL1_INDICATORS},
    )


def sample_score_sheet() -> ScoreSheet:
    indicators = [(1, "纳入当地国民经济和社会发展规划", "组织领导"),
                  (2, "产改专项规划", "组织领导"),
                  (19, "编发简报、专报、案例汇编等情况", "组织领导"),
                  (30, "职工技能培训", "素质提升")]
    units = [("32", "江苏省"), ("44", "广东省")]
    raw = {
        ("32", 1): [("张三", 3.0, "已提交"), ("李四", 2.5, "已提交")],
        ("32", 2): [("张三", 2.0, "已提交"), ("李四", 2.0, "已提交")],
        ("32", 19): [("张三", 1.5, "已提交")],
        ("32", 30): [("张三", 4.0, "已提交"), ("李四", 3.5, "有争议")],
        ("44", 1): [("张三", 3.0, "已提交")],
        ("44", 2): [("李四", 1.0, "已提交")],
        ("44", 19): [("张三", 2.0, "已提交")],
        # ("44", 30) intentionally has no reviews
    }
    consensus = {("32", 1): 2.75, ("32", 2): 2.0, ("32", 19): 1.5, ("32", 30): None,
                 ("44", 1): 3.0, ("44", 2): 1.0, ("44", 19): 2.0, ("44", 30): None}
    return ScoreSheet(
        year=2023, indicators=indicators, units=units, raw=raw, consensus=consensus,
        agreement={1: (0.81, 0.74), 2: (0.52, None), 19: (None, None), 30: (0.7, 0.66)},
        totals={"32": 86.5},
        categories={"32": "优秀", "44": "良好"},
    )


def test_citation_line_matches_the_official_form():
    assert sample_citation().line() == (
        "——摘自：江苏省《关于深化产业工人队伍建设改革的实施意见》（苏产改〔2023〕3号），2023年5月6日，第2页"
    )


def test_citation_without_number_page_or_date_has_no_empty_brackets():
    line = Citation("浙江省", "《浙江省产改工作要点》").line()
    assert line == "——摘自：浙江省《浙江省产改工作要点》"


def test_counts_are_derived_from_units_in_category_order():
    counts = sample_year_report().counts()
    assert list(counts) == ["优秀", "良好", "一般", "差"]
    assert counts == {"优秀": 2, "良好": 2, "一般": 1, "差": 1}


def test_dates_accept_date_iso_string_and_free_text():
    from reports.model import format_cn_date

    assert format_cn_date(dt.date(2023, 5, 6)) == "2023年5月6日"
    assert format_cn_date("2023-05-06") == "2023年5月6日"
    assert format_cn_date("2023年5月") == "2023年5月"
    assert format_cn_date(None) == ""
