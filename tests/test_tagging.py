"""The rule tagger: what it finds, what it must not find, and where it points."""
from __future__ import annotations

import re

import pytest

from tagging import THRESHOLD, TAGGER_VERSION, Tagger, tag_passages, tag_text
from tagging.evaluate import evaluate, load_eval_set
from tagging.rules import default_rulebook

LEADERSHIP = "4月12日，省委书记主持召开省委常委会会议，专题研究产业工人队伍建设改革工作，对全年改革任务作出部署。"
BODY = "省委成立推进产业工人队伍建设改革协调小组，由省委副书记任组长，34家单位为成员单位。"


def suggested(result) -> set[int]:
    return {s.no for s in result.indicators}


def test_leadership_meeting_is_evidence_for_indicator_4():
    result = tag_text(LEADERSHIP)
    assert 4 in suggested(result)
    top = next(s for s in result.indicators if s.no == 4)
    assert top.score >= THRESHOLD
    assert "常委会" in top.reason


def test_a_call_to_strengthen_leadership_is_not_evidence_for_7_but_setting_up_a_body_is():
    call = tag_text("会议要求，各级党委要进一步加强组织领导，推进产业工人队伍建设改革。")
    assert 7 not in suggested(call)
    assert 7 in suggested(tag_text(BODY))


def test_every_suggestion_quotes_terms_found_in_its_passages():
    for item in load_eval_set()[:200]:
        result = tag_text(item.text)
        for s in result.ranked():
            assert s.passages, s
            joined = "".join(p.text for p in s.passages)
            for term in s.matched_terms:
                assert term in joined
            for quote in re.findall(r"“([^”]+)”", s.reason):
                quote = quote.rstrip("…")
                assert any(quote in p.text for p in s.passages), (item.id, quote)
            for p in s.passages:
                assert item.text[p.start:p.end] == p.text


@pytest.mark.parametrize("text", ["", "   \n\n  ", "通知", "The quarterly report covers revenue and costs.",
                                  "产业工人"])
def test_empty_short_and_english_texts_give_nothing(text):
    result = tag_text(text)
    assert result.indicators == []


def test_scraping_noise_does_not_hide_evidence_and_offsets_point_at_the_original():
    noisy = ("<p>省委成立推進產業工人隊伍建設改革協調小組（xié tiáo xiǎo zǔ），由省委副書記任組長，"
             "34 家 單 位 為 成 員 單 位 。&nbsp;</p>")
    result = tag_text(noisy)
    assert 7 in suggested(result)
    s = next(s for s in result.indicators if s.no == 7)
    for p in s.passages:
        assert noisy[p.start:p.end] == p.text
    assert any("協調小組" in t for t in s.matched_terms)


def test_spaces_inside_a_term_still_match_and_are_quoted_from_the_original():
    result = tag_text("全省建成职工书屋1200家，举办第六届全省职 工 文 化 艺 术 节，参与职工10万余人。")
    s = next(s for s in result.indicators if s.no == 36)
    assert any(" " in t for t in s.matched_terms)  # the quote keeps the original spacing


def test_unrelated_government_notice_gets_at_most_one_suggestion():
    notice = ("关于开展大气污染防治专项督查的通知。督查组将于6月赴各市，对重点行业企业开展检查，"
              "对发现的问题建立清单、限期整改，并将督查结果纳入污染防治攻坚战成效考核。"
              "各地要加强组织领导，成立工作专班，由分管负责同志任组长。")
    assert len(tag_text(notice).indicators) <= 1


def test_support_from_more_passages_raises_the_document_score():
    # 安康杯 is a safety-awareness contest (79); a safety inspection is supervision (78)
    one = tag_text("开展安全生产专项检查，排查治理事故隐患1.8万项。")
    two = tag_text("开展安全生产专项检查，排查治理事故隐患1.8万项。\n\n"
                   "各级工会开展职业健康专项检查，督促企业落实主体责任，职工劳动条件得到改善。")
    score = lambda r: next(s.score for s in r.ranked() if s.no == 78)
    assert score(two) > score(one)


def test_a_term_mentioned_once_in_many_passages_stays_below_the_threshold():
    filler = "会议还研究了其他事项，职工代表参加。"
    text = "\n\n".join([filler] * 30 + ["全省举办多期培训班。"] + [filler] * 30)
    result = tag_text(text)
    assert 15 not in suggested(result)


def test_title_hits_count_more_than_the_same_hit_in_the_body():
    body = "\n\n".join(["这是一段关于其他工作的说明文字，篇幅较长，用于填充正文内容，与标引无关。" * 2] * 3)
    in_title = tag_text("全省召开产改工作推进会\n\n" + body)
    in_body = tag_text(body + "\n\n全省召开产改工作推进会")
    score = lambda r: next(s.score for s in r.ranked() if s.no == 14)
    assert score(in_title) > score(in_body)


