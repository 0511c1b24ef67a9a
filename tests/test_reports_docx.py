"""Read the generated 专报 / 汇编 / 简报 DOCX files back and check their content."""

from __future__ import annotations

import docx
import pytest
from docx.oxml.ns import qn

from test_reports_samples import LONG_EXCERPT, sample_collection, sample_year_report

from reports.collection import EMPTY_SECTION_NOTE, write_collection_docx
from reports.officialdoc import FANGSONG, HEITI, cn_number, format_score
from reports.zhuanbao import write_zhuanbao


def body_texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def assert_excerpts_cited(texts: list[str], excerpts) -> None:
    """Each excerpt appears exactly (all its lines, in order) and the next paragraph is its citation."""
    for excerpt in excerpts:
        lines = [line.strip() for line in excerpt.text.splitlines() if line.strip()]
        starts = [i for i, t in enumerate(texts) if t == lines[0]]
        assert starts, f"excerpt not found: {lines[0][:30]}"
        i = starts[0]
        assert texts[i:i + len(lines)] == lines
        assert texts[i + len(lines)] == excerpt.citation.line()


def instr_texts(element) -> list[str]:
    return [(el.text or "").strip() for el in element.iter(qn("w:instrText"))]


@pytest.fixture(scope="module")
def zhuanbao(tmp_path_factory):
    out = tmp_path_factory.mktemp("zb") / "专报.docx"
    report = sample_year_report()
    write_zhuanbao(report, out)
    return report, docx.Document(str(out))


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    out = tmp_path_factory.mktemp("hb") / "汇编.docx"
    c = sample_collection()
    write_collection_docx(c, out)
    return c, docx.Document(str(out))


# --- 专报 ----------------------------------------------------------------------

def test_zhuanbao_masthead_is_red_with_issue_and_date(zhuanbao):
    _, document = zhuanbao
    texts = body_texts(document)
    assert "".join(texts[:2]) == "推进产业工人队伍建设改革协调小组专报"
    first_run = document.paragraphs[0].runs[0]
    assert str(first_run.font.color.rgb) == "E00000"
    assert "第5期" in texts
    assert any("推进产业工人队伍建设改革协调小组办公室" in t and "2024年3月20日" in t for t in texts)


def test_zhuanbao_category_table_holds_each_unit_result(zhuanbao):
    report, document = zhuanbao
    table = document.tables[0]
    header = [c.text for c in table.rows[0].cells]
    assert header == ["序号", "省（区、市）", "评价类别", "总分", "上年类别", "备注"]
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(rows) == len(report.units)
    by_name = {r[1]: r for r in rows}
    assert by_name["江苏省"][2:5] == ["优秀", "92.5", "良好"]
    assert by_name["广东省"][3] == "91.25"
    assert by_name["新疆维吾尔自治区"][2] == "差"
    # spot-checked units are marked, flags are listed
    assert by_name["江苏省"][5] == "抽查、进步明显"
    assert by_name["甘肃省"][5] == "抽查"
    assert by_name["浙江省"][5] == ""


def test_zhuanbao_counts_sentence_compares_with_previous_year(zhuanbao):
    _, document = zhuanbao
    text = "\n".join(body_texts(document))
    assert "评价类别为优秀2个、良好2个、一般1个、差1个。" in text
    assert "优秀增加1个、一般减少2个、差增加1个" in text


def test_zhuanbao_cites_every_unit_evidence(zhuanbao):
    report, document = zhuanbao
    texts = body_texts(document)
    assert_excerpts_cited(texts, [e for u in report.units for e in u.evidence])
    for unit in report.units:
        assert any(unit.strengths[0] in t for t in texts)
        assert any(unit.problems[0] in t for t in texts)


def test_zhuanbao_has_charts_and_spotcheck_reasons(zhuanbao):
    report, document = zhuanbao
    # distribution + year-over-year + one radar per unit
    assert len(document.inline_shapes) == 2 + len(report.units)
    texts = body_texts(document)
    assert "三、抽查评估情况" in texts
    assert "1．江苏省：自评类别与初始类别差异较大。" in texts
    assert "2．甘肃省：自评类别与初始类别差异较大。" in texts


