"""The case-collection editor: a passage at most once per collection (refused with the entry named),
delete with undo (kept, audited, restorable), one save for everything, and a page that writes nothing."""
from __future__ import annotations

import re

import pytest
from sqlmodel import func, select

from evidence.db import session_scope
from evidence.models import AuditEvent, Collection, CollectionEntry, Document, Passage

MEETING = ("江苏省推进产业工人队伍建设改革协调小组会议纪要\n\n苏产改〔2023〕2号\n\n"
           "2023年3月15日，省委书记主持召开省委常委会会议，专题研究全省产业工人队伍建设改革工作，对下一阶段重点任务作出部署。\n\n"
           "会议要求，协调小组办公室要建立成员单位联络员会议制度，每季度召开一次工作推进会。\n\n二〇二三年三月二十日\n")


@pytest.fixture
def setup(make_user, login, add_evidence, settings):
    make_user("office", "office")
    doc = add_evidence("JS", "纪要.txt", MEETING)
    office = login("office")
    r = office.post("/collections", data={"csrf_token": office.csrf, "title": "经验汇编", "year": "2023"},
                    follow_redirects=False)
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    with session_scope(settings.database_url) as session:
        version = session.get(Document, doc).current_version_id
        passages = [p.id for p in session.exec(select(Passage).where(Passage.version_id == version).order_by(Passage.seq))]
    return office, cid, passages


def add(client, cid, passage_id, htmx=True):
    return client.post("/collection-add", data={"csrf_token": client.csrf, "collection": cid, "passage_id": passage_id},
                       headers={"HX-Request": "true"} if htmx else {})


def entries(settings, cid, deleted=False):
    with session_scope(settings.database_url) as session:
        query = select(CollectionEntry).where(CollectionEntry.collection_id == cid)
        query = query.where(CollectionEntry.deleted_at != None if deleted else CollectionEntry.deleted_at == None)  # noqa: E711
        return session.exec(query.order_by(CollectionEntry.position, CollectionEntry.id)).all()


def revision(settings, cid):
    with session_scope(settings.database_url) as session:
        return session.get(Collection, cid).revision


def test_the_same_passage_twice_is_refused_naming_the_entry_that_holds_it(settings, setup):
    office, cid, passages = setup
    assert "已加入" in add(office, cid, passages[1]).text
    [entry] = entries(settings, cid)
    again = add(office, cid, passages[1])
    assert again.status_code == 400
    assert f"该段落已在本汇编中：第 1 条“{entry.case_title}”，未重复加入" in again.text
    page = office.post(f"/collections/{cid}/add", data={"csrf_token": office.csrf, "passage_id": passages[1]})
    assert "未重复加入" in page.text and page.url.path == f"/collections/{cid}"
    assert len(entries(settings, cid)) == 1
    added = office.post(f"/collections/{cid}/add", data={"csrf_token": office.csrf, "passage_id": passages[0]})
    assert f"已加入条目“{entry.case_title}”" in added.text  # another passage is welcome, named by its title
    assert not re.search(r"已加入条目 ?\d", added.text)


def test_delete_keeps_the_entry_and_undo_brings_it_back_both_audited(settings, setup):
    office, cid, passages = setup
    add(office, cid, passages[1])
    add(office, cid, passages[0])
    first, second = entries(settings, cid)
    before = revision(settings, cid)
    r = office.post(f"/collections/{cid}/entries/{first.id}/delete", headers={"HX-Request": "true", "X-CSRF-Token": office.csrf})
    assert r.status_code == 200 and "撤销" in r.text and f"/entries/{first.id}/restore" in r.text
    assert re.search(rf'id="revision" value="{before + 1}" hx-swap-oob', r.text)  # the editor's save stays valid
    assert 'id="deleted-entries" hx-swap-oob="true"' in r.text  # the list of deleted entries follows too
    assert [e.id for e in entries(settings, cid)] == [second.id]
    assert [e.id for e in entries(settings, cid, deleted=True)] == [first.id]
    page = office.get(f"/collections/{cid}").text
    assert "已删除的条目" in page and f"/entries/{first.id}/restore" in page
    assert first.case_title in page.split('id="deleted"')[1]
    # Deleted entries are out of the export and free the passage for the finder.
    with session_scope(settings.database_url) as session:
        quote = session.get(Passage, passages[1]).text.strip()[:30]
    assert quote not in office.get(f"/collections/{cid}/export.md").text
    r = office.post(f"/collections/{cid}/entries/{first.id}/restore", data={"csrf_token": office.csrf})
    assert r.status_code == 200 and "已恢复条目" in r.text
    assert [e.id for e in entries(settings, cid)] == [second.id, first.id]  # back, at the end
    with session_scope(settings.database_url) as session:
        details = [e.detail for e in session.exec(select(AuditEvent).where(AuditEvent.action == "collection"))]
    assert {"entry_deleted": first.case_title} .items() <= next(d for d in details if "entry_deleted" in d).items()
    assert any(d.get("entry_restored") == first.case_title for d in details)


def test_undo_is_refused_when_the_passage_was_added_again_meanwhile(settings, setup):
    office, cid, passages = setup
    add(office, cid, passages[1])
    [first] = entries(settings, cid)
    office.post(f"/collections/{cid}/entries/{first.id}/delete", data={"csrf_token": office.csrf})
    assert "已加入" in add(office, cid, passages[1]).text
    r = office.post(f"/collections/{cid}/entries/{first.id}/restore", headers={"HX-Request": "true", "X-CSRF-Token": office.csrf})
    assert r.status_code == 400 and "不能恢复" in r.text
    assert len(entries(settings, cid)) == 1


def test_one_save_stores_title_and_every_entry_or_nothing_when_someone_saved_in_between(settings, setup):
    office, cid, passages = setup
    add(office, cid, passages[1])
    add(office, cid, passages[0])
    a, b = entries(settings, cid)
    start = revision(settings, cid)
    form = {"csrf_token": office.csrf, "revision": str(start), "title": "新标题", "preface": "前言",
            "entry": [a.id, b.id], f"case_title-{a.id}": "甲案例", f"summary-{a.id}": "按语甲",
            f"status-{a.id}": "included", f"case_title-{b.id}": "乙案例", f"summary-{b.id}": "按语乙"}
    r = office.post(f"/collections/{cid}", data=form)
    assert r.status_code == 200 and "已保存" in r.text
    a2, b2 = entries(settings, cid)
    assert (a2.case_title, a2.summary, a2.status, b2.case_title, b2.summary) == ("甲案例", "按语甲", "included", "乙案例", "按语乙")
    assert revision(settings, cid) == start + 1  # one save, one revision
    stale = office.post(f"/collections/{cid}", data={**form, f"summary-{a.id}": "另一位编辑的按语"})
    assert stale.status_code == 409 and "已被其他人修改" in stale.text
    assert "另一位编辑的按语" in stale.text  # what was typed is still on the page
    assert entries(settings, cid)[0].summary == "按语甲"  # and nothing was stored
    assert office.get(f"/collections/{cid}").text.count("保存全部修改") == 1
    assert "保存条目" not in office.get(f"/collections/{cid}").text


def test_reading_the_editor_writes_nothing(settings, setup):
    office, cid, passages = setup
    add(office, cid, passages[1])
    with session_scope(settings.database_url) as session:
        events = session.exec(select(func.count(AuditEvent.id))).one()
    before = revision(settings, cid)
    assert office.get(f"/collections/{cid}").status_code == 200
    with session_scope(settings.database_url) as session:
        assert session.exec(select(func.count(AuditEvent.id))).one() == events
    assert revision(settings, cid) == before
