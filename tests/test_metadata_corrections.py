"""Metadata corrections: the uploader's unit (before its deadline) and the office correct a document's
文号, date, issuer, title and kind; the extracted value is kept and shown beside the corrected one;
search, lists, outputs and the document history use and show the correction; every change audited."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from evidence.db import get_engine, session_scope
from evidence.models import AuditEvent, DocumentVersion, MetadataCorrection, Round

# As OCR read a scan: 12号 came out as 72号 (the date of signing is right).
SCAN = ("江苏省总工会关于建设工匠学院的通知\n\n苏工发〔2023〕72号\n\n"
        "为深化产业工人队伍建设改革，省总工会决定在全省建设工匠学院，开展职业技能竞赛和技能培训。\n\n江苏省总工会\n二〇二三年五月八日\n")


@pytest.fixture
def doc(add_evidence):
    return add_evidence("JS", "扫描件.txt", SCAN)


def correct(client, doc_id, **values):
    return client.post(f"/evidence/{doc_id}/metadata", data={"csrf_token": client.csrf, **values})


def test_the_uploaders_unit_corrects_an_ocr_misread_number_and_the_extracted_one_stays(settings, make_user, login, doc):
    make_user("js", "province", unit="JS")
    js = login("js")
    page = correct(js, doc, doc_number="苏工发〔2023〕12号", doc_date="2023年5月9日")
    assert page.status_code == 200 and "已更正：文号、日期" in page.text
    assert "苏工发〔2023〕12号" in page.text and "已更正；提取值：苏工发〔2023〕72号" in page.text
    with session_scope(settings.database_url) as session:
        version = session.exec(select(DocumentVersion)).one()
        assert version.doc_number == "苏工发〔2023〕72号"  # the extraction is never overwritten
        rows = session.exec(select(MetadataCorrection).order_by(MetadataCorrection.id)).all()
        assert [(r.field, r.value) for r in rows] == [("doc_number", "苏工发〔2023〕12号"), ("doc_date", "2023-05-09")]
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "metadata")).all()
        assert events[0].detail["old"] == "苏工发〔2023〕72号" and events[0].detail["new"] == "苏工发〔2023〕12号"
        assert events[0].detail["extracted"] == "苏工发〔2023〕72号" and events[0].username == "js"
    history = page.text.split("文件记录")[1]
    assert "更正文号" in history and "“苏工发〔2023〕72号” 改为 “苏工发〔2023〕12号”" in history


def test_search_finds_the_corrected_number_and_lists_and_outputs_use_it(settings, make_user, login, doc):
    make_user("office", "office")
    office = login("office")
    correct(office, doc, doc_number="苏工发〔2023〕12号", title="关于建设工匠学院的通知（更正）", doc_kind="notice")
    found = office.get("/search", params={"q": "工匠学院"}).text
    assert "关于建设工匠学院的通知（更正）" in found
    by_number = office.get("/search", params={"q": "文号:苏工发〔2023〕12号"}).text
    assert "关于建设工匠学院的通知（更正）" in by_number
    wrong = office.get("/search", params={"q": "文号:苏工发〔2023〕72号"}).text
    assert "关于建设工匠学院的通知（更正）" not in wrong and "没有匹配的证据" in wrong
    assert "（更正）" in office.get("/evidence").text
    from review.document_meta import effective_metadata
    from index.feed import index_records
    with session_scope(settings.database_url) as session:
        version = session.exec(select(DocumentVersion)).one()
        [record, *_] = index_records(session, version.id)
        assert record["doc_number"] == "苏工发〔2023〕12号" and record["kind"] == "notice"
        from evidence.models import Document
        assert effective_metadata(session, session.get(Document, doc), version).doc_number == "苏工发〔2023〕12号"


def test_going_back_to_the_extracted_value_clears_the_correction(settings, make_user, login, doc):
    make_user("office", "office")
    office = login("office")
    correct(office, doc, doc_number="苏工发〔2023〕12号")
    page = correct(office, doc, doc_number="苏工发〔2023〕72号")
    assert "已更正；提取值" not in page.text.split("文件记录")[0]
    assert "恢复为提取值" in page.text


def test_bad_input_is_refused_in_chinese_and_keeps_what_was_typed(settings, make_user, login, doc):
    make_user("office", "office")
    office = login("office")
    page = correct(office, doc, doc_number="苏工发〔2023〕12号", doc_date="五月八号")
    assert page.status_code == 400 and "日期“五月八号”无法识别" in page.text
    assert 'value="苏工发〔2023〕12号"' in page.text  # nothing typed is lost
    with session_scope(settings.database_url) as session:
        assert session.exec(select(MetadataCorrection)).all() == []  # and nothing half-stored
    assert correct(office, doc, doc_kind="黑名单").status_code == 400


def test_who_may_correct(settings, make_user, login, doc):
    from evidence.models import Assignment
    make_user("sh", "province", unit="SH")
    reviewer = make_user("rev", "reviewer")
    make_user("js", "province", unit="JS")
    with session_scope(settings.database_url) as session:
        session.add(Assignment(year=2023, reviewer_id=reviewer.id, unit_code="JS", indicator_no=4))
        session.commit()
    assert correct(login("sh"), doc, doc_number="x").status_code == 404  # another unit does not even see it
    rev = login("rev")
    assert "更正文件信息" not in rev.get(f"/evidence/{doc}").text
    assert correct(rev, doc, doc_number="x").status_code == 403
    past = date.today() - timedelta(days=3)
    with Session(get_engine(settings.database_url)) as session:
        session.add(Round(year=2023, indicator_version="2023", self_assessment_due=past, spotcheck_due=past,
                          review_due=past))
        session.commit()
    js = login("js")
    refused = correct(js, doc, doc_number="苏工发〔2023〕12号")
    assert refused.status_code == 403 and "不能再更正文件信息" in refused.text
    assert "更正文件信息</summary>" not in js.get(f"/evidence/{doc}").text
    make_user("office", "office")
    assert "已更正" in correct(login("office"), doc, doc_number="苏工发〔2023〕12号").text  # the office still may