def test_pages_are_reported_from_page_starts():
    page1 = "第一页的内容是一般性说明，篇幅较长，主要介绍背景情况和总体要求，供参考使用。"
    page2 = BODY
    text = page1 + "\n\n" + page2
    result = tag_text(text, pages=[0, len(page1) + 2])
    s = next(s for s in result.indicators if s.no == 7)
    assert s.passages[0].page == 2


def test_tag_passages_accepts_ingest_passage_spans():
    from zhtext.passages import PassageSpan
    text = "前言部分。\n" + LEADERSHIP
    start = text.index(LEADERSHIP)
    spans = [PassageSpan(page_no=3, seq=0, start=start, end=len(text), text=LEADERSHIP)]
    result = tag_passages(spans)
    s = next(s for s in result.indicators if s.no == 4)
    assert (s.passages[0].page, s.passages[0].start) == (3, start)


def test_a_very_long_text_is_processed_with_its_work_capped():
    page = ("本页记录了一般性的工作情况，篇幅较长，用于模拟两千页的大文件。" * 12 + "\n\n")
    text = page * 2000 + BODY
    result = Tagger().tag_text(text)
    # the document is long but the evidence near the end is still within the cap
    assert len(text) < 4_000_000 and 7 in suggested(result)


def test_vocabulary_covers_all_88_indicators_with_at_least_one_strong_rule():
    book = default_rulebook()
    assert sorted(book.indicators) == list(range(1, 89))
    for no, ind in book.indicators.items():
        assert any(r.kind == "strong" for r in ind.rules), no
        assert ind.name


def test_version_names_the_rules_and_the_model():
    assert TAGGER_VERSION.startswith("rules-") and "+" in TAGGER_VERSION
    assert tag_text(BODY).version.startswith(default_rulebook().version)


def test_eval_set_covers_every_indicator_and_qualitative_ones_three_times():
    items = load_eval_set()
    assert len(items) >= 300
    counts = {}
    for item in items:
        for no in item.labels:
            counts[no] = counts.get(no, 0) + 1
    assert set(counts) == set(range(1, 89))
    quantitative = {23, 25, 37, 38, 40, 53, 54, 55, 56, 57, 59, 83, 84, 85}
    thin = [no for no in range(1, 89) if no not in quantitative and counts[no] < 3]
    assert not thin, thin
    assert sum(1 for i in items if not i.labels) >= 30


def test_held_out_figures_stay_above_the_floor():
    heldout = [i for i in load_eval_set() if i.split == "heldout"]
    report = evaluate(heldout)
    assert report.micro["f1"] >= 0.75
    assert report.top5_recall >= 0.8
    assert report.unrelated_max <= 1


def test_plans_for_next_year_weigh_less_than_work_done():
    done = tag_text("省总工会组成调研组，深入企业开展产业工人队伍建设改革专题调研。")
    planned = tag_text("下一步，我们将深入企业开展产业工人队伍建设改革专题调研。")
    score = lambda r: max((s.score for s in r.ranked() if s.no == 12), default=0.0)
    assert score(done) > score(planned)
    assert 12 in suggested(done)


def test_a_short_term_inside_another_word_does_not_count():
    assert 64 not in {s.no for s in tag_text("职工出入会场须佩戴证件，不得携带饮料。").ranked()}
    assert 63 not in {s.no for s in tag_text("全市新建会议中心3个，职工可在此开会。").ranked()}
    assert 64 in suggested(tag_text("推进新就业形态劳动者入会，全省职工入会率达到90%。"))


def test_indicators_outside_the_years_system_are_never_suggested():
    text = "省委成立推进产业工人队伍建设改革协调小组，由省委副书记任组长。" + LEADERSHIP
    assert {4, 7} <= suggested(Tagger().tag_text(text))
    only_4 = Tagger(indicator_nos={4}).tag_text(text)
    assert {s.no for s in only_4.ranked()} == {4}


def test_the_literal_prefilter_never_skips_a_rule_that_would_match():
    from tagging.normalize import matching_copy
    from tagging.prefilter import may_match
    book = default_rulebook()
    rules = [r for ind in book.indicators.values() for r in ind.rules]
    assert sum(r.literals is not None for r in rules) > 0.9 * len(rules)
    for item in load_eval_set()[::3]:
        text = matching_copy(item.text).text
        for rule in rules:
            if rule.regex.search(text):
                assert may_match(rule.literals, text), (rule.source, item.id)


