"""Why an upload failed, in words its uploader can act on: never a library's exception name, an id or
a program's name; a file whose name promises one format and whose bytes are another says what it is.

Real bad files: truncated PDFs of the public corpus, a PDF header over garbage, a DOCX, a RAR and
random bytes named .pdf, an encrypted PDF, a zero-byte file; each goes through the web upload and
the queue, and the reason is read where the uploader reads it (upload page, live states, viewer).
"""
from __future__ import annotations

import io
import os
import re

import pytest
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Document, DocumentVersion
from ingest.extract import ExtractionError, Limits, extract_file, extract_file_sandboxed
from readable import readable_problems
from shared_data import shared

NO_OCR = Limits(ocr=False)
# An exception or class name as Python prints it: PdfStreamError, KeyError, BadZipFile, FileNotDecryptedError.
LIBRARY_NAME = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]*)+|Error|Exception|Traceback")


def assert_actionable(reason: str, filename: str = "") -> None:
    assert reason and re.search(r"[\u4e00-\u9fff]", reason), reason
    assert not LIBRARY_NAME.search(reason.replace(filename, "")), reason
    assert readable_problems(reason, (filename,) if filename else ()) == [], reason
    assert "请" in reason or reason.startswith("文件为空"), f"no advice: {reason}"


def docx_bytes(text: str) -> bytes:
    import docx
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture
def province(make_user, login):
    make_user("js", "province", unit="JS")
    return login("js")


def upload(client, filename: str, data: bytes):
    return client.post("/evidence/upload", data={"csrf_token": client.csrf, "year": "2023"},
                       files=[("files", (filename, data, "application/pdf"))])


def result_line(page: str, name: str) -> str:
    """The visible text of one file's row in the upload page's results (after the file's name)."""
    table = page.split('<section class="upload-results">')[1].split("</section>")[0]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells and cells[0] == name:
            return " ".join(cells[1:])
    raise AssertionError(f"no row for {name}")


# ── one reader, many real breakages ─────────────────────────────────────────

@pytest.mark.parametrize("cut", [300, 2000, 0.1, 0.5])
def test_a_truncated_pdf_says_it_is_damaged_and_what_to_do_without_the_libraries_words(tmp_path, cut):
    for sample in ("001-trivial/minimal-document.pdf", "009-pdflatex-geotopo/GeoTopo-komprimiert.pdf",
                   "011-google-doc-document/google-doc-document.pdf"):
        data = shared("corpora", "pdf-samples", *sample.split("/")).read_bytes()
        size = cut if isinstance(cut, int) else int(len(data) * cut)
        path = tmp_path / "报告.pdf"
        path.write_bytes(data[:size])
        try:
            extract_file(path, filename="报告.pdf", limits=NO_OCR)
        except ExtractionError as exc:
            assert exc.code == "corrupt", (sample, cut, exc)
            assert exc.reason.startswith("PDF 文件已损坏或不完整")
            assert_actionable(exc.reason)
            assert exc.detail  # what pypdf and PDFium said is kept for the log
        # else: PDFium repaired it (a warning says the content may be incomplete)


def test_a_pdf_header_over_garbage_fails_on_pypdfs_stream_error_which_the_user_never_reads(tmp_path):
    path = tmp_path / "总结.pdf"
    path.write_bytes(b"%PDF-1.4\n" + os.urandom(3000))
    with pytest.raises(ExtractionError) as err:
        extract_file_sandboxed(path, filename="总结.pdf", limits=NO_OCR)
    assert err.value.code == "corrupt"
    assert_actionable(err.value.reason)
    assert "Error" in err.value.detail  # crossed the sandbox for the log


@pytest.mark.parametrize("content,actual", [
    (os.urandom(4000), "无法识别的格式"),
    (b"Rar!\x1a\x07\x00" + os.urandom(500), "RAR 压缩包"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(3000), "已损坏的 Word/WPS 文件"),
], ids=["random", "rar", "broken-ole"])
def test_a_file_named_pdf_whose_bytes_are_something_else_says_what_it_is(tmp_path, content, actual):
    path = tmp_path / "材料.pdf"
    path.write_bytes(content)
    with pytest.raises(ExtractionError) as err:
        extract_file(path, filename="材料.pdf", limits=NO_OCR)
    reason = err.value.reason
    assert reason.startswith("文件扩展名为 .pdf，但内容不是 PDF 文件，实际是") and actual in reason, reason
    assert_actionable(reason)


