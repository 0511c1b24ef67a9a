"""Rating rules by direct calls: lifecycle, evidence links, revisions, independence, consensus, history, progress."""
from __future__ import annotations

import pytest
from sqlmodel import select

from review import assign as A
from review import ratings as R
from evidence.models import AuditEvent, Document, DocumentVersion, EvidenceLink, Passage, Rating, User

YEAR = 2023
UNIT = "GD"
INDICATOR = 1  # 纳入当地国民经济和社会发展规划: qualitative, rubric 4/3/2/1
GD_TEXT = """广东省产业工人队伍建设改革工作总结

一、顶层设计
省“十四五”规划纲要设专门段落部署产业工人队伍建设改革，明确目标任务和牵头责任单位。

二、专项方案
省委办公厅、省政府办公厅印发产改实施方案，任务分解到责任单位并有时间表。
"""
ZJ_TEXT = "浙江省“十四五”规划纲要写入产业工人队伍建设改革任务。"


@pytest.fixture
def world(settings, make_user, add_evidence, db_session):
    """Two reviewers assigned to GD indicator 1, a third unassigned one, the office, GD and ZJ evidence."""
    make_user("office1", "office")
    make_user("r1", "reviewer", home="BJ")
    make_user("r2", "reviewer", home="SH")
    make_user("r3", "reviewer")
    make_user("rgd", "reviewer", home=UNIT)
    gd_doc = add_evidence(UNIT, "总结.txt", GD_TEXT)
    zj_doc = add_evidence("ZJ", "规划.txt", ZJ_TEXT)
    s = db_session
    users = {u.username: u for u in s.exec(select(User))}
    rated = {i.no for i in R.system_for_year(YEAR).rated_indicators()}
    for name in ("r1", "r2"):
        A.assign(s, users["office1"], YEAR, users[name], UNIT, [INDICATOR, 2], rated)
    s.commit()

    def passages(doc_id):
        doc = s.get(Document, doc_id)
        return list(s.exec(select(Passage).where(Passage.version_id == doc.current_version_id).order_by(Passage.seq)))
    return {"s": s, "u": users, "gd": passages(gd_doc), "zj": passages(zj_doc), "gd_doc": gd_doc}


def save(w, who, *, level=None, rationale="", links=(), base=0, submit=False, indicator=INDICATOR):
    rating = R.save_rating(w["s"], w["u"][who], YEAR, UNIT, indicator, level_value=level, rationale=rationale,
                           link_specs=list(links), base_revision=base, submit=submit)
    w["s"].commit()
    return rating


def whole(p: Passage) -> str:
    return f"{p.id}:{p.start}:{p.end}"


def test_draft_then_submit_requires_rubric_level_rationale_and_link(world):
    w = world
    draft = save(w, "r1")
    assert (draft.status, draft.revision, draft.kind) == ("draft", 1, "independent")

    with pytest.raises(R.RatingError, match="不在该指标的评分标准中"):
        save(w, "r1", level=7, base=1)
    with pytest.raises(R.RatingError, match="证据"):
        save(w, "r1", level=4, rationale="规划纲要有专门段落", base=1, submit=True)
    with pytest.raises(R.RatingError, match="评分理由"):
        save(w, "r1", level=4, rationale="  ", links=[whole(w["gd"][0])], base=1, submit=True)
    with pytest.raises(R.RatingError, match="档次"):
        save(w, "r1", rationale="有", links=[whole(w["gd"][0])], base=1, submit=True)
    stored = w["s"].get(Rating, draft.id)
    assert (stored.status, stored.revision, stored.level_value) == ("draft", 1, None)
    assert R.links_of(w["s"], "rating", draft.id) == []  # refused submissions leave no links behind

    done = save(w, "r1", level=4, rationale="规划纲要有专门段落", links=[whole(w["gd"][0])], base=1, submit=True)
    assert (done.status, done.revision, done.level_value) == ("submitted", 2, 4)
    assert done.submitted_at is not None


def test_every_submitted_rating_links_quotes_that_match_the_document_text(world):
    w = world
    p0, p1 = w["gd"][0], w["gd"][1]
    span_start = p1.start + p1.text.index("印发")
    span = f"{p1.id}:{span_start}:{span_start + 6}"
    save(w, "r1", level=4, rationale="两处依据", links=[whole(p0), span], submit=True)
    save(w, "r2", level=3, rationale="一处依据", links=[whole(p1)], submit=True)
    s = w["s"]
    submitted = s.exec(select(Rating).where(Rating.status == "submitted")).all()
    assert len(submitted) == 2
    for rating in submitted:
        links = s.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "rating",
                                                  EvidenceLink.owner_id == rating.id)).all()
        assert links, f"submitted rating {rating.id} has no evidence link"
        for link in links:
            text = s.get(DocumentVersion, link.version_id).text
            passage = s.get(Passage, link.passage_id)
            assert link.quote and link.quote == text[link.start:link.end]
            assert link.page_no == passage.page_no
            assert passage.start <= link.start < link.end <= passage.end
    partial = s.exec(select(EvidenceLink).where(EvidenceLink.start == span_start)).one()
    assert partial.quote == "印发产改实施"


