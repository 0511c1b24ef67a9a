"""Evidence screens: upload (many files, refusals, limits), live states, viewer, download,
retry, withdrawal and tag decisions."""
from __future__ import annotations

import dataclasses
import io
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from evidence.db import get_engine
from evidence.models import AuditEvent, Document, DocumentVersion, Passage, Round, TagDecision

JS_TEXT = ("江苏省总工会关于建设工匠学院的通知\n\n苏工发〔2023〕12号\n\n"
           "为深化产业工人队伍建设改革，省总工会决定在全省建设工匠学院，开展职业技能竞赛和技能培训，"
           "推动产业工人技能提升。各市总工会要加强组织领导，落实经费保障。\n\n"
           "全省共举办职业技能竞赛 120 场，参赛职工 3.5 万人次，培养高技能人才 1200 名。")


def docx_bytes(*paragraphs: str) -> bytes:
    import docx
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def session_for(settings) -> Session:
    return Session(get_engine(settings.database_url), expire_on_commit=False)


def upload(client, *files, **fields):
    data = {"csrf_token": client.csrf, "year": "2023", **fields}
    return client.post("/evidence/upload", data=data, files=[("files", f) for f in files])


@pytest.fixture
def province(make_user, login):
    make_user("js", "province", unit="JS")
    return login("js")


def test_upload_of_txt_and_docx_ends_indexed_and_listed(settings, province):
    from ingest.queue import drain
    doc = docx_bytes("江苏省劳模工匠创新工作室建设情况", "全省建成劳模和工匠人才创新工作室 860 家，带动职工技术创新成果 2300 项。")
    response = upload(province, ("工匠学院.txt", JS_TEXT.encode("utf-8"), "text/plain"),
                      ("创新工作室.docx", doc, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))
    assert response.status_code == 200
    assert "已保存" in response.text
    assert 'hx-trigger="every 2s"' in response.text  # live states poll while unfinished
    drain(settings)
    with session_for(settings) as session:
        rows = session.exec(select(Document, DocumentVersion).join(
            DocumentVersion, DocumentVersion.id == Document.current_version_id)).all()
    assert sorted(d.filename for d, _ in rows) == ["创新工作室.docx", "工匠学院.txt"]
    assert {v.state for _, v in rows} == {"indexed"}, [v.error for _, v in rows]
    assert all(d.unit_code == "JS" and d.year == 2023 for d, _ in rows)
    listing = province.get("/evidence").text
    assert "创新工作室.docx" in listing and "工匠学院.txt" in listing and "已入库" in listing
    ids = ",".join(str(d.id) for d, _ in rows)
    states = province.get(f"/evidence/states?ids={ids}").text
    assert "every 2s" not in states and "全部处理完毕" in states
    hits = province.get("/search", params={"q": "创新工作室"}).text
    assert "创新工作室.docx" in hits


def test_upload_json_answer_for_the_per_file_script(settings, province):
    response = province.post("/evidence/upload", data={"year": "2023"}, headers={
        "X-CSRF-Token": province.csrf, "Accept": "application/json"},
        files=[("files", ("a.txt", JS_TEXT.encode("utf-8"), "text/plain"))])
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["document_id"] and not result["error"]


