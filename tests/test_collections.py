"""Case collections: from passages to a DOCX whose excerpts equal their sources and carry citations."""
import docx
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Collection, CollectionEntry, Document, DocumentVersion, EvidenceLink, Passage, Rating

MEETING = ("江苏省推进产业工人队伍建设改革协调小组会议纪要\n\n苏产改〔2023〕2号\n\n"
           "2023年3月15日，省委书记主持召开省委常委会会议，专题研究全省产业工人队伍建设改革工作，对下一阶段重点任务作出部署。\n\n"
           "会议要求，协调小组办公室要建立成员单位联络员会议制度，每季度召开一次工作推进会。\n\n二〇二三年三月二十日\n")
CRAFT = ("上海市命名首批省级工匠学院\n\n本报讯 上海市总工会为首批10家工匠学院授牌，全市已建成劳模和工匠人才创新工作室1200家，"
         "全年开展高技能人才培训2万人次。\n")


def _passages(settings, doc_id):
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, doc_id)
        return session.exec(select(Passage).where(Passage.version_id == doc.current_version_id)
                            .order_by(Passage.seq)).all()


def _new_collection(c, title="2023年产改经验案例汇编"):
    r = c.post("/collections", data={"csrf_token": c.csrf, "title": title, "year": "2023", "preface": "前言"},
               follow_redirects=False)
    assert r.status_code == 303
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_collection_export_keeps_sources_and_citations(make_user, login, add_evidence, settings, tmp_path):
    make_user("office", "office")
    js = add_evidence("JS", "纪要.txt", MEETING)
    sh = add_evidence("SH", "工匠学院.txt", CRAFT)
    office = login("office")
    cid = _new_collection(office)
    office.post(f"/collections/{cid}", data={"csrf_token": office.csrf, "action": "section", "section_title": "组织领导"})
    chosen = [p for p in _passages(settings, js) if "省委书记" in p.text] + [p for p in _passages(settings, sh) if "工匠学院" in p.text][:1]
    for p in chosen:
        r = office.post("/collection-add", data={"csrf_token": office.csrf, "collection": cid, "passage_id": p.id,
                                                 "indicator_nos": "4"}, headers={"HX-Request": "true"})
        assert "已加入" in r.text
    with session_scope(settings.database_url) as session:
        entries = session.exec(select(CollectionEntry).where(CollectionEntry.collection_id == cid)).all()
        assert len(entries) == 2
        note_entry = entries[0]
    eid = note_entry.id
    edit = {"entry": eid, f"case_title-{eid}": "书记抓产改", f"summary-{eid}": "<script>alert(1)</script>按语",
            f"section-{eid}": "", f"status-{eid}": "included"}
    r = office.post(f"/collections/{cid}", data={"csrf_token": office.csrf, "revision": "1", **edit})
    assert "已被其他人修改" in r.text  # the form started from revision 1; the collection has moved on
    with session_scope(settings.database_url) as session:
        revision = session.get(Collection, cid).revision
    office.post(f"/collections/{cid}", data={"csrf_token": office.csrf, "revision": str(revision),
                                             **edit, f"status-{eid}": "candidate"})
    page = office.get(f"/collections/{cid}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;按语" in page.text and "<script>alert(1)" not in page.text
    html = office.get(f"/collections/{cid}/export.html").text
    assert "<script>alert(1)" not in html
    r = office.get(f"/collections/{cid}/export.docx")
    assert r.status_code == 200
    path = tmp_path / "c.docx"
    path.write_bytes(r.content)
    paragraphs = [p.text for p in docx.Document(path).paragraphs]
    body = "\n".join(paragraphs)
    for p in chosen:
        assert p.text in body, "an excerpt differs from its source passage"
        last_line = p.text.strip().splitlines()[-1]
        at = max(i for i, t in enumerate(paragraphs) if last_line in t)
        assert any(t.startswith("——摘自") for t in paragraphs[at + 1:at + 3]), "excerpt without its citation"
    assert "苏产改〔2023〕2号" in body and "第1页" in body


def test_withdrawn_source_keeps_the_quote_and_flags_it(make_user, login, add_evidence, settings, tmp_path):
    make_user("office", "office")
    js = add_evidence("JS", "纪要.txt", MEETING)
    office = login("office")
    cid = _new_collection(office)
    p = _passages(settings, js)[1]
    office.post(f"/collections/{cid}/add", data={"csrf_token": office.csrf, "passage_id": p.id})
    with session_scope(settings.database_url) as session:
        doc = session.get(Document, js)
        doc.status = "withdrawn"
        session.commit()
    page = office.get(f"/collections/{cid}")
    assert p.text[:20] in page.text and "请核对" in page.text
    with session_scope(settings.database_url) as session:  # the editor page computes it and writes nothing
        link = session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "collection_entry")).one()
        assert link.status == "ok" and link.quote == p.text
    r = office.get(f"/collections/{cid}/export.docx")
    with session_scope(settings.database_url) as session:  # downloading it (a GET) records nothing
        link = session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "collection_entry")).one()
        assert link.status == "ok"
    r = office.post(f"/collections/{cid}/export.docx", data={"csrf_token": office.csrf})
    with session_scope(settings.database_url) as session:  # 编发 records it with the quote kept
        link = session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "collection_entry")).one()
        assert link.status == "needs_attention" and link.quote == p.text
    path = tmp_path / "w.docx"
    path.write_bytes(r.content)
    body = "\n".join(x.text for x in docx.Document(path).paragraphs)
    assert p.text in body and "需核实" in body


