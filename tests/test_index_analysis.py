"""Index-time and query-time analysis agree, and positions are true token positions."""
from index.analysis import gram_tokens, index_gram_terms, index_word_tokens, word_tokens


def test_word_positions_are_sequential_not_character_offsets():
    index_toks = index_word_tokens("推进产业工人队伍建设改革")
    top_level = [(w, pos) for w, pos, s, e in index_toks]
    positions = sorted({pos for _, pos in top_level})
    assert positions == list(range(len(positions)))  # no gaps: 0, 1, 2…


def test_sub_words_share_the_long_words_position_only_at_index_time():
    text = "推进产业工人队伍建设改革"
    long_word = max((w for w, _, _ in word_tokens(text)), key=len)
    assert len(long_word) >= 4
    by_word = {w: pos for w, pos, _, _ in index_word_tokens(text)}
    subs = [w for w in by_word if w != long_word and w in long_word]
    assert subs, "long words must contribute sub-words"
    assert all(by_word[w] == by_word[long_word] for w in subs)
    assert not set(subs) & {w for w, _, _ in word_tokens(text)}  # query side: no sub-words


def test_index_positions_ascend_for_delta_encoding():
    toks = index_word_tokens("产业工人很多，产业发展，工人阶级，产业工人")
    positions = [pos for _, pos, _, _ in toks]
    assert positions == sorted(positions)


def test_bigrams_cover_every_character_and_fold_traditional():
    grams = [g for g, _, _ in gram_tokens("產業工人，A1")]
    assert grams == ["产业", "业工", "工人", "人", "a1"]


def test_index_grams_put_unigram_and_bigram_at_the_characters_position():
    terms = index_gram_terms("產業工，A1")
    assert terms == [("产业", 0), ("产", 0), ("业工", 1), ("业", 1), ("工", 2), ("a1", 3)]
    # the query side of "业工，a1" lines up: 业工@0, 工@1, a1@2  ==  index 1, 2, 3
    assert [g for g, _, _ in gram_tokens("业工，A1", trailing_unigram_last_run=False)] == ["业工", "工", "a1"]


def test_query_side_drops_the_trailing_unigram_of_the_last_run():
    # "产改" must match inside "产改字": no unigram "改" may be required
    assert [g for g, _, _ in gram_tokens("产改", trailing_unigram_last_run=False)] == ["产改"]


def test_fast_fold_equals_fold():
    from index.analysis import fast_fold
    from zhtext.chinese import fold
    for text in ["產業工人", "ＡＢＣ１２３產業　工人", "纯简体文本，没有全角字母", ""]:
        assert fast_fold(text) == fold(text)


def test_grouped_gram_positions_equal_the_gram_terms():
    from index.analysis import index_gram_positions
    for text in ["產業工，A1", "号", "1号文，第1号", "劳动竞赛、竞赛，竞赛竞赛。ABC abc", "", "，。"]:
        grouped: dict = {}
        for term, pos in index_gram_terms(text):
            grouped.setdefault(term, []).append(pos)
        assert index_gram_positions(text) == grouped


def test_cached_sub_words_equal_a_fresh_search_mode_split():
    import index.analysis as analysis
    texts = ["推进产业工人队伍建设改革", "全面推进产业工人队伍建设改革，劳模工匠学院", "新就业形态劳动者权益保障"]
    analysis._SUBWORDS.clear()
    fresh = []
    for text in texts:  # each computed with an empty cache: straight from search mode
        analysis._SUBWORDS.clear()
        fresh.append(index_word_tokens(text))
    assert [index_word_tokens(t) for t in texts] == fresh  # now served from the cache
    assert [index_word_tokens(t) for t in texts] == fresh