@pytest.mark.parametrize("filename,content", [
    ("setup.exe", b"MZ\x90\x00" + b"\x00" * 100),
    ("run.sh", b"echo hi\n"),
    ("payload.js", b"alert(1)"),
    ("report.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 50),  # an executable renamed to .txt
    ("<img src=x onerror=alert(1)>.bat", b"@echo off"),
])
def test_executables_and_scripts_are_refused(settings, province, filename, content):
    response = upload(province, (filename, content, "application/octet-stream"))
    assert response.status_code == 400
    assert "不允许上传" in response.text
    assert "<img src=x" not in response.text  # the refused name is echoed escaped
    with session_for(settings) as session:
        assert session.exec(select(Document)).all() == []


def test_oversize_file_is_refused_with_a_clear_message(settings, app, province):
    app.state.settings = dataclasses.replace(settings, max_upload_bytes=1024)
    response = upload(province, ("big.txt", ("产改" * 2000).encode("utf-8"), "text/plain"))
    assert response.status_code == 400
    assert "超过上限" in response.text and "上限 1 KB" in response.text  # Chinese style: no trailing .0
    with session_for(settings) as session:
        assert session.exec(select(Document)).all() == []


def test_viewer_shows_metadata_passages_and_highlights_a_deep_linked_passage(settings, province, add_evidence):
    doc_id = add_evidence("JS", "通知.txt", JS_TEXT)
    with session_for(settings) as session:
        passages = session.exec(select(Passage).join(DocumentVersion, DocumentVersion.id == Passage.version_id)
                                .where(DocumentVersion.document_id == doc_id).order_by(Passage.seq)).all()
    assert passages
    last = passages[-1]
    page = province.get(f"/evidence/{doc_id}?page={last.page_no}&passage={last.id}").text
    assert f'id="p-{last.id}"' in page
    assert f'class="passage target" id="p-{last.id}"' in page
    assert "苏工发〔2023〕12号" in page  # 文号 from the metadata
    assert "下载原始文件" in page
    plain = province.get(f"/evidence/{doc_id}").text
    assert "passage target" not in plain


def test_download_is_an_attachment_never_rendered_inline(settings, province, add_evidence):
    doc_id = add_evidence("JS", "<b>报告.html", "<html><body><script>alert(1)</script>工匠学院</body></html>")
    response = province.get(f"/evidence/{doc_id}/download")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%3Cb%3E%E6%8A%A5%E5%91%8A.html" in disposition
    assert response.content.startswith(b"<html>")


def test_retry_requeues_a_failed_document_and_is_audited(settings, province, add_evidence):
    doc_id = add_evidence("JS", "通知.txt", JS_TEXT)
    with session_for(settings) as session:
        document = session.get(Document, doc_id)
        version = session.get(DocumentVersion, document.current_version_id)
        version.state, version.error = "failed", "文件已损坏，无法读取。"
        session.commit()
    listing = province.get("/evidence").text
    assert "文件已损坏，无法读取。" in listing and "重新处理" in listing
    response = province.post(f"/evidence/{doc_id}/retry", data={"csrf_token": province.csrf}, follow_redirects=False)
    assert response.status_code == 303
    with session_for(settings) as session:
        version = session.get(DocumentVersion, session.get(Document, doc_id).current_version_id)
        assert version.state == "queued" and version.error == ""
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "retry")).first() is not None
    again = province.post(f"/evidence/{doc_id}/retry", data={"csrf_token": province.csrf})
    assert again.status_code == 409  # only failed documents can be retried


def test_withdraw_keeps_the_record_and_removes_it_from_search(settings, province, add_evidence):
    doc_id = add_evidence("JS", "工匠学院通知.txt", JS_TEXT)
    assert "工匠学院通知.txt" in province.get("/search", params={"q": "工匠学院"}).text
    empty = province.post(f"/evidence/{doc_id}/withdraw", data={"csrf_token": province.csrf, "reason": " "})
    assert empty.status_code == 400 and "撤回原因" in empty.text
    response = province.post(f"/evidence/{doc_id}/withdraw",
                             data={"csrf_token": province.csrf, "reason": "上传错了年度"}, follow_redirects=False)
    assert response.status_code == 303
    with session_for(settings) as session:
        document = session.get(Document, doc_id)
        assert document.status == "withdrawn" and document.withdraw_reason == "上传错了年度"
        assert document.withdrawn_at is not None
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "withdraw")).one()
        assert event.object_id == str(doc_id)
    assert "工匠学院通知.txt" not in province.get("/search", params={"q": "工匠学院"}).text
    assert "工匠学院通知.txt" not in province.get("/evidence").text
    history = province.get("/evidence?status=withdrawn").text
    assert "工匠学院通知.txt" in history and "上传错了年度" in history
    assert "已撤回" in province.get(f"/evidence/{doc_id}").text


def test_withdraw_is_refused_after_the_rounds_deadline(settings, province, add_evidence):
    doc_id = add_evidence("JS", "通知.txt", JS_TEXT)
    past = date.today() - timedelta(days=1)
    with session_for(settings) as session:
        session.add(Round(year=2023, indicator_version="2023", self_assessment_due=past, spotcheck_due=past,
                          review_due=past, upload_due=past))
        session.commit()
    response = province.post(f"/evidence/{doc_id}/withdraw", data={"csrf_token": province.csrf, "reason": "错了"})
    assert response.status_code == 403
    assert "截止日期" in response.text
    with session_for(settings) as session:
        assert session.get(Document, doc_id).status == "active"