def test_finder_proposes_top_rated_unused_passages_across_units(make_user, login, add_evidence, settings):
    from casebook.collections import propose
    from review.links import link_passage
    reviewer = make_user("rev", "reviewer")
    js = add_evidence("JS", "纪要.txt", MEETING)
    sh = add_evidence("SH", "工匠学院.txt", CRAFT)
    with session_scope(settings.database_url) as session:
        for unit, doc_id, level in (("JS", js, 4), ("SH", sh, 4)):
            r = Rating(year=2023, unit_code=unit, indicator_no=4, indicator_version="2022.1", reviewer_id=reviewer.id,
                       level_value=level, rationale="好", status="submitted")
            session.add(r)
            session.flush()
            link_passage(session, "rating", r.id, _passages(settings, doc_id)[0], reviewer)
        session.commit()
        proposals = propose(session, 2023, 4)
    assert {p["unit"] for p in proposals} == {"JS", "SH"}
    assert all("评为4级" in p["reason"] for p in proposals)


def test_province_staff_cannot_use_collections(make_user, login, add_evidence, settings):
    make_user("js", "province", unit="JS")
    c = login("js")
    assert c.get("/collections").status_code == 403
    doc = add_evidence("JS", "纪要.txt", MEETING)
    with session_scope(settings.database_url) as session:
        session.add(Collection(title="x", year=2023))
        session.commit()
    r = c.post("/collection-add", data={"csrf_token": c.csrf, "collection": 1, "passage_id": _passages(settings, doc)[0].id})
    assert r.status_code == 403


def test_reviewers_propose_passages_but_do_not_see_collections(make_user, login, add_evidence, settings):
    from evidence.models import Assignment
    reviewer = make_user("rev", "reviewer")
    make_user("office", "office")
    js = add_evidence("JS", "纪要.txt", MEETING)
    with session_scope(settings.database_url) as session:
        session.add(Assignment(year=2023, reviewer_id=reviewer.id, unit_code="JS", indicator_no=4))
        session.commit()
    office = login("office")
    cid = _new_collection(office)
    c = login("rev")
    r = c.post("/collection-add", data={"csrf_token": c.csrf, "collection": cid,
                                        "passage_id": _passages(settings, js)[0].id}, headers={"HX-Request": "true"})
    assert "已加入" in r.text
    for url in (f"/collections/{cid}", f"/collections/{cid}/export.html", f"/collections/{cid}/export.md",
                f"/collections/{cid}/propose", "/collections"):
        assert c.get(url).status_code == 403, url


def test_reviewer_cannot_collect_an_unassigned_units_passage(make_user, login, add_evidence, settings):
    make_user("rev", "reviewer")
    make_user("office", "office")
    doc = add_evidence("SH", "工匠学院.txt", CRAFT)
    cid = _new_collection(login("office"))
    c = login("rev")
    r = c.post(f"/collections/{cid}/add", data={"csrf_token": c.csrf, "passage_id": _passages(settings, doc)[0].id})
    assert r.status_code in (403, 404)
    with session_scope(settings.database_url) as session:
        assert not session.exec(select(CollectionEntry)).all()


def test_an_exported_collection_is_searchable_evidence_of_indicator_19_for_the_office(
        make_user, login, add_evidence, settings):
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    js = add_evidence("JS", "纪要.txt", MEETING)
    office = login("office")
    cid = _new_collection(office, title="全国产改典型经验汇编")
    office.post(f"/collections/{cid}/add", data={"csrf_token": office.csrf, "passage_id": _passages(settings, js)[1].id,
                                                 "indicator_nos": "9"})
    assert office.get(f"/collections/{cid}/export.docx").status_code == 200
    found = office.get("/search", params={"q": "联络员会议", "indicator": "19"}).text
    assert "全国产改典型经验汇编" not in found  # a GET writes nothing, the index included
    assert office.post(f"/collections/{cid}/export.docx", data={"csrf_token": office.csrf}).status_code == 200
    found = office.get("/search", params={"q": "联络员会议", "indicator": "19"}).text
    assert "全国产改典型经验汇编" in found and f"/collections/{cid}" in found and "已编发" in found
    province = login("js").get("/search", params={"q": "联络员会议"}).text
    assert "全国产改典型经验汇编" not in province


def test_viewing_a_collection_writes_nothing_and_withdrawal_flags_its_links(make_user, login, add_evidence, settings):
    from evidence.models import AuditEvent
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    js = add_evidence("JS", "纪要.txt", MEETING)
    office = login("office")
    cid = _new_collection(office)
    p = _passages(settings, js)[1]
    office.post(f"/collections/{cid}/add", data={"csrf_token": office.csrf, "passage_id": p.id})

    def snapshot():
        with session_scope(settings.database_url) as session:
            return ([(link.id, link.status) for link in session.exec(select(EvidenceLink))],
                    len(session.exec(select(AuditEvent)).all()), session.get(Collection, cid).revision)
    before = snapshot()
    assert office.get(f"/collections/{cid}").status_code == 200
    assert snapshot() == before
    province = login("js")
    r = province.post(f"/evidence/{js}/withdraw", data={"csrf_token": province.csrf, "reason": "上传错了"},
                      follow_redirects=False)
    assert r.status_code == 303
    with session_scope(settings.database_url) as session:
        assert session.exec(select(EvidenceLink)).one().status == "needs_attention"
