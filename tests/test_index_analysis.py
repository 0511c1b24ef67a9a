"""Index-time and query-time analysis agree; the index-time counts equal their plain definitions."""
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

import index.analysis as analysis
from index.analysis import (gram_text, gram_tokens, index_gram_counts, index_gram_keys, index_word_counts, is_cjk,
                            word_tokens)
from zhtext.chinese import default_segmenter, fold

DOMAIN_TEXTS = ["推进产业工人队伍建设改革", "全面推进产业工人队伍建设改革，劳模工匠学院", "新就业形态劳动者权益保障",
                "產業工人隊伍建設改革 ABC公司 2023 年，首席技师、职工董事监事", "产业工人很多，产业发展，工人阶级，产业工人"]
texts = st.one_of(st.text(max_size=80), st.sampled_from(DOMAIN_TEXTS),
                  st.lists(st.sampled_from(DOMAIN_TEXTS + ["，", " ", "Ａ１", "号"]), max_size=6).map("".join))


def reference_gram_counts(text: str) -> Counter:
    """Every CJK character and bigram inside a run; letter/digit runs whole, lower-cased."""
    out: Counter = Counter()
    for match in analysis._RUN.finditer(fold(text)):
        run = match.group()
        if not is_cjk(run[0]):
            out[run.lower()] += 1
            continue
        out.update(run)
        out.update(run[i:i + 2] for i in range(len(run) - 1))
    return out


def reference_word_counts(text: str) -> Counter:
    """The ordinary cut's words, plus search mode's words inside each long word."""
    folded = fold(text)
    seg = default_segmenter()
    words = [(w.lower(), s, e) for w, s, e in seg.tokenize(folded) if analysis._is_wordlike(w)]
    out = Counter(w for w, _, _ in words)
    long_spans = [(s, e) for w, s, e in words if e - s >= 3 and is_cjk(w[0])]
    for w, s, e in seg.tokenize_for_search(folded):
        if analysis._is_wordlike(w) and any(a <= s and e <= b and (s, e) != (a, b) for a, b in long_spans):
            out[w.lower()] += 1
    return out


@settings(max_examples=300, deadline=None)
@given(texts)
def test_gram_counts_and_keys_equal_their_definition(text):
    assert index_gram_counts(text) == reference_gram_counts(text)
    keys, counts, others = index_gram_keys(text)
    assert list(keys) == sorted(keys) and len(set(keys.tolist())) == len(keys)
    as_terms = Counter({gram_text(k): c for k, c in zip(keys.tolist(), counts.tolist())}) + others
    assert as_terms == reference_gram_counts(text)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_word_counts_equal_their_definition(text):
    analysis._SUBWORDS.clear()
    assert index_word_counts(text) == reference_word_counts(text)
    assert index_word_counts(text) == reference_word_counts(text)  # again, from the sub-word cache


def test_sub_words_are_counted_only_at_index_time():
    text = "推进产业工人队伍建设改革"
    long_word = max((w for w, _, _ in word_tokens(text)), key=len)
    assert len(long_word) >= 4
    counts = index_word_counts(text)
    subs = [w for w in counts if w != long_word and w in long_word]
    assert subs, "long words must contribute sub-words"
    assert not set(subs) & {w for w, _, _ in word_tokens(text)}  # query side: no sub-words


def test_bigrams_cover_every_character_and_fold_traditional():
    grams = [g for g, _, _ in gram_tokens("產業工人，A1")]
    assert grams == ["产业", "业工", "工人", "人", "a1"]


def test_every_query_gram_is_an_index_term_of_a_text_containing_it():
    text = "產業工，A1 第1号文"
    for query in ["业工", "业工，a1", "产", "1号", "第1号文", "工"]:
        assert query in fold(text).lower()
        for gram, _, _ in gram_tokens(query, trailing_unigram_last_run=False):
            assert gram in index_gram_counts(text), (query, gram)


def test_query_side_drops_the_trailing_unigram_of_the_last_run():
    # "产改" must match inside "产改字": no unigram "改" may be required
    assert [g for g, _, _ in gram_tokens("产改", trailing_unigram_last_run=False)] == ["产改"]


def test_fast_fold_equals_fold():
    from index.analysis import fast_fold
    for text in ["產業工人", "ＡＢＣ１２３產業　工人", "纯简体文本，没有全角字母", ""]:
        assert fast_fold(text) == fold(text)
        assert fast_fold(text) == fold(text)  # the remembered result
        assert fast_fold("".join(["產", "業"])) == "产业"  # an equal text that is another object


def test_a_long_word_cut_differently_alone_is_learnt_in_its_context(monkeypatch):
    real, calls = analysis._subwords_inside, []

    def alone_fails(tokens, spans):
        calls.append(spans)
        return {} if len(calls) == 1 else real(tokens, spans)

    monkeypatch.setattr(analysis, "_subwords_inside", alone_fails)
    analysis._SUBWORDS.clear()
    text = "全面推进产业工人队伍建设改革，劳模工匠学院"
    assert index_word_counts(text) == reference_word_counts(text)
    assert len(calls) == 2  # alone first, then in context


def test_width_folding_is_the_character_rule_for_every_character():
    from zhtext.chinese import _KEEP_FULLWIDTH, fold_width

    def rule(ch: str) -> str:  # full-width ASCII to half width, Chinese punctuation kept, ideographic space
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E and ch not in _KEEP_FULLWIDTH:
            return chr(code - 0xFEE0)
        return " " if ch == "\u3000" else ch
    every = "".join(map(chr, [*range(0xD800), *range(0xE000, 0x110000)]))
    assert fold_width(every) == "".join(map(rule, every))