def test_reviewer_confirms_a_tag_in_place_and_the_decision_is_recorded(settings, make_user, login, add_evidence):
    from evidence.models import Assignment
    doc_id = add_evidence("JS", "通知.txt", JS_TEXT)
    reviewer = make_user("expert", "reviewer")
    with session_for(settings) as session:
        session.add(Assignment(year=2023, reviewer_id=reviewer.id, unit_code="JS", indicator_no=12))
        passage = session.exec(select(Passage).join(DocumentVersion, DocumentVersion.id == Passage.version_id)
                               .where(DocumentVersion.document_id == doc_id)).first()
        session.commit()
    client = login("expert")
    response = client.post(f"/evidence/{doc_id}/tags", headers={"HX-Request": "true", "X-CSRF-Token": client.csrf},
                           data={"indicator_no": "12", "decision": "confirm", "passage_id": str(passage.id)})
    assert response.status_code == 200
    assert f'id="tags-{passage.id}"' in response.text and "已确认" in response.text
    with session_for(settings) as session:
        decision = session.exec(select(TagDecision)).one()
        assert (decision.document_id, decision.passage_id, decision.indicator_no, decision.decision) == (
            doc_id, passage.id, 12, "confirm")
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "tag_confirm")).first() is not None
    viewer = client.get(f"/evidence/{doc_id}?passage={passage.id}").text
    assert "已确认" in viewer


def test_office_uploads_an_archive_for_a_unit_as_one_document_per_member(settings, make_user, login):
    import zipfile
    from ingest.queue import drain
    make_user("office", "office")
    office = login("office")
    assert 'name="unit"' in office.get("/evidence/upload").text  # the office chooses the unit
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("竞赛.txt", JS_TEXT)
        zf.writestr("培训.txt", "全省开展产业工人技能培训，培训职工五万人次，建成公共实训基地十个。")
    response = upload(office, ("材料.zip", archive.getvalue(), "application/zip"), unit="JS", kind="notice",
                      indicators="41, 47")
    assert response.status_code == 200 and "含 2 个文件" in response.text
    drain(settings)
    with session_for(settings) as session:
        docs = session.exec(select(Document).order_by(Document.filename)).all()
    assert [(d.filename, d.unit_code, d.archive_name, d.kind_hint, d.indicator_hints) for d in docs] == [
        ("培训.txt", "JS", "材料.zip", "notice", [41, 47]), ("竞赛.txt", "JS", "材料.zip", "notice", [41, 47])]


def test_reviewers_cannot_upload_and_unknown_indicators_cannot_be_tagged(settings, make_user, login, add_evidence):
    doc_id = add_evidence("JS", "通知.txt", JS_TEXT)
    make_user("expert", "reviewer")
    make_user("office", "office")
    expert = login("expert")
    assert expert.get("/evidence/upload").status_code == 403
    refused = upload(expert, ("a.txt", JS_TEXT.encode("utf-8"), "text/plain"))
    assert refused.status_code == 403 and "只有省级填报人员" in refused.text
    office = login("office")
    bad = office.post(f"/evidence/{doc_id}/tags", data={"csrf_token": office.csrf, "indicator_no": "999",
                                                        "decision": "confirm"})
    assert bad.status_code == 400 and "不在" in bad.text
    with session_for(settings) as session:
        assert len(session.exec(select(Document)).all()) == 1
        assert session.exec(select(TagDecision)).all() == []


def test_duplicates_are_not_stored_twice_and_near_duplicates_are_flagged(settings, province):
    from ingest.queue import drain
    long_text = (JS_TEXT + "\n\n") * 4
    first = upload(province, ("通知.txt", long_text.encode("utf-8"), "text/plain"))
    assert first.status_code == 200
    drain(settings)
    again = upload(province, ("通知-副本.txt", long_text.encode("utf-8"), "text/plain"))
    assert "内容完全相同" in again.text
    near = upload(province, ("通知-修订.txt", (long_text + "特此通知。").encode("utf-8"), "text/plain"))
    assert near.status_code == 200
    drain(settings)
    with session_for(settings) as session:
        assert sorted(d.filename for d in session.exec(select(Document))) == ["通知-修订.txt", "通知.txt"]
    listing = province.get("/evidence").text
    assert "高度相似" in listing and "通知-副本.txt" not in listing


def test_office_sees_every_unit_and_can_filter_by_unit(make_user, login, add_evidence):
    add_evidence("JS", "江苏通知.txt", JS_TEXT)
    add_evidence("SH", "上海通知.txt", "上海市总工会召开职工代表大会，审议通过集体合同。")
    make_user("office", "office")
    office = login("office")
    everything = office.get("/evidence").text
    assert "江苏通知.txt" in everything and "上海通知.txt" in everything
    only_sh = office.get("/evidence", params={"unit": "SH"}).text
    assert "上海通知.txt" in only_sh and "江苏通知.txt" not in only_sh
