"""Searching: phrases, short queries, traditional text, filters, facets, snippets, bad input."""
from __future__ import annotations

import pytest

from index import EvidenceIndex
from zhtext.chinese import fold
from test_index_fixtures import PASSAGES, build


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    return build(EvidenceIndex(tmp_path_factory.mktemp("ix") / "index"))


def ids(result):
    return {h.passage_id for h in result.hits}


def test_phrase_finds_passages_in_simplified_and_traditional(ix):
    r = ix.search('"队伍建设改革"')
    assert ids(r) == {"js1", "sh1", "sh2"}
    assert r.total == 3 and r.query_error is None


def test_phrase_never_returns_a_passage_lacking_it(ix):
    # js2 has 队伍建设 and 改革 but not together: words match, the phrase must not
    assert "js2" in ids(ix.search("队伍建设 改革"))
    for phrase in ['"队伍建设改革"', '"建设改革"', '"劳模工匠学院"', '"改革，建设"', '"工人 队伍"']:
        for hit in ix.search(phrase).hits:
            stored = next(p for p in PASSAGES if p["passage_id"] == hit.passage_id)
            needle = "".join(fold(phrase.strip('"')).split())
            assert needle in "".join(fold(stored["text"]).split()), (phrase, hit.passage_id)


def test_phrase_with_punctuation_is_verified_against_the_text(ix):
    assert ids(ix.search('"改革，建设"')) == {"js1"}
    assert ids(ix.search('"改革。建设"')) == set()  # index ignores punctuation; verification does not


def test_single_character_query_finds_it_inside_words(ix):
    assert ids(ix.search("竞")) == {"zj1"}           # inside 劳动竞赛
    assert ids(ix.search("院")) == {"js1", "sh2"}    # end of a run: 学院。


def test_two_character_query_finds_substrings_across_word_boundaries(ix):
    assert ids(ix.search("监事")) == {"zj1"}
    assert ids(ix.search("设改")) == {"js1", "sh1", "sh2"}  # 建设|改革 boundary


def test_traditional_query_finds_simplified_text_and_back(ix):
    assert ids(ix.search("劳模工匠學院")) == {"js1", "sh2"}
    assert "sh1" in ids(ix.search("技能人才培养"))


def test_keyword_filters(ix):
    assert ids(ix.search("改革", unit="SH")) == {"sh1", "sh2"}
    assert ids(ix.search("改革", kind="policy")) == {"js1", "js2"}
    assert ids(ix.search("改革", indicator="13")) == {"js1", "js2", "sh2"}
    assert ids(ix.search("改革 单位:JS 类型:policy")) == {"js1", "js2"}
    assert ids(ix.search("指标:5")) == {"sh1"}


def test_year_ranges_including_open_ranges(ix):
    assert ids(ix.search("year:2021")) == {"sh1"}
    assert ids(ix.search("年度:2020..2021")) == {"sh1", "sh2"}
    # open lower bound: whoosh 2.7's unsigned-numeric bug returned everything here
    assert ids(ix.search("year:..2020")) == {"sh2", "zj1"}
    assert ids(ix.search("year:2023..")) == {"js1", "js2"}
    assert ids(ix.search("改革", year="2020..2021")) == {"sh1", "sh2"}


def test_boolean_operators(ix):
    assert ids(ix.search("首席技师 OR 劳模工匠学院")) == {"zj1", "js1", "sh2"}
    assert ids(ix.search("改革 NOT 上海")) == {"js1", "js2"}
    assert ids(ix.search("改革 -上海")) == {"js1", "js2"}
    assert ids(ix.search("(首席 或 学院) 非 上海")) == {"zj1", "js1"}


def test_phrases_under_not_and_or_are_exact(ix):
    # js2 has 建设 and 改革 apart: NOT "建设改革" must keep it, drop the rest
    assert ids(ix.search('改革 NOT "建设改革"')) == {"js2"}
    assert ids(ix.search('"首席技师" OR "建设改革"')) == {"zj1", "js1", "sh1", "sh2"}
    assert ids(ix.search('"建设与改革" OR "建设并改革"')) == {"js2"}
    assert ids(ix.search('"建设和改革" OR "建设并改革"')) == set()


def test_query_ending_in_a_single_character_run(ix):
    assert ids(ix.search('文号:"1号"')) == {"js1"}
    assert ids(ix.search('"学院。"')) == {"js1"}


def test_field_text_filters(ix):
    assert ids(ix.search("文号:苏产改〔2023〕1号")) == {"js1"}
    assert ids(ix.search("标题:劳模工匠学院")) == {"sh2"}


def test_facet_counts_cover_the_whole_result_not_the_page(ix):
    r = ix.search("改革", per_page=1)
    assert r.total == 4 and len(r.hits) == 1
    assert r.facets["unit"] == {"JS": 2, "SH": 2}
    assert r.facets["year"] == {"2023": 2, "2020": 1, "2021": 1}
    assert r.facets["kind"] == {"policy": 2, "report": 2}
    assert r.facets["indicator"]["13"] == 3 and r.facets["indicator"]["5"] == 1


