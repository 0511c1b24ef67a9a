"""The one rule for reviewers' tag decisions (review.tags.Verdicts)."""
from __future__ import annotations

from review.tags import Verdicts

DOC, P1, P2 = 7, 101, 102


def test_latest_decision_on_a_passage_wins_over_the_document_level_one():
    v = Verdicts({(DOC, None, 4): "reject", (DOC, P1, 4): "confirm"})
    assert v.of(DOC, P1, 4) == "confirm"
    assert v.of(DOC, P2, 4) == "reject"      # the document-level rejection reaches other passages
    assert v.of(DOC, None, 4) == "reject"
    assert v.of(DOC, P1, 9) is None


def test_effective_tags_remove_rejections_and_add_confirmations():
    v = Verdicts({(DOC, None, 9): "confirm", (DOC, P1, 4): "reject", (DOC, P1, 41): "confirm"})
    assert v.effective(DOC, P1, {4, 7}) == {7, 9, 41}
    assert v.effective(DOC, P2, {4, 7}) == {4, 7, 9}
    assert v.confirmed(DOC, P1) == {9, 41} and v.rejected(DOC, P1) == {4}


def test_load_keeps_only_the_latest_decision(settings):
    from evidence.db import session_scope
    from evidence.accounts import create_user
    from evidence.models import Document, TagDecision
    with session_scope(settings.database_url) as session:
        reviewer = create_user(session, "verdict-reviewer", "a-long-enough-pass-phrase", "reviewer")
        doc = Document(unit_code="JS", year=2023, filename="a.txt")
        session.add(doc)
        session.flush()
        for decision in ("confirm", "reject", "confirm", "reject"):
            session.add(TagDecision(document_id=doc.id, passage_id=None, indicator_no=4, decision=decision,
                                    user_id=reviewer.id))
            session.flush()
        assert Verdicts.load(session, [doc.id]).of(doc.id, None, 4) == "reject"
        assert Verdicts.load(session, [doc.id], indicator_no=5).latest == {}
        assert Verdicts.load(session, []).latest == {}
