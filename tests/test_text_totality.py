"""Every text stage is total over real input: any Unicode string, HTML residue, controls, surrogates.

Strategies draw from all of Unicode (surrogates included) mixed with the shapes real uploads have,
not from a tame alphabet: a space after a tag, an entity before Chinese, a title in ＜…＞, a table row.
"""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from index.analysis import gram_tokens, index_gram_counts, index_gram_keys, index_word_counts, word_tokens
from index.schema import to_fields
from index.query import parse
from ingest.extract import build_extraction, split_passages
from ingest.extract.types import RawDocument
from ingest.metadata import FIELD_MAX_CHARS, read_metadata
from tagging import tag_text
from tagging.normalize import matching_copy
from zhtext.chinese import fold

ANY_CHAR = st.characters(codec=None, exclude_categories=())  # every code point, lone surrogates too
FRAGMENTS = ["<p>", "</p>", "<p> ", "<br>", "<br/>", " ", "\u3000", "&nbsp;", "&amp;", "&#12288;", "＜", "＞", "‹", "›",
             "<关于印发方案的通知>", "＜产业工人队伍建设改革实施方案＞", "\u200b", "\u200d", "\ufeff", "\u0301", "\x00",
             "\x07", "\x1b", "\r\n", "\n", "\t", "\f", "😀", "👩‍🔧", "\ud800", "\udfff", "\ud83d\ude00", "產業工人隊伍建設改革",
             "（chǎn gǎi）", "(chan gai)", "ｃｈａｎ", "１２３", "。", "，", "“", "”", "」", "『", " | ",
             "1 | 省总工会 | 成立产改协调小组 | 2023年", "成立", "协调小组", "职工代表大会", "工匠学院",
             "苏产改〔2023〕1号", "2023年2月31日", "二〇二三年三月五日", "关于提升产业工人技能水平的\n若干措施》的通知"]
REAL_TEXT = st.lists(st.one_of(st.text(ANY_CHAR, max_size=12), st.sampled_from(FRAGMENTS)), max_size=40).map("".join)
PROPERTY = hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _extraction(pages: list[str], layout: bool = False):
    return build_extraction(RawDocument(format="pdf" if layout else "txt", pages=pages, layout_lines=layout))


@PROPERTY
@given(st.lists(REAL_TEXT, min_size=1, max_size=3), st.booleans())
def test_extraction_stages_keep_their_invariants(pages, layout):
    extraction = _extraction(pages, layout)
    extraction.text.encode("utf-8")  # storable: no lone surrogate survives cleaning
    for start, page in zip(extraction.page_starts, extraction.pages):
        assert extraction.text[start:start + len(page.text)] == page.text
    for span in split_passages(extraction):
        assert 0 <= span.start < span.end <= len(extraction.text)
        assert extraction.text[span.start:span.end] == span.text
    meta = extraction.metadata
    assert len(meta.title or "") <= FIELD_MAX_CHARS["title"]
    assert len(meta.issuer or "") <= FIELD_MAX_CHARS["issuer"]


@PROPERTY
@given(REAL_TEXT)
def test_tagger_passages_are_slices_and_contain_their_terms(text):
    result = tag_text(text)
    for suggestion in result.ranked():
        assert 0.0 <= suggestion.score <= 1.0
        for hit in suggestion.passages:
            assert text[hit.start:hit.end] == hit.text
            for term in hit.matched_terms:  # quoted from the original, spaces and traditional forms kept
                assert term in hit.text, (term, hit.text)


@PROPERTY
@given(REAL_TEXT)
def test_matching_copy_maps_every_kept_character_back(text):
    copy = matching_copy(text)
    assert len(copy.origin) == len(copy.text)
    assert all(0 <= a < b < len(text) for a, b in zip(copy.origin, copy.origin[1:]))


@PROPERTY
@given(REAL_TEXT)
def test_index_analysis_and_query_parser_are_total(text):
    for fn in (gram_tokens, word_tokens):
        for term, start, end in fn(text):
            assert 0 <= start < end <= len(text) and term
    index_gram_counts(text)
    index_gram_keys(text)
    index_word_counts(text)
    to_fields({"passage_id": "1", "title": text, "doc_number": text, "issuer": text, "text": text})
    assert parse(text).error is None or isinstance(parse(text).error, str)


@PROPERTY
@given(REAL_TEXT)
def test_metadata_never_raises(text):
    read_metadata(text, hints={"title": text, "issuer": text, "date": text})


@pytest.mark.parametrize("text", [" 工匠学院建设", "<p> 工匠 学院建设", "&nbsp; 为推进产改", "ABC <br>", "\u3000产改",
                                  " ", "工匠 ", "<p> ", "\u3000"])
def test_whitespace_at_a_text_edge_never_crashes_normalisation(text):
    # regression: ord("") on a run of spaces without a kept neighbour (TypeError in every batch)
    copy = matching_copy(text)
    assert " " not in copy.text.strip() or copy.text
    tag_text(text)


def test_a_title_in_fullwidth_angle_brackets_counts():
    assert tag_text("＜产业工人队伍建设改革实施方案＞").indicators
    assert "产业工人队伍建设改革实施方案" in matching_copy("＜产业工人队伍建设改革实施方案＞").text


def test_a_table_row_is_evidence_not_a_site_menu():
    row = "1 | 省总工会 | 成立产改协调小组 | 2023年"
    as_sentence = [s.no for s in tag_text("2023年，省总工会成立产改协调小组。").indicators]
    assert as_sentence and [s.no for s in tag_text(row).indicators] == as_sentence


def test_a_lone_surrogate_from_a_pdf_text_layer_is_replaced_not_fatal():
    raw = "产业工人\ud800队伍建设改革\ud83d\ude00成立协调小组"
    extraction = _extraction([raw], layout=True)
    assert "\ufffd" in extraction.text and "😀" in extraction.text
    extraction.text.encode("utf-8")
    tag_text(raw)
    word_tokens(raw)
    assert fold(raw).count("\ufffd") == 3 and len(fold(raw)) == len(raw)


def test_a_one_megabyte_line_goes_through_every_stage():
    rng = random.Random(7)
    line = "".join(rng.choice("产改工匠劳模职工技能培训学院协调组织领导机制创新，。abc ") for _ in range(1_000_000))
    extraction = _extraction([line])
    passages = split_passages(extraction)
    assert passages and all(extraction.text[p.start:p.end] == p.text for p in passages)
    tag_text(line)
    index_gram_counts(line)
    index_word_counts(line)
    parse(line)