def test_stale_revision_is_refused_and_the_first_edit_kept(world):
    w = world
    save(w, "r1", level=2, rationale="初稿")
    first = save(w, "r1", level=3, rationale="第一处修改", base=1)
    assert first.revision == 2
    with pytest.raises(R.StaleRevision, match="该评分已被修改，请刷新后再改"):
        save(w, "r1", level=1, rationale="另一个窗口的修改", base=1)
    kept = w["s"].get(Rating, first.id)
    assert (kept.level_value, kept.rationale, kept.revision) == (3, "第一处修改", 2)
    # A second "create" from a stale form (revision 0) is refused too, not merged.
    with pytest.raises(R.StaleRevision):
        save(w, "r1", level=1, rationale="新建", base=0)


def test_independent_first_then_both_ratings_and_the_disagreement(world):
    w = world
    s, u = w["s"], w["u"]
    save(w, "r1", level=4, rationale="r1 的理由", links=[whole(w["gd"][0])], submit=True)

    hidden = R.item_view(s, u["r2"], YEAR, UNIT, INDICATOR)
    assert not hidden.revealed and hidden.others == [] and hidden.consensus is None
    assert R.item_status(R.item_ratings(s, YEAR, UNIT, INDICATOR), u["r2"]) == "todo"
    save(w, "r2", level=2, rationale="r2 草稿", links=[whole(w["gd"][1])])
    assert not R.item_view(s, u["r2"], YEAR, UNIT, INDICATOR).revealed  # a draft reveals nothing

    save(w, "r2", level=2, rationale="r2 的理由", links=[whole(w["gd"][1])], base=1, submit=True)
    view = R.item_view(s, u["r2"], YEAR, UNIT, INDICATOR)
    assert view.revealed
    assert sorted(r.rationale for r in view.others) == ["r1 的理由", "r2 的理由"]
    assert view.spread == 2 and view.disputed
    assert R.item_status(R.item_ratings(s, YEAR, UNIT, INDICATOR), u["r2"]) == "disputed"


def test_levels_closer_than_the_threshold_are_not_a_disagreement():
    assert not R.is_disputed([3, 3, 3])
    assert R.is_disputed([3, 3 + R.DISAGREEMENT_SPREAD])
    assert not R.is_disputed([4])


def test_office_records_consensus_as_a_separate_record(world):
    w = world
    s, u = w["s"], w["u"]
    r1 = save(w, "r1", level=4, rationale="r1", links=[whole(w["gd"][0])], submit=True)
    save(w, "r2", level=2, rationale="r2", links=[whole(w["gd"][1])], submit=True)
    with pytest.raises(R.RatingError, match="证据"):
        save(w, "office1", level=3, rationale="合议", submit=True)
    consensus = save(w, "office1", level=3, rationale="合议：规划写入但目标不全", links=[whole(w["gd"][0])],
                     submit=True)
    assert consensus.kind == "consensus" and consensus.status == "submitted"
    assert s.get(Rating, r1.id).level_value == 4  # independent ratings stay as they were
    assert R.item_status(R.item_ratings(s, YEAR, UNIT, INDICATOR), u["r1"]) == "consensus"
    assert R.item_view(s, u["r1"], YEAR, UNIT, INDICATOR).consensus.id == consensus.id
    r2_view = R.item_view(s, u["r2"], YEAR, UNIT, INDICATOR)
    assert r2_view.consensus.level_value == 3 and r2_view.levels == [4, 2]  # independents stay visible beside it