def test_snippet_marks_hits_and_escapes_markup(ix):
    r = ix.search("script 劳模")
    [hit] = r.hits
    assert "<script>" not in hit.snippet_html
    assert "&lt;<mark>script</mark>&gt;" in hit.snippet_html
    assert "<mark>劳模</mark>" in hit.snippet_html


def test_snippet_marks_original_traditional_characters(ix):
    [hit] = ix.search("技能人才培养 unit:SH").hits
    assert "<mark>技能人才培養</mark>" in hit.snippet_html


def test_hit_carries_document_fields(ix):
    [hit] = ix.search('"首席技师"').hits
    assert (hit.document_id, hit.unit, hit.year, hit.kind, hit.page, hit.filename) == \
        ("d-zj", "ZJ", 2019, "case", 1, "zj.pdf")
    assert hit.indicators == ["7"]


def test_sort_by_date_puts_newest_first(ix):
    r = ix.search("改革", sort="date")
    assert [h.year for h in r.hits] == sorted([h.year for h in r.hits], reverse=True)


@pytest.mark.parametrize("query", ["", "   ", "!!!，。", '"', '"队伍建设', "((改革", "改革))", "unit:",
                                   "foo:bar", "x" * 10_000, "AND OR NOT", "year:abc", "一" * 10_000,
                                   "(" * 500 + "改革"])
def test_malformed_queries_give_a_message_not_an_exception(ix, query):
    r = ix.search(query)
    assert r.query_error is None or isinstance(r.query_error, str)
    if query.strip() in ("", "!!!，。", '"', "AND OR NOT"):
        assert r.total == 0 and r.query_error


def test_unbalanced_quote_still_searches_the_phrase(ix):
    r = ix.search('"队伍建设改革')
    assert ids(r) == {"js1", "sh1", "sh2"} and "引号" in r.query_error


def test_huge_page_numbers_give_a_message(ix):
    r = ix.search("改革", page=10**9)
    assert r.hits == [] and "页码" in r.query_error
    assert ix.search("改革", page="abc").query_error


def test_pages_partition_the_ranked_result(ix):
    full = [h.passage_id for h in ix.search("改革", per_page=10).hits]
    paged = [h.passage_id for p in (1, 2, 3, 4) for h in ix.search("改革", per_page=1, page=p).hits]
    assert paged == full and len(full) == 4


def test_every_hit_of_a_word_query_contains_the_word(ix):
    # 工匠 sits inside the dictionary word 劳模工匠: found by substring, and marked
    r = ix.search("工匠")
    assert r.total == 2 and all("工匠" in fold(h.snippet_html) for h in r.hits)


def test_sampled_phrase_totals_are_flagged_and_hits_still_exact(tmp_path, monkeypatch):
    import index.executor as executor
    monkeypatch.setattr(executor, "VERIFY_ALL", 3)
    monkeypatch.setattr(executor, "SAMPLE", 4)
    ix = EvidenceIndex(tmp_path / "ix")
    with_phrase = [dict(passage_id=f"a{i}", document_id=f"a{i}", unit="JS", text=f"第{i}条：建设改革同步推进")
                   for i in range(6)]
    apart = [dict(passage_id=f"b{i}", document_id=f"b{i}", unit="JS", text=f"第{i}条：建设改进改革分步推进")  # every bigram, not the phrase
             for i in range(6)]
    ix.add(with_phrase + apart)
    r = ix.search('"建设改革"', per_page=3)
    assert r.total_is_estimate
    assert len(r.hits) == 3 and all(h.passage_id.startswith("a") for h in r.hits)
    assert 3 <= r.total <= 12
    exact = ix.search('"建设改革" unit:JS', per_page=3)  # same query, still sampled
    assert all(h.passage_id.startswith("a") for h in exact.hits)


def test_a_passage_without_year_or_kind_adds_no_facet_label(tmp_path):
    ix = EvidenceIndex(tmp_path / "ix")
    ix.add([dict(passage_id="a", unit="JS", year=2023, kind="policy", text="改革"),
            dict(passage_id="b", unit="JS", text="改革")])
    r = ix.search("改革")
    assert r.total == 2
    assert r.facets["year"] == {"2023": 1} and r.facets["kind"] == {"policy": 1}
    assert {h.passage_id for h in ix.search("改革 year:1900..2200").hits} == {"a"}


def test_page_filters(ix):
    assert ids(ix.search("页码:2")) == {"js2"}
    assert ids(ix.search("改革 页码:1..2")) == {"js1", "js2", "sh1"}
    assert ids(ix.search("页码:3..")) == {"sh2"}
