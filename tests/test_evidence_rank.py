"""Evidence for indicator N of unit U, ranked: tagger score plus the indicator's meaning."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Document, Passage, TagDecision, User
from review import assign as A
from review.evidence_rank import ranked_evidence
from review.ratings import system_for_year
from tagging.evidence_rank import rank_passages

DEVSET = Path(__file__).resolve().parents[1] / ".." / "shared" / "devset"
YEAR, UNIT = 2023, "GD"
FILLER = ["本报讯 今天天气晴朗，市民到公园散步。", "会议还通报了近期安全生产情况。",
          "网站地图 联系我们 版权所有 © 某某日报社"]
PLAN = "今年5月，省委办公厅、省政府办公厅印发《关于深化新时代产业工人队伍建设改革的实施意见》，明确12项任务。"


def test_a_passage_in_the_indicators_words_outranks_filler_even_without_a_rule_hit():
    # 8 领导机构办公室: 办公室设在总工会 — say it in words no strong rule needs
    texts = FILLER + ["省产业工人队伍建设改革协调小组办公室设在省总工会，配备专职工作人员，负责日常工作。"]
    ranked = rank_passages(texts, 8)
    assert ranked[0].key == len(FILLER)
    assert ranked[0].reason and all(0.0 <= r.meaning <= 1.0 for r in ranked)


def test_ranking_handles_empty_and_punctuation_only_texts():
    assert rank_passages([], 3) == []
    ranked = rank_passages(["。。。", "   ", PLAN], 3)
    assert ranked[0].key == 2


@pytest.fixture
def unit_site(settings, make_user, add_evidence, login):
    make_user("office1", "office")
    make_user("r1", "reviewer", home="BJ")
    doc = add_evidence(UNIT, "总结.txt", "广东省产改工作总结\n\n" + "\n\n".join(FILLER) + "\n\n" + PLAN
                       + "\n\n<script>alert(1)</script>产业工人队伍建设改革实施方案")
    add_evidence("ZJ", "浙江.txt", "浙江省产改总结\n\n" + PLAN)
    with session_scope(settings.database_url) as s:
        users = {u.username: u for u in s.exec(select(User))}
        rated = {i.no for i in system_for_year(YEAR).rated_indicators()}
        A.assign(s, users["office1"], YEAR, users["r1"], UNIT, [3], rated)
        s.commit()
    return {"db": settings.database_url, "doc": doc, "login": login}


def test_the_unit_service_reads_only_that_unit_and_leaves_rejected_passages_out(unit_site):
    with session_scope(unit_site["db"]) as s:
        ranked = ranked_evidence(s, YEAR, UNIT, 3, rank_passages)
        assert ranked and all(r.document.unit_code == UNIT for r in ranked)
        best = ranked[0].passage
        assert "实施意见" in best.text
        office = s.exec(select(User).where(User.username == "office1")).one()
        s.add(TagDecision(document_id=ranked[0].document.id, passage_id=best.id, indicator_no=3,
                          decision="reject", quote=best.text[:50], user_id=office.id))
        s.commit()
        assert best.id not in {r.passage.id for r in ranked_evidence(s, YEAR, UNIT, 3, rank_passages)}


def test_the_scoring_screen_shows_the_ranked_evidence_escaped(unit_site):
    r1 = unit_site["login"]("r1")
    page = r1.get(f"/scoring/{YEAR}/{UNIT}/3")
    assert page.status_code == 200
    assert "最可能的证据" in page.text and "第 1 位" in page.text
    assert "<script>alert(1)</script>" not in page.text


def test_decisions_follow_the_one_rule_of_verdicts(unit_site):
    """A document-level rejection hides the document's passages for N; a passage's own later
    confirmation brings that passage back, first (review.tags.Verdicts: the passage's own decision wins)."""
    with session_scope(unit_site["db"]) as s:
        office = s.exec(select(User).where(User.username == "office1")).one()
        ranked = ranked_evidence(s, YEAR, UNIT, 3, rank_passages)
        doc_id, best = ranked[0].document.id, ranked[0].passage
        s.add(TagDecision(document_id=doc_id, passage_id=None, indicator_no=3, decision="reject",
                          quote="", user_id=office.id))
        s.commit()
        assert all(r.document.id != doc_id for r in ranked_evidence(s, YEAR, UNIT, 3, rank_passages))
        s.add(TagDecision(document_id=doc_id, passage_id=best.id, indicator_no=3, decision="confirm",
                          quote=best.text[:50], user_id=office.id))
        s.commit()
        again = ranked_evidence(s, YEAR, UNIT, 3, rank_passages)
        assert again[0].passage.id == best.id and again[0].decision == "confirm"
        assert "已确认" in again[0].reason


def test_ranking_cross_validation_never_trains_on_the_group_it_ranks():
    from tagging.evaluate import EvalItem
    from tagging.evidence_rank import cross_validate_ranking
    items = [EvalItem(f"d{i}", "\n\n".join(FILLER) + "\n\n" + PLAN, [3], why={3: "印发《关于深化"}, group=f"P{i % 4}")
             for i in range(8)]
    seen = []

    def fit(train):
        seen.append({it.group for it in train})
        from tagging.tagger import Tagger
        return Tagger()

    figure = cross_validate_ranking(items, folds=4, fit=fit)
    assert figure["groups"] == 4 and figure["labels"] == 8 and figure["gold_in_top5"] == 1.0
    assert len(seen) == 4 and all(len(groups) == 3 for groups in seen)


def test_units_prepared_at_start_are_not_prepared_again_when_a_screen_opens(unit_site, monkeypatch):
    import tagging.evidence_rank as E
    from review.evidence_rank import prepare_units
    E._UNIT_TEXTS.clear()
    with session_scope(unit_site["db"]) as s:
        assert prepare_units(s, YEAR, [UNIT, "SH"], E.unit_texts) == 1  # SH has no evidence
        monkeypatch.setattr(E, "UnitTexts", lambda *a: pytest.fail("prepared again"))
        assert ranked_evidence(s, YEAR, UNIT, 3, rank_passages)


@pytest.mark.skipif(not (DEVSET / "labels.json").is_file(), reason="../shared/devset is absent")
def test_on_the_devset_the_gold_passage_is_in_the_first_five_for_most_indicators_of_a_province():
    """Cross-validated by province; rules and meaning (nothing learned from these documents)."""
    from tagging.evaluate import load_eval_set
    from tagging.evidence_rank import cross_validate_ranking
    figure = cross_validate_ranking(load_eval_set(DEVSET), folds=5)
    assert figure["labels"] > 200 and figure["gold_in_top5"] >= 0.9


def reference_meaning(texts: list[str], query: str) -> list[float]:
    """The definition: one TF-IDF fit on the passages and the description."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from zhtext.chinese import fold
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, preprocessor=fold)
    try:
        matrix = vectorizer.fit_transform(list(texts) + [query])
    except ValueError:
        return [0.0] * len(texts)
    sims = (matrix[:-1] @ matrix[-1].T).toarray().ravel()
    top = float(sims.max()) if len(sims) else 0.0
    return [float(s) / top if top > 0 else 0.0 for s in sims]


CJK_TEXT = "产业工人队伍建设改革协调小组办公室设在总工会，劳模工匠學院。 \n"


@hsettings(max_examples=150, deadline=None)
@given(texts=st.lists(st.one_of(st.text(max_size=60), st.text(alphabet=CJK_TEXT, max_size=60)), min_size=1,
                      max_size=12),
       query=st.one_of(st.text(max_size=30), st.text(alphabet=CJK_TEXT, min_size=1, max_size=30)))
def test_prepared_unit_texts_give_the_tfidf_fit_on_passages_and_description(texts, query):
    from tagging.evidence_rank import UnitTexts
    got = UnitTexts(texts, b"").meaning(query)
    assert got == pytest.approx(reference_meaning(texts, query), abs=1e-9)


def test_rankings_are_remembered_for_the_same_texts_and_follow_a_change(monkeypatch):
    import tagging.evidence_rank as E
    texts = FILLER + [PLAN]
    first = rank_passages(texts, 3, keys=list(range(len(texts))))
    prepared = []
    monkeypatch.setattr(E, "UnitTexts", lambda *a: prepared.append(a) or pytest.fail("prepared again"))
    assert rank_passages(list(texts), 3, keys=list(range(len(texts)))) is first
    monkeypatch.undo()
    changed = rank_passages(texts[:-1] + [PLAN + "协调小组办公室"], 3, keys=list(range(len(texts))))
    assert changed is not first and changed[0].key == len(FILLER)


def test_a_unit_opened_by_many_reviewers_at_once_is_prepared_once(monkeypatch):
    import threading

    import tagging.evidence_rank as E
    real, prepared = E.UnitTexts, []

    def counting(*args):
        prepared.append(args)
        return real(*args)

    monkeypatch.setattr(E, "UnitTexts", counting)
    texts = FILLER + [PLAN, "省总工会印发劳模工匠学院建设方案。"]
    results = []
    threads = [threading.Thread(target=lambda: results.append(rank_passages(texts, 3))) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(prepared) == 1 and len(results) == 12
    assert all(r is results[0] for r in results)


def test_the_learned_model_scores_a_unit_once_for_every_indicator():
    """The text model scores all indicators at once: a unit's passages are scored once per model,
    not once per indicator (which was most of opening a scoring screen)."""
    import numpy as np

    import tagging.evidence_rank as E

    class Text:
        nos = [3, 5, 7]
        calls = []

        def scores(self, texts):
            self.calls.append(len(texts))
            return np.tile(np.array([0.9, 0.1, 0.5]), (len(texts), 1))

    class Model:
        text = Text()

        def blend_weight(self, no):
            return 0.0

    from tagging.tagger import Tagger
    tagger = Tagger(model=None)
    tagger.model = Model()
    texts = FILLER + [PLAN, "省总工会印发劳模工匠学院建设方案，新设分院3所。"]
    for no in (3, 5, 7, 9):
        rank_passages(texts, no, tagger=tagger)
    assert Text.calls == [len(texts)]
    assert E.text_scores(texts, 5, tagger.model) == [1.0] * len(texts)