def test_arbitrary_noisy_text_never_crashes_and_offsets_stay_valid():
    from hypothesis import given, settings, strategies as st
    alphabet = st.sampled_from(list("产改协调小组成立由任组长职工代表大会审议通过工会入会 \n\t<p>&nbsp;（chǎn）。，、年月日0123456789abc"))

    @settings(max_examples=60, deadline=None)
    @given(st.lists(alphabet, max_size=300).map("".join))
    def check(text):
        result = tag_text(text)
        for s in result.ranked():
            assert 0.0 <= s.score <= 1.0
            for p in s.passages:
                assert text[p.start:p.end] == p.text
                for term in p.matched_terms:
                    assert term in p.text
    check()


def test_an_indicator_catalogue_is_not_evidence_for_every_indicator():
    from rubrics.indicators import load_system
    rows = [f"{ind.no}\n{ind.name}\n{ind.meaning}" for ind in load_system().indicators]
    catalogue = "评价考核指标体系\n\n" + "\n\n".join(rows)
    assert len(tag_text(catalogue).indicators) <= 3


def test_quoting_the_general_secretarys_instructions_is_not_local_leadership():
    boilerplate = ("深入学习贯彻习近平总书记关于产业工人队伍建设改革的重要指示精神，"
                   "推动全省产业工人队伍建设改革取得新成效。")
    assert 4 not in suggested(tag_text(boilerplate))


def test_document_score_never_lets_scattered_terms_pass_and_one_strong_passage_is_enough():
    from tagging.tagger import document_score
    assert document_score([0.3] * 500) < THRESHOLD
    assert document_score([0.6]) >= THRESHOLD
    assert document_score([0.6, 0.3]) > document_score([0.6])


def test_a_broken_pattern_is_reported_in_chinese_with_its_indicator(tmp_path):
    from tagging.rules import VocabularyError, load_rulebook
    bad = tmp_path / "vocabulary.yaml"
    bad.write_text("indicators:\n  7:\n    name: 组织领导机构\n    strong: ['成立(协调小组']\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="指标 7"):
        load_rulebook(bad)


def test_a_custom_rule_book_drives_the_tagger(tmp_path):
    from tagging.rules import load_rulebook
    vocab = tmp_path / "vocabulary.yaml"
    vocab.write_text("indicators:\n  99:\n    name: 测试指标\n    strong: ['蓝领公寓']\n", encoding="utf-8")
    result = Tagger(load_rulebook(vocab)).tag_text("全市建成蓝领公寓2000套。")
    assert [s.no for s in result.indicators] == [99]


def test_website_menus_and_footers_are_not_evidence():
    page = ("首页 | 工会要闻 | 劳模风采 | 技能竞赛 | 职工书屋 | 法律援助 | 厂务公开\n"
            "当前位置：首页 > 工会要闻 > 正文\n"
            "市总工会举办职工文化艺术节\n"
            "日前，市总工会举办第三届职工文化艺术节，开展书画、摄影、合唱等活动，参与职工8000余人。\n"
            "【打印本页】【关闭窗口】\n"
            "版权所有：某市总工会  主办单位：某市总工会  苏ICP备12345678号")
    result = tag_text(page)
    assert [s.no for s in result.ranked()] == [36]
    for p in result.indicators[0].passages:
        assert page[p.start:p.end] == p.text and "首页" not in p.text


def test_a_table_row_is_not_mistaken_for_a_menu():
    from tagging.prepare import is_site_chrome
    assert not is_site_chrome("1  某集团  劳模创新工作室  2023年")
    assert is_site_chrome("首页 | 工会要闻 | 劳模风采 | 技能竞赛")
    assert not is_site_chrome("全省建成劳模创新工作室2600家，其中国家级42家。")


def test_a_rule_pattern_stays_within_one_sentence():
    from hypothesis import given, settings, strategies as st
    from tagging.rules import within_sentence
    # "." alone is rewritten; escapes and character classes are left as written
    assert within_sentence(r"获得.{0,15}专利[0-9.]+\.x[^]。.]") == r"获得[^。！？!?\n]{0,15}专利[0-9.]+\.x[^]。.]"
    tied = re.compile(within_sentence("获得.{0,30}专利"))

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=40), st.text(max_size=40))
    def check(left, right):
        text = "获得" + left + "专利" + right
        found = tied.search(text)
        between = left if len(left) <= 30 else None
        # found exactly when the words are near each other in one sentence
        # (a "专利" inside `left` may give an earlier, shorter match)
        if between is not None and not re.search(r"[。！？!?\n]", between):
            assert found
        if found:
            assert not re.search(r"[。！？!?\n]", found.group(0))
    check()
