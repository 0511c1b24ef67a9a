"""What an upload is called and what it really holds: a ZIP is found by its end record wherever it starts,
an office file or OFD is kept whole only when its structure and extension agree and none of its parts is
executable, names are normalised before any rule looks at them (and stored so), only evidence formats are
taken, and every refusal — a whole archive, an empty or oversize file included — is on record."""
from __future__ import annotations

import dataclasses
import io
import unicodedata
import zipfile

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlmodel import select

from evidence.db import session_scope
from evidence.file_policy import MAX_NAME, file_refusal, safe_name
from evidence.models import AuditEvent, Document, StoredFile
from ingest.extract import zip_kind
from ingest.submit import submit

NOTICE = "关于开展产改评价工作的通知\n各省总工会：现将有关事项通知如下。\n".encode()
PAYLOAD = [("payload.exe", b"MZ\x90\x00" + b"\0" * 64), ("run.bat", b"@echo off\r\nstart payload.exe\r\n")]


def make_zip(entries, prefix: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return prefix + buf.getvalue()


def docx_bytes(*extra_parts) -> bytes:
    import docx
    document = docx.Document()
    document.add_paragraph("江苏省总工会关于建设工匠学院的通知")
    out = io.BytesIO()
    document.save(out)
    if not extra_parts:
        return out.getvalue()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as src:
        parts = [(i.filename, src.read(i)) for i in src.infolist()]
    return make_zip(parts + list(extra_parts))


def upload(session, settings, user, name: str, data: bytes):
    result = submit(session, settings, io.BytesIO(data), name, unit_code="JS", year=2023, user=user)
    session.commit()
    return result


def stored_names(settings) -> list[str]:
    with session_scope(settings.database_url) as session:
        return sorted(d.filename for d in session.exec(select(Document)))


def refusals(settings) -> list[dict]:
    with session_scope(settings.database_url) as session:
        return [e.detail for e in session.exec(select(AuditEvent).where(AuditEvent.action == "upload_refused")
                                               .order_by(AuditEvent.id))]


def nothing_kept(settings) -> bool:
    with session_scope(settings.database_url) as session:
        stored = {f.sha256 for f in session.exec(select(StoredFile))}
    return not stored and not [p for p in settings.files_dir.rglob("*") if p.is_file()]


@pytest.fixture
def js(make_user):
    return make_user("js", "province", unit="JS")


# ── ZIPs that do not say so ─────────────────────────────────────────────────

@pytest.mark.parametrize("name, data", [
    ("报告.docx", make_zip([("[Content_Types].xml", b"<Types/>")] + PAYLOAD)),  # office markers, no document
    ("报告.pdf", make_zip([("说明.txt", NOTICE)] + PAYLOAD, prefix=b"%PDF-1.4\n")),  # a PDF header in front
    ("材料.ofd", make_zip([("mimetype", b"application/ofd"), ("OFD.xml", b"<ofd/>")] + PAYLOAD,
                        prefix=b"%PDF-1.4\n")),
    ("通知.txt", make_zip([("说明.txt", NOTICE)] + PAYLOAD, prefix=NOTICE)),
])
def test_a_zip_under_another_name_is_refused_whole_and_on_record(settings, db_session, js, name, data):
    result = upload(db_session, settings, js, name, data)
    assert result.document is None and not result.members and "未保存" in result.error
    assert nothing_kept(settings)
    [event] = refusals(settings)
    assert event["filename"] == name and event["reason"] == result.error


def test_office_markers_do_not_make_a_zip_an_office_file(settings, db_session, js):
    """Named .zip, it is unpacked whatever it holds: every member is checked as a file of its own."""
    for marker in ("[Content_Types].xml", "word/document.xml", "OFD.xml", "mimetype"):
        result = upload(db_session, settings, js, f"{marker.replace('/', '_')}.zip",
                        make_zip([(marker, b"<x/>"), ("说明.txt", NOTICE + marker.encode())] + PAYLOAD))
        lines = {m.filename: m for m in result.members}
        assert lines["说明.txt"].document is not None
        assert all(lines[n].document is None and "不允许上传" in lines[n].error for n, _ in PAYLOAD)
    assert set(stored_names(settings)) == {"说明.txt"}


def test_a_pdf_header_in_front_of_a_zip_named_zip_is_still_unpacked(settings, db_session, js):
    result = upload(db_session, settings, js, "材料.zip", make_zip([("说明.txt", NOTICE)] + PAYLOAD,
                                                                   prefix=b"%PDF-1.4\n"))
    assert [m.filename for m in result.members if m.document] == ["说明.txt"]
    assert stored_names(settings) == ["说明.txt"]


def test_a_real_docx_is_kept_whole_also_under_doc_and_wps(settings, db_session, js):
    data = docx_bytes()
    for name in ("通知.docx", "通知2.doc", "通知3.wps"):
        result = upload(db_session, settings, js, name, data)
        assert result.document is not None or result.duplicate_of is not None, result.error
    assert stored_names(settings) == ["通知.docx"]  # the same bytes: stored once


@pytest.mark.parametrize("extra, words", [
    (("word/embeddings/payload.exe", b"MZ\x90\x00"), "payload.exe"),
    (("word/media/image9.png", b"MZ\x90\x00 not a picture"), "image9.png"),
    (("word/vbaProject.bin", b"\xd0\xcf\x11\xe0"), "宏"),
    (("customXml/run.ps1", b"Write-Host"), "run.ps1"),
])
def test_an_office_file_with_an_executable_part_is_refused_whole(settings, db_session, js, extra, words):
    result = upload(db_session, settings, js, "通知.docx", docx_bytes(extra))
    assert result.document is None and words in result.error and "未保存" in result.error
    assert nothing_kept(settings) and refusals(settings)[0]["reason"] == result.error


def test_an_embedded_ole_object_is_a_part_like_any_other(settings, db_session, js):
    result = upload(db_session, settings, js, "通知.docx",
                    docx_bytes(("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)))
    assert result.document is not None, result.error


def test_an_office_file_under_the_wrong_name_or_with_data_in_front_is_refused(settings, db_session, js):
    wrong = upload(db_session, settings, js, "通知.pdf", docx_bytes())
    assert wrong.document is None and "Word 文档" in wrong.error and ".pdf" in wrong.error
    prefixed = upload(db_session, settings, js, "通知.docx", b"%PDF-1.4\n" + docx_bytes())
    assert prefixed.document is None and "开头附加" in prefixed.error
    assert nothing_kept(settings)


def test_a_zip_whose_directory_is_gone_is_not_kept(settings, db_session, js):
    raw = make_zip([("说明.txt", NOTICE)] + PAYLOAD)
    truncated = raw[:raw.index(b"PK\x01\x02")]  # local headers only: a recovery tool still finds payload.exe
    for name in ("材料.zip", "通知.docx"):
        result = upload(db_session, settings, js, name, truncated)
        assert result.document is None and "损坏" in result.error
    assert nothing_kept(settings)


def test_zip_kind_tells_the_four_cases_apart(tmp_path):
    cases = {"a.zip": make_zip([("a.txt", b"x")]), "a.docx": docx_bytes(), "a.pdf": b"%PDF-1.4\n%%EOF\n",
             "b.pdf": make_zip([("a.txt", b"x")], prefix=b"%PDF-1.4\n")}
    kinds = {}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        kinds[name] = zip_kind(path).kind
    assert kinds == {"a.zip": "archive", "a.docx": "document", "a.pdf": "file", "b.pdf": "refused"}


# ── names ───────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("name, shown", [
    ("run.bat.", "run.bat"), ("run.bat ", "run.bat"), ("run.cmd::$DATA", "run.cmd"), ("x.ps1 ", "x.ps1"),
    ("报告\u202eexe.txt", "报告exe.txt"), ("setup\u200b.exe", "setup.exe"), ("a/b\\run.bat...  ", "run.bat"),
])
def test_names_are_normalised_before_any_rule_looks_at_them(name, shown):
    assert safe_name(name) == shown


@pytest.mark.parametrize("suffix", [".jse", ".wsc", ".sct", ".psm1", ".msc", ".chm", ".iso", ".command", ".rb",
                                    ".xll", ".docm", ".svg", ".url", ".scf", ".inf", ".xls", ".pptx", ""])
def test_only_evidence_formats_are_taken(settings, db_session, js, suffix):
    result = upload(db_session, settings, js, f"材料{suffix}", NOTICE)
    assert result.document is None and "未保存" in result.error
    assert nothing_kept(settings) and refusals(settings)[0]["filename"] == f"材料{suffix}"


@pytest.mark.parametrize("name", ["run.bat.", "run.bat ", "run.cmd::$DATA", "x.ps1 ", "说明\u202e.txt.exe",
                                  "宏.docm.", "a.jse "])
def test_a_dangerous_name_in_disguise_is_refused_under_its_real_name(settings, db_session, js, name):
    result = upload(db_session, settings, js, name, b"@echo off\r\n")
    assert result.document is None and "未保存" in result.error
    assert refusals(settings)[0]["filename"] == safe_name(name)


@pytest.mark.parametrize("name, kept", [("  通知.txt  ", "通知.txt"), ("会议纪要\u2067.txt", "会议纪要.txt"),
                                        ("资料/2023/总结.txt.", "总结.txt")])
def test_the_normalised_name_is_the_one_stored(settings, db_session, js, name, kept):
    result = upload(db_session, settings, js, name, NOTICE)
    assert result.document is not None and stored_names(settings) == [kept]


def test_members_are_stored_under_their_normalised_names(settings, db_session, js):
    result = upload(db_session, settings, js, "材料.zip", make_zip([("文件夹/总结.txt. ", NOTICE),
                                                                   ("文件夹/run.bat.", b"@echo off")]))
    assert stored_names(settings) == ["总结.txt"]
    assert [e["filename"] for e in refusals(settings)] == ["run.bat"]
    assert {m.filename for m in result.members} == {"总结.txt", "run.bat"}


def test_a_download_offers_the_name_windows_would_save(settings, make_user, login, add_evidence):
    make_user("office", "office")
    doc_id = add_evidence("JS", "说明.txt", NOTICE)
    with session_scope(settings.database_url) as session:  # a name stored before the rule
        session.get(Document, doc_id).filename = "说明.txt.\u202e"
        session.commit()
    r = login("office").get(f"/evidence/{doc_id}/download")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and 'filename="__.txt"' in disposition
    assert "filename*=UTF-8''%E8%AF%B4%E6%98%8E.txt" in disposition and "%E2%80%AE" not in disposition


@hsettings(max_examples=400, deadline=None)
@given(st.text())
def test_a_normalised_name_is_safe_and_stable(raw):
    name = safe_name(raw)
    assert name and len(name) <= MAX_NAME and safe_name(name) == name
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name)
    assert not set("/\\:") & set(name) and not name.endswith((".", " "))
    assert file_refusal(raw, b"", 1, 10) == file_refusal(name, b"", 1, 10)


# ── refusals on record ─────────────────────────────────────────────────────

def test_whole_archive_empty_and_oversize_refusals_are_audited(settings, db_session, js):
    upload(db_session, settings, js, "逃逸.zip", make_zip([("../../etc/passwd.txt", NOTICE)]))
    upload(db_session, settings, js, "空.txt", b"")
    small = dataclasses.replace(settings, max_upload_bytes=1024)
    upload(db_session, small, js, "大.txt", NOTICE * 100)
    events = refusals(settings)
    assert [e["filename"] for e in events] == ["逃逸.zip", "空.txt", "大.txt"]
    assert "不安全的路径" in events[0]["reason"] and "为空" in events[1]["reason"] and "超过" in events[2]["reason"]
    with session_scope(settings.database_url) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "upload_refused")).all()
    assert all(r.username == "js" for r in rows)
    assert nothing_kept(settings)