def test_zhuanbao_annex_lists_first_level_scores(zhuanbao):
    report, document = zhuanbao
    annex = document.tables[-1]
    header = [c.text.replace("\n", "") for c in annex.rows[0].cells]
    assert header == ["省（区、市）", "组织领导", "思想引领", "素质提升", "队伍壮大", "地位提高", "权益维护", "社会评价", "总分"]
    for unit, row in zip(report.units, annex.rows[1:]):
        cells = [c.text for c in row.cells]
        assert cells[0] == unit.name
        assert cells[1:8] == [format_score(unit.level1_scores[k]) for k in header[1:8]]
        assert cells[8] == format_score(unit.total_score)


def test_zhuanbao_without_radars_has_only_summary_charts(tmp_path):
    out = write_zhuanbao(sample_year_report(), tmp_path / "z.docx", with_radars=False)
    assert len(docx.Document(str(out)).inline_shapes) == 2


# --- shared official styling -------------------------------------------------------

def test_fonts_name_east_asian_and_latin_slots(zhuanbao):
    _, document = zhuanbao
    normal = document.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == FANGSONG
    assert normal.get(qn("w:ascii")) == FANGSONG
    heading = next(p for p in document.paragraphs if p.text == "一、评价考核结果总体情况")
    fonts = heading.runs[0]._element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == HEITI
    assert fonts.get(qn("w:hAnsi")) == HEITI
    # no theme font may override the explicit names
    styles_xml = document.styles.element.xml
    assert "eastAsiaTheme" not in styles_xml


