"""One meaning of a text condition: what search returns is what the definition in
index/substring.py says, for any text and any combination of AND, OR and NOT.

The definition, evaluated here by brute force on each passage: a literal matches a
passage when the passage holds every gram term of the literal (``analysis``) and the
literal's verification form is a substring of the passage's. The executor must
return exactly that set: never a passage lacking the text, never miss one that has it.
"""
from __future__ import annotations

import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import EvidenceIndex
from index.analysis import gram_tokens, index_gram_counts
from index.substring import verify_form

CJK = "产业工人队伍建设改革劳模工匠学院產業隊伍建設，。、 Aa1"
texts = st.one_of(st.text(max_size=40), st.text(alphabet=CJK, max_size=40))


def holds(literal: str, text: str) -> bool:
    grams = {g for g, _, _ in gram_tokens(literal, trailing_unigram_last_run=False)}
    return grams <= index_gram_counts(text).keys() and verify_form(literal) in verify_form(text)


def searchable(literal: str) -> bool:
    return '"' not in literal and bool(gram_tokens(literal, trailing_unigram_last_run=False))


@st.composite
def cases(draw):
    passages = draw(st.lists(texts, min_size=1, max_size=8))
    literals = []
    for _ in range(2):
        source = draw(st.sampled_from(passages))
        start = draw(st.integers(0, len(source)))
        end = draw(st.integers(start, min(len(source), start + 12)))
        literal = draw(st.one_of(st.just(source[start:end]), st.text(max_size=8), st.text(alphabet=CJK, max_size=6)))
        if not searchable(literal):
            literal = "工人"
        literals.append(literal)
    shape = draw(st.sampled_from(['"{a}"', '"{a}" "{b}"', '"{a}" OR "{b}"', '"{a}" NOT "{b}"', 'NOT "{a}"',
                                  '("{a}" OR "{b}") NOT "{a}"']))
    return passages, literals, shape


def expected(shape: str, a: bool, b: bool) -> bool:
    return {'"{a}"': a, '"{a}" "{b}"': a and b, '"{a}" OR "{b}"': a or b, '"{a}" NOT "{b}"': a and not b,
            'NOT "{a}"': not a, '("{a}" OR "{b}") NOT "{a}"': (a or b) and not a}[shape]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_search_returns_exactly_what_the_definition_says(case):
    passages, (a, b), shape = case
    with tempfile.TemporaryDirectory() as tmp:
        ix = EvidenceIndex(tmp)
        ix.add([dict(passage_id=f"p{i}", document_id=f"d{i}", unit="JS", text=t) for i, t in enumerate(passages)])
        result = ix.search(shape.format(a=a, b=b), per_page=100)
        want = {f"p{i}" for i, t in enumerate(passages) if expected(shape, holds(a, t), holds(b, t))}
        assert {h.passage_id for h in result.hits} == want
        assert result.total == len(want) and not result.total_is_estimate
        ix.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(titles=st.lists(texts, min_size=1, max_size=6), pick=st.integers(0, 5), cut=st.tuples(st.integers(0, 20),
                                                                                               st.integers(1, 8)))
def test_field_conditions_mean_the_same_on_their_field(titles, pick, cut):
    source = titles[pick % len(titles)]
    literal = source[cut[0]:cut[0] + cut[1]]
    if not searchable(literal):
        literal = "工人"
    with tempfile.TemporaryDirectory() as tmp:
        ix = EvidenceIndex(tmp)
        ix.add([dict(passage_id=f"p{i}", document_id=f"d{i}", unit="JS", title=t, text="正文")
                for i, t in enumerate(titles)])
        result = ix.search(f'标题:"{literal}"', per_page=100)
        assert {h.passage_id for h in result.hits} == {f"p{i}" for i, t in enumerate(titles) if holds(literal, t)}
        ix.close()