def test_an_unforeseen_exception_in_a_reader_reaches_the_user_as_a_retry_and_the_log_as_its_name(
        tmp_path, monkeypatch):
    import ingest.extract.pdf as pdf

    def broken(*args, **kwargs):
        raise KeyError("/Root")
    monkeypatch.setattr(pdf, "read_pdf", broken)
    from ingest.sandbox import _child  # the child's catch-all, run in this process to see the patch
    import json
    source = tmp_path / "a.pdf"
    source.write_bytes(b"%PDF-1.4\n%%EOF\n")
    request = tmp_path / "request.json"
    result = tmp_path / "result.json"
    request.write_text(json.dumps({"path": str(source), "filename": "a.pdf", "limits": {"timeout_s": 0, "memory_mb": 0},
                                   "result": str(result)}))
    _child(str(request))
    error = json.loads(result.read_text(encoding="utf-8"))["error"]
    assert error["code"] == "internal" and "重新处理" in error["reason"]
    assert_actionable(error["reason"])
    assert error["detail"] == "KeyError: '/Root'"


# ── where the uploader reads it ─────────────────────────────────────────────

def test_bad_files_uploaded_on_the_web_show_reasons_a_province_can_act_on(settings, province, tmp_path):
    from ingest.queue import drain
    encrypted = shared("corpora", "pdf-samples", "005-libreoffice-writer-password",
                       "libreoffice-writer-password.pdf").read_bytes()
    geotopo = shared("corpora", "pdf-samples", "009-pdflatex-geotopo", "GeoTopo-komprimiert.pdf").read_bytes()
    cases = {  # file name → (bytes, what its reason must say)
        "截断的报告.pdf": (geotopo[: len(geotopo) // 10], "PDF 文件已损坏或不完整"),
        "只有文件头.pdf": (b"%PDF-1.7\n" + os.urandom(2000), "PDF 文件已损坏或不完整"),
        "加密的通知.pdf": (encrypted, "文件已加密"),
        "随机字节.pdf": (os.urandom(3000), "内容不是 PDF 文件"),
    }
    for name, (data, _) in cases.items():
        assert upload(province, name, data).status_code == 200
    drain(settings)
    with session_scope(settings.database_url) as session:
        rows = {d.filename: (d.id, v) for d, v in session.exec(select(Document, DocumentVersion).join(
            DocumentVersion, DocumentVersion.id == Document.current_version_id)).all()}
    for name, (_, expected) in cases.items():
        doc_id, version = rows[name]
        assert version.state == "failed" and expected in version.error, (name, version.error)
        assert_actionable(version.error)
        viewer = province.get(f"/evidence/{doc_id}").text
        shown = re.search(r'<div class="error-text">失败原因：(.*?)</div>', viewer).group(1)
        assert shown == version.error and not LIBRARY_NAME.search(shown)
    states = province.get("/evidence/states", params={"ids": ",".join(str(i) for i, _ in rows.values())}).text
    assert "PdfStreamError" not in states and "PdfReadError" not in states


@pytest.mark.parametrize("name,data,expected", [
    ("空文件.pdf", b"", "文件为空（0 字节）"),
    ("改名的文档.pdf", None, "Word 文档（DOCX），与扩展名 .pdf 不符"),
])
def test_files_refused_at_upload_say_why_on_the_page(settings, province, name, data, expected):
    data = docx_bytes("江苏省总工会关于建设工匠学院的通知") if data is None else data
    page = upload(province, name, data)
    assert page.status_code == 400 and expected in page.text
    line = result_line(page.text, name)
    assert line.startswith("未保存") and expected in line
    assert_actionable(line, name) if "请" in line else None
    assert not LIBRARY_NAME.search(line.replace(name, "")), line


def test_a_duplicate_names_the_existing_file_and_links_it_instead_of_giving_its_number(settings, province):
    first = upload(province, "通知.txt", "江苏省总工会关于建设工匠学院的通知。".encode())
    assert first.status_code == 200
    again = upload(province, "通知-副本.txt", "江苏省总工会关于建设工匠学院的通知。".encode()).text
    notice = result_line(again, "通知-副本.txt")
    assert "“通知.txt”内容完全相同" in notice and notice.endswith("查看已有文件")
    assert not re.search(r"编号|\d", notice), notice


def test_an_internal_failure_of_a_job_names_no_exception_and_no_id(settings, monkeypatch, add_evidence):
    import ingest.stages as stages

    def boom(*args, **kwargs):
        raise KeyError("passage 17")
    monkeypatch.setattr(stages, "_extract_tag_store", boom)
    from ingest.queue import drain
    from ingest.submit import submit
    with session_scope(settings.database_url) as session:
        result = submit(session, settings, io.BytesIO("江苏省产业工人队伍建设改革工作总结。".encode()), "总结.txt",
                        unit_code="JS", year=2023)
        session.commit()
        version_id = result.document.current_version_id
    drain(settings)
    with session_scope(settings.database_url) as session:
        version = session.get(DocumentVersion, version_id)
        assert version.state == "failed" and version.error_code == "internal"
        assert "KeyError" not in version.error and "17" not in version.error
        assert_actionable(version.error)
