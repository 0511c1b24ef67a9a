"""The query language means what it says: exclusions in every form, dangling operators, any input."""
from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from index import EvidenceIndex
from index.query import parse

PASSAGES = [
    dict(passage_id="bj-academy", document_id="d1", version_id="v1", unit="BJ", year=2023, kind="policy",
         title="北京", filename="a.txt", page=1, text="北京市建设劳模工匠学院，培养高技能人才。"),
    dict(passage_id="bj-plain", document_id="d2", version_id="v2", unit="BJ", year=2023, kind="policy",
         title="北京", filename="b.txt", page=1, text="北京市开展工匠评选活动。"),
    dict(passage_id="js-plain", document_id="d3", version_id="v3", unit="JS", year=2023, kind="policy",
         title="江苏", filename="c.txt", page=1, text="江苏省选树大国工匠。"),
]


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    index = EvidenceIndex(tmp_path_factory.mktemp("q") / "index")
    index.add(PASSAGES)
    return index


def ids(result):
    return {h.passage_id for h in result.hits}


@pytest.mark.parametrize("query", ['工匠 -"学院"', "工匠 -学院", "工匠 NOT 学院", "工匠 非 学院", "工匠 -“学院”",
                                   "-学院 工匠", "NOT 学院 工匠", "工匠 -(学院 OR 大学)", "工匠 －学院"])
def test_every_exclusion_form_drops_the_document_with_the_word(ix, query):
    r = ix.search(query)
    assert ids(r) == {"bj-plain", "js-plain"}, (query, r.query_error)
    assert r.query_error is None


@pytest.mark.parametrize("query", ["工匠 -unit:BJ", "工匠 -单位:北京", "工匠 NOT unit:BJ", "-unit:BJ 工匠"])
def test_excluding_a_field_value(ix, query):
    from index.query import configure_unit_names
    configure_unit_names({"北京": "BJ", "BJ": "BJ", "江苏": "JS", "JS": "JS"})
    try:
        assert ids(ix.search(query)) == {"js-plain"}, query
    finally:
        configure_unit_names({})


def test_a_minus_inside_a_word_or_range_is_not_an_exclusion(ix):
    assert parse("year:2020-2023").error is None
    assert "Not" not in repr(parse("2020-2023").ast)


@pytest.mark.parametrize("query", ["工匠 NOT", "工匠 非", "NOT", "非", "AND OR NOT", "工匠 AND", "OR 工匠",
                                   "工匠 OR", "(工匠 NOT)", "NOT AND 工匠", "工匠 -", "- 工匠", "工匠 AND AND 学院"])
def test_a_dangling_operator_is_a_chinese_message_never_an_error(ix, query):
    parsed = parse(query)
    r = ix.search(query)
    assert parsed.error and any("\u4e00" <= c <= "\u9fff" for c in parsed.error), query
    assert "检索出错" not in (r.query_error or ""), query
    if "学院" in query:
        assert ids(r) == {"bj-academy"}, query
    elif "工匠" in query:
        assert ids(r) == {"bj-academy", "bj-plain", "js-plain"}, query


def _finishes(fn, *args) -> bool:
    """A hung lexer would hang the suite: run it aside and report whether it came back."""
    done = threading.Event()

    def run():
        fn(*args)
        done.set()
    threading.Thread(target=run, daemon=True).start()
    return done.wait(60)


@pytest.mark.parametrize("query", ["产改」", "』", "」", "工匠』学院", "」」」", "『工匠", "“工匠", "工匠”", '"'])
def test_stray_quotes_end_and_say_so(ix, query):
    assert _finishes(parse, query), f"parse({query!r}) did not return"
    r = ix.search(query)
    assert "检索出错" not in (r.query_error or "")


@hsettings(max_examples=400, deadline=None)
@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=80))
def test_parser_is_total_over_all_of_unicode(text):
    parsed = parse(text)
    assert parsed.error is None or isinstance(parsed.error, str)


OPERATOR_SOUP = st.lists(st.sampled_from(["工匠", "学院", "NOT", "非", "AND", "与", "OR", "或", "-", "(", ")",
                                          "（", "）", '"', "“", "”", "」", "『", "』", "unit:", "unit:BJ",
                                          "-unit:BJ", "year:2020..", " ", "-学院", '-"学院"']),
                         max_size=14).map("".join)


@hsettings(max_examples=400, deadline=None)
@given(OPERATOR_SOUP)
def test_operator_soup_never_fails_the_search(ix, query):
    r = ix.search(query)
    assert "检索出错" not in (r.query_error or ""), query
