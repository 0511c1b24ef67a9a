"""Cleaning, metadata and passage splitting on plain strings (no files, no binaries)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.clean import clean_pages
from ingest.extract import PageText, build_extraction, split_passages
from ingest.extract.types import RawDocument
from ingest.metadata import DOC_KINDS, read_metadata
from shared_data import seed_text



# ------------------------------------------------------------------ 文号
@pytest.mark.parametrize("raw", [
    "产改字〔2022〕1号", "产改字[2022]1号", "产改字(2022)1号", "产改字【2022】1号", "产改字［2022］1号",
    "产改字（2022）1号", "产改字 〔 2022 〕 1 号", "产改字〔2022〕第1号", "产改字〔2022〕01号",
])
def test_doc_number_variants_normalise_to_official_form(raw):
    meta = read_metadata(f"关于推进改革的意见\n{raw}\n正文内容。")
    assert meta.doc_number == "产改字〔2022〕1号"
    assert meta.confidence["doc_number"] >= 0.9


def test_doc_number_inside_a_sentence_keeps_only_the_issuer_code():
    meta = read_metadata("根据协调小组印发产改字［2022］1号文件要求，现将有关事项通知如下。")
    assert meta.doc_number == "产改字〔2022〕1号"
    assert meta.confidence["doc_number"] < 0.9


# ------------------------------------------------------------------ dates
@pytest.mark.parametrize("raw, iso", [
    ("2022年3月5日", "2022-03-05"), ("二〇二二年三月五日", "2022-03-05"), ("2022-03-05", "2022-03-05"),
    ("二〇二一年十二月二十日", "2021-12-20"), ("2023 年 11 月 30 日", "2023-11-30"), ("2022.3.5", "2022-03-05"),
])
def test_dates_in_official_styles(raw, iso):
    meta = read_metadata(f"关于某事的通知\n正文。\n江苏省总工会\n{raw}")
    assert meta.date == iso
    assert meta.issuer == "江苏省总工会"


def test_signature_date_beats_dates_mentioned_in_the_body():
    text = "关于开展评价的通知\n2021年1月1日以来，各地积极推进。\n协调小组办公室\n2022年3月5日\n"
    assert read_metadata(text).date == "2022-03-05"


def test_seed_policy_document_metadata():
    meta = read_metadata(seed_text())
    assert meta.doc_number == "产改字〔2022〕1号"
    assert meta.title == "关于建立推进产业工人队伍建设改革工作情况评价考核机制的意见"
    assert meta.kind == "policy"
    # The seed is national: one addressee mention of 新疆生产建设兵团 must not make it the unit.
    assert meta.unit_code is None


def test_kind_codes_are_the_published_set():
    assert set(DOC_KINDS) == {"policy", "notice", "media", "summary", "briefing", "case", "research",
                              "statistics", "other"}
    assert read_metadata("关于召开推进会的会议纪要\n会议认为……").kind == "notice"
    assert read_metadata("江苏省2022年产改工作总结\n一年来……").kind == "summary"
    assert read_metadata("本报讯（记者 王明）近日，江苏省总工会……\n来源：新华日报").kind == "media"


def test_unit_detection_prefers_the_longest_name():
    text = "新疆生产建设兵团产改工作总结\n新疆生产建设兵团总工会持续推进改革，兵团各师市积极落实。"
    assert read_metadata(text).unit_code == "BT"
    assert read_metadata("新疆维吾尔自治区产改工作总结\n新疆各地积极推进。").unit_code == "XJ"


def test_single_character_alias_only_counts_in_a_doc_number():
    # 南京 contains 京 but is not Beijing.
    assert read_metadata("南京市总工会工作动态\n南京市南京区推进改革。").unit_code != "BJ"


# ------------------------------------------------------------------ cleaning
def test_pdf_cleaning_rejoins_lines_and_drops_page_furniture():
    def body(n: str) -> str:
        return "\n".join([f"第{n}部分产业工人队伍建设改革是一项全局性系统性工程需要绵绵用力久久为功各地",
                          "要结合实际抓好落实确保各项改革任务落地见效在 2023 年取得新的成效。",
                          "二、主要目标",
                          "全面深入掌握改革方案贯彻落实情况通过评价考核全面掌握改革方案落实",
                          f"情况{n}。"])
    pages = [f"推进产改工作简报 {no}\n{body(n)}\n— {no} —" for no, n in enumerate("甲乙丙", start=1)]
    cleaned = clean_pages(pages, layout_lines=True)
    for n, page in zip("甲乙丙", cleaned):
        assert page.startswith(f"第{n}部分") and page.endswith(f"落实情况{n}。")
        assert "推进产改工作简报" not in page
        assert "—" not in page
        assert "2023年" in page and "2023 年" not in page
        assert "各地要结合实际" in page  # wrapped line joined without a space
        assert "\n二、主要目标\n" in page  # headings stay their own paragraph


@pytest.mark.parametrize("line", ["- 2 -", "— 12 —", "第 2 页", "第2页 共10页", "2/10", "12"])
def test_page_number_lines_are_dropped(line):
    cleaned = clean_pages([f"正文第一段内容。\n{line}", f"正文第二段内容。\n{line}"], layout_lines=True)
    assert all(page.endswith("内容。") for page in cleaned)


def test_cleaning_keeps_traditional_characters_and_folds_width():
    cleaned = clean_pages(["産業工人隊伍建設ＡＢＣ１２３（一）"])[0]
    assert cleaned == "産業工人隊伍建設ABC123（一）"


# ------------------------------------------------------------------ passages
def _extraction_from(pages: list[str]):
    return build_extraction(RawDocument(format="txt", pages=pages))


def test_passage_offsets_slice_the_canonical_text_exactly():
    seed = seed_text()
    extraction = _extraction_from([seed[:8000], seed[8000:16000], seed[16000:]])
    passages = split_passages(extraction)
    assert len(passages) > 20
    for span in passages:
        assert extraction.text[span.start:span.end] == span.text
        assert len(span.text) <= 500
        page_start = extraction.page_starts[span.page_no - 1]
        assert page_start <= span.start < page_start + len(extraction.pages[span.page_no - 1].text) + 1
    assert [p.seq for p in passages] == list(range(len(passages)))


def test_long_paragraphs_are_cut_at_sentence_ends_and_tiny_ones_merged():
    sentence = "推进产业工人队伍建设改革取得阶段性成效。"
    extraction = _extraction_from(["一、总体要求\n" + sentence * 60])
    passages = split_passages(extraction)
    assert passages[0].text.startswith("一、总体要求\n")  # the heading joined its paragraph
    assert all(p.text.endswith("。") for p in passages)
    assert len(passages) >= 3


def test_short_closing_line_joins_the_paragraph_before_it():
    body = "经省委同意，成立江苏省推进产业工人队伍建设改革协调小组，由省委副书记任组长，省总工会主席任常务副组长。"
    extraction = _extraction_from([f"{body}\n\n二〇二三年三月五日\n"])
    passages = split_passages(extraction)
    assert [p.text for p in passages] == [f"{body}\n二〇二三年三月五日"]


def test_canonical_text_joins_pages_with_blank_line():
    extraction = _extraction_from(["第一页。", "第二页。"])
    assert extraction.text == "第一页。\n\n第二页。"
    assert extraction.page_starts == [0, 6]
    assert extraction.pages[1] == PageText(no=2, text="第二页。", ocr=False)


# ------------------------------------------------------------------ text-layer quality (decides OCR)
def test_text_layer_quality_check():
    from ingest.extract.pdf import text_layer_is_usable
    assert text_layer_is_usable("推进产业工人队伍建设改革工作情况评价考核机制的意见，现提出如下意见。")
    assert text_layer_is_usable("Lorem ipsum dolor sit amet, consetetur sadipscing elitr, sed diam.")
    assert not text_layer_is_usable("第 1 页")  # too little to be the page's text
    assert not text_layer_is_usable("\x01\x02\x03\x04" * 10 + "产业工人")  # font without a Unicode map
    assert not text_layer_is_usable("¸ÄÔ¸ï¶ÓÎé½¨Éè¸Ä¸ï¹¤×÷Çé¿öÆÀ¼Û¿¼ºË»úÖÆµÄÒâ¼û")  # GBK bytes shown as Latin-1


def test_html_meta_tags_fill_title_date_and_issuer():
    raw = RawDocument(format="html", pages=["会议强调，要推进产业工人队伍建设改革。"],
                      hints={"title": "省总工会召开产改推进会", "date": "2022-03-05 10:20", "issuer": "工人日报"})
    meta = build_extraction(raw).metadata
    assert (meta.title, meta.date, meta.issuer) == ("省总工会召开产改推进会", "2022-03-05", "工人日报")


def test_passage_invariants_hold_for_many_random_layouts():
    import random
    rng = random.Random(20260301)
    pieces = ["推进改革。", "产业工人", "，", "！", "一、总体要求", "  ", "", "Lorem ipsum dolor.", "2023年"]
    for _ in range(200):
        pages = ["\n".join("".join(rng.choice(pieces) for _ in range(rng.choice([0, 1, 3, 30, 150])))
                           for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(1, 3))]
        extraction = _extraction_from(pages)
        passages = split_passages(extraction)
        covered = "".join(p.text for p in passages)
        assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", extraction.text)  # nothing lost or repeated
        for span in passages:
            assert extraction.text[span.start:span.end] == span.text and span.text.strip()
            assert len(span.text) <= 500


def test_news_headline_ending_in_an_organisation_is_a_title():
    from ingest.metadata import read_metadata
    text = "省总工会命名首批12家省级工匠学院\n\n新华日报讯 4月26日，江苏省总工会召开推进会，为首批12家省级工匠学院授牌。"
    assert read_metadata(text).title == "省总工会命名首批12家省级工匠学院"