def test_history_and_audit_record_every_change(world):
    w = world
    save(w, "r1", level=2, rationale="一")
    save(w, "r1", level=3, rationale="二", base=1)
    save(w, "r1", level=3, rationale="二", base=2)  # nothing changed: no new revision
    rating = save(w, "r1", level=4, rationale="三", links=[whole(w["gd"][0])], base=2, submit=True)
    s = w["s"]
    revisions = R.history(s, rating)
    assert [r.revision for r in revisions] == [1, 2, 3]
    assert [r.snapshot["rationale"] for r in revisions] == ["一", "二", "三"]
    assert revisions[-1].snapshot["status"] == "submitted" and len(revisions[-1].snapshot["links"]) == 1
    events = s.exec(select(AuditEvent).where(AuditEvent.object_type == "rating",
                                             AuditEvent.object_id == str(rating.id)).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["rating_save", "rating_save", "rating_submit"]
    assert events[1].detail["old"]["level_value"] == 2 and events[1].detail["new"]["level_value"] == 3


def test_reviewer_cannot_rate_unassigned_or_conflicted_items(world):
    w = world
    s, u = w["s"], w["u"]
    with pytest.raises(R.RatingAccessError, match="未分配"):
        R.save_rating(s, u["r3"], YEAR, UNIT, INDICATOR, level_value=None, rationale="", link_specs=[],
                      base_revision=0)
    with pytest.raises(R.RatingAccessError, match="未分配"):
        save(w, "r1", indicator=4)  # assigned GD but not this indicator
    # A conflict declared after assignment removes the assignment and blocks the item.
    A.declare_conflict(s, u["r1"], u["r1"], UNIT, "曾在该省任职")
    s.commit()
    with pytest.raises(R.RatingAccessError, match="回避"):
        save(w, "r1")
    with pytest.raises(R.RatingAccessError):
        R.ensure_can_view(s, u["rgd"], YEAR, UNIT, INDICATOR)  # own province, even if someone assigned it


def test_another_units_or_withdrawn_passage_cannot_be_linked(world):
    w = world
    with pytest.raises(R.RatingAccessError, match="本单位本年度"):
        save(w, "r1", level=4, rationale="错引", links=[whole(w["zj"][0])])
    assert w["s"].exec(select(Rating)).all() == []  # nothing half-written
    doc = w["s"].get(Document, w["gd_doc"])
    doc.status = "withdrawn"
    w["s"].commit()
    with pytest.raises(R.RatingAccessError):
        save(w, "r1", level=4, rationale="撤回的证据", links=[whole(w["gd"][0])])


def test_candidates_list_confirmed_then_suggested_then_hinted_passages(world):
    s = world["s"]
    candidates = R.candidate_passages(s, YEAR, UNIT, INDICATOR)
    assert candidates and candidates[0].passage.id == world["gd"][0].id
    assert candidates[0].source == "suggested" and "十四五" in candidates[0].reason
    assert all(c.document.unit_code == UNIT for c in candidates)

    hinted_no = 5  # nothing in the text is about 5; the province said the document is
    assert R.candidate_passages(s, YEAR, UNIT, hinted_no) == []
    doc = s.get(Document, world["gd_doc"])
    doc.indicator_hints = [hinted_no]
    s.add(doc)
    s.commit()
    hinted = R.candidate_passages(s, YEAR, UNIT, hinted_no)
    assert hinted and {c.source for c in hinted} == {"hinted"}

    from review.tags import decide
    decide(s, world["u"]["office1"], doc.id, hinted_no, "confirm", passage_id=world["gd"][1].id)
    s.commit()
    after = R.candidate_passages(s, YEAR, UNIT, hinted_no)
    assert after[0].passage.id == world["gd"][1].id and after[0].source == "confirmed"


def test_progress_counts_rated_draft_disputed_and_missing_evidence(world):
    w = world
    s = w["s"]
    save(w, "r1", level=4, rationale="a", links=[whole(w["gd"][0])], submit=True)
    save(w, "r2", level=2, rationale="b", links=[whole(w["gd"][1])], submit=True)
    save(w, "r1", level=3, rationale="草稿", indicator=2)
    system = R.system_for_year(YEAR)
    level1_of = {i.no: i.level1_no for i in system.rated_indicators()}
    cells = R.progress(s, YEAR, [UNIT, "ZJ", "HI"], level1_of)
    total_in_l1 = sum(1 for v in level1_of.values() if v == 1)
    gd = cells[(UNIT, 1)]
    assert (gd.total, gd.rated, gd.draft, gd.disputed) == (total_in_l1, 1, 1, 1)
    # GD has tagged evidence for 1 and 2, so those two are not "missing evidence".
    assert gd.no_evidence <= total_in_l1 - 2
    hi = cells[("HI", 1)]
    assert (hi.rated, hi.draft, hi.disputed, hi.no_evidence) == (0, 0, 0, total_in_l1)
    assert cells[("ZJ", 1)].no_evidence == total_in_l1 - 1  # ZJ's plan document is tagged for indicator 1