def test_font_table_lists_fallbacks(zhuanbao):
    _, document = zhuanbao
    part = next(p for p in document.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    xml = part.blob.decode("utf-8")
    assert 'w:name="仿宋_GB2312"' in xml
    assert '<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>' in xml
    assert '<w:font w:name="黑体"><w:altName w:val="SimHei"/>' in xml


def test_page_setup_is_a4_with_official_margins(zhuanbao):
    _, document = zhuanbao
    section = document.sections[-1]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert (round(section.top_margin.mm), round(section.bottom_margin.mm),
            round(section.left_margin.mm), round(section.right_margin.mm)) == (37, 35, 28, 26)


def test_footer_has_page_field_between_dashes(zhuanbao):
    _, document = zhuanbao
    for footer in (document.sections[-1].footer, document.sections[-1].even_page_footer):
        assert footer.paragraphs[0].text.startswith("— ")
        assert footer.paragraphs[0].text.endswith(" —")
        assert "PAGE" in instr_texts(footer._element)


# --- 汇编 -------------------------------------------------------------------------

def test_collection_cover_is_unnumbered_and_body_restarts_at_one(collection):
    c, document = collection
    assert len(document.sections) == 2
    cover, body = document.sections
    assert cover.footer.is_linked_to_previous  # no footer of its own: no number on the cover
    assert "PAGE" not in instr_texts(cover.footer._element)
    assert body._sectPr.find(qn("w:pgNumType")).get(qn("w:start")) == "1"
    texts = body_texts(document)
    assert c.title in texts and "推进产业工人队伍建设改革协调小组办公室" in texts and "2024年3月1日" in texts


def test_file_properties_name_the_issuer_not_python_docx(collection, zhuanbao):
    c, document = collection
    assert document.core_properties.title == c.title
    assert document.core_properties.author == "推进产业工人队伍建设改革协调小组办公室"
    assert "python-docx" not in (document.core_properties.comments or "")
    assert zhuanbao[1].core_properties.author == "推进产业工人队伍建设改革协调小组办公室"


def test_collection_has_toc_field_with_entries_for_every_heading(collection):
    c, document = collection
    instructions = instr_texts(document.element.body)
    assert 'TOC \\o "1-3" \\h \\z \\u' in instructions
    pagerefs = [i for i in instructions if i.startswith("PAGEREF _Toc")]
    bookmarks = {b.get(qn("w:name")) for b in document.element.body.iter(qn("w:bookmarkStart"))}
    # 前言 + 3 sections + 2 entries, each pointing at an existing heading bookmark
    assert len(pagerefs) == 6
    assert {p.split()[1] for p in pagerefs} <= bookmarks
    toc_entries = [p.text for p in document.paragraphs if p.style.name.startswith("TOC")]
    assert toc_entries[1].startswith("一、素质提升")
    settings = document.settings.element
    assert settings.find(qn("w:updateFields")).get(qn("w:val")) == "true"


def test_collection_sections_entries_and_empty_note(collection):
    c, document = collection
    texts = body_texts(document)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings == ["前　言", "一、素质提升", "（一）构建“技能+学历”双提升通道",
                        "二、权益维护", "（一）产业工人服务阵地全覆盖", "三、社会评价"]
    assert texts[texts.index("三、社会评价") + 1] == EMPTY_SECTION_NOTE
    assert "单位：江苏省" in texts


def test_collection_excerpts_whole_and_cited(collection):
    c, document = collection
    texts = body_texts(document)
    excerpts = [e for s in c.sections for entry in s.entries for e in entry.excerpts]
    assert_excerpts_cited(texts, excerpts)
    assert LONG_EXCERPT in texts  # never truncated


def test_flagged_excerpt_gets_visible_note_after_citation(collection):
    c, document = collection
    texts = body_texts(document)
    flagged = c.sections[1].entries[0].excerpts[0]
    at = texts.index(flagged.citation.line())
    assert texts[at + 1] == "【需核实】" + flagged.note
    unflagged = c.sections[0].entries[0].excerpts[0]
    assert not texts[texts.index(unflagged.citation.line()) + 1].startswith("【需核实】")


def test_briefing_has_masthead_and_no_toc(tmp_path):
    c = sample_collection("briefing")
    document = docx.Document(str(write_collection_docx(c, tmp_path / "简报.docx")))
    texts = body_texts(document)
    assert texts[0] == "产改工作简报"
    assert "第3期" in texts
    assert not any(i.startswith("TOC") for i in instr_texts(document.element.body))
    assert len(document.sections) == 1  # no cover page
    assert "【素质提升】" in texts
    assert_excerpts_cited(texts, [e for s in c.sections for entry in s.entries for e in entry.excerpts])


def test_chinese_numbers_and_scores():
    assert [cn_number(n) for n in (1, 10, 11, 20, 32)] == ["一", "十", "十一", "二十", "三十二"]
    assert (format_score(92.5), format_score(91.25), format_score(85.0), format_score(None)) == ("92.5", "91.25", "85", "—")


def _child_tags(element) -> list[str]:
    return [child.tag.split("}")[1] for child in element]


def _before(tags: list[str], first: str, then: str) -> bool:
    return first not in tags or then not in tags or tags.index(first) < tags.index(then)


def test_xml_children_follow_schema_order(collection, zhuanbao):
    """Word reports "unreadable content" for out-of-order children; check the ones we insert."""
    for _, document in (collection, zhuanbao):
        body = document.element.body
        for sect in body.iter(qn("w:sectPr")):
            tags = _child_tags(sect)
            assert _before(tags, "pgMar", "pgNumType") and _before(tags, "pgNumType", "docGrid")
        for ppr in body.iter(qn("w:pPr")):
            tags = _child_tags(ppr)
            for later in ("tabs", "spacing", "ind", "jc"):
                assert _before(tags, "pBdr", later)
        for tcpr in body.iter(qn("w:tcPr")):
            tags = _child_tags(tcpr)
            assert _before(tags, "tcW", "shd") and _before(tags, "shd", "vAlign")
        for rpr in body.iter(qn("w:rPr")):
            tags = _child_tags(rpr)
            assert _before(tags, "rStyle", "rFonts") and _before(tags, "rFonts", "sz")
    settings = _child_tags(collection[1].settings.element)
    assert _before(settings, "updateFields", "compat") and _before(settings, "evenAndOddHeaders", "updateFields")
    assert any(d.sections[-1]._sectPr.find(qn("w:pgNumType")) is not None for _, d in (collection,))
    masthead_rule = next(p for p in zhuanbao[1].paragraphs if "2024年3月20日" in p.text)
    assert masthead_rule._p.pPr.find(qn("w:pBdr")) is not None


def test_report_without_units_still_writes_a_sensible_document(tmp_path):
    report = sample_year_report()
    report.units, report.previous_year_counts = [], None
    document = docx.Document(str(write_zhuanbao(report, tmp_path / "empty.docx")))
    texts = body_texts(document)
    assert "2023年度尚无评价考核结果。" in texts
    assert "本年度未开展抽查评估。" in texts
    assert len(document.tables[0].rows) == 1  # header only


def test_units_are_counted_as_provinces_and_the_bingtuan_apart():
    from reports.zhuanbao import units_phrase
    assert units_phrase(["JS", "ZJ", "BT"]) == "2个省（区、市）和新疆生产建设兵团"
    assert units_phrase(["JS"]) == "1个省（区、市）"
    assert units_phrase(["BT"]) == "新疆生产建设兵团"  # never "0个省（区、市）和…"
