"""Format detection, text/HTML/OFD readers, hostile inputs and the sandbox (archives: test_archives.py)."""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from ingest.extract import (ExtractionError, Limits, extract_file, extract_file_sandboxed,
                            is_archive, split_passages)
from shared_data import shared

def pdf_sample(*parts: str) -> Path:
    return shared("corpora", "pdf-samples", *parts)


NO_OCR = Limits(ocr=False)
CHINESE = re.compile(r"[\u4e00-\u9fff]")

NOTICE = "关于开展2022年度产改评价工作的通知\n产改字〔2022〕1号\n各省总工会：\n现将有关事项通知如下。\n协调小组办公室\n二〇二二年三月五日\n"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_chinese_error(exc: ExtractionError) -> None:
    assert CHINESE.search(exc.reason), exc.reason
    assert exc.code and exc.code.isascii()


# ------------------------------------------------------------------ text encodings
@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "gb18030", "utf-16", "utf-8-sig"])
def test_text_files_decode_in_chinese_encodings(tmp_path, encoding):
    path = _write(tmp_path, "notice.txt", NOTICE.encode(encoding))
    extraction = extract_file(path)
    assert extraction.format == "txt"
    assert extraction.text.strip() == NOTICE.strip()
    assert extraction.metadata.doc_number == "产改字〔2022〕1号"
    assert extraction.metadata.date == "2022-03-05"


def test_short_gbk_text_is_not_mistaken_for_another_encoding(tmp_path):
    path = _write(tmp_path, "short.txt", "产改工作总结".encode("gbk"))
    assert extract_file(path).text == "产改工作总结"


# ------------------------------------------------------------------ HTML
HTML_PAGE = """<!DOCTYPE html><html><head><meta charset="gbk"><title>江苏推进产改取得新成效_新闻中心_某某网</title>
<script>var nav = "首页 新闻 政务";</script><style>.x{color:red}</style></head><body>
<div class="nav"><a href="/">首页</a> | <a href="/news">新闻中心</a> | <a href="/gov">政务公开</a></div>
<div id="header"><a href="/">某某网 · 工人日报社主办</a></div>
<div class="main"><div class="article"><h1>江苏推进产改取得新成效</h1>
<p>本报讯（记者 王明）近日，江苏省总工会召开全省产业工人队伍建设改革推进会，总结一年来的工作。</p>
<p>会议指出，全省各级工会聚焦思想引领、建功立业、素质提升等改革举措，推动改革向纵深发展。</p>
<p>2022年以来，全省新增高技能人才十余万人，劳模和工匠人才创新工作室达到一千余家。</p></div>
<div class="related"><a href="/a">相关新闻一</a><a href="/b">相关新闻二</a></div></div>
<div class="footer">版权所有 某某网 京ICP备000000号</div></body></html>"""


def test_html_keeps_the_article_and_drops_navigation_and_scripts(tmp_path):
    path = _write(tmp_path, "news.html", HTML_PAGE.encode("gbk"))
    extraction = extract_file(path)
    assert extraction.format == "html"
    text = extraction.text
    assert "全省新增高技能人才十余万人" in text and "本报讯" in text
    for noise in ("首页", "政务公开", "var nav", "color:red", "版权所有", "相关新闻"):
        assert noise not in text
    assert extraction.metadata.title == "江苏推进产改取得新成效"
    assert extraction.metadata.kind == "media"
    assert extraction.metadata.unit_code == "JS"


def test_pdf_named_file_that_is_html_is_read_as_html_with_a_warning(tmp_path):
    path = _write(tmp_path, "report.pdf", HTML_PAGE.encode("gbk"))
    extraction = extract_file(path)
    assert extraction.format == "html"
    assert "全省新增高技能人才十余万人" in extraction.text
    assert any(".pdf" in w and "HTML" in w for w in extraction.warnings)


# ------------------------------------------------------------------ OFD
def test_ofd_invoice_text_is_read_from_text_codes():
    extraction = extract_file(shared("corpora", "ofd", "vat-e-invoice.ofd"))
    assert extraction.format == "ofd"
    assert len(extraction.pages) == 1
    assert "贵州增值税电子专用发票" in extraction.text
    assert "中国移动通信集团贵州有限公司黔南分公司" in extraction.text
    assert "发票代码" in extraction.text  # a template label, not on the page itself
    assert extraction.metadata.date == "2022-05-05"


# ------------------------------------------------------------------ the public PDF corpus
def test_every_sample_pdf_ends_as_text_or_a_chinese_error():
    samples = pdf_sample()
    described = {d["path"]: d for d in json.loads((samples / "files.json").read_text())["data"]}
    outcomes = {}
    for pdf in sorted(samples.rglob("*.pdf")):
        rel = str(pdf.relative_to(samples))
        try:
            extraction = extract_file(pdf, limits=NO_OCR)
        except ExtractionError as exc:
            _assert_chinese_error(exc)
            outcomes[rel] = exc.code
            continue
        outcomes[rel] = "ok"
        expected_pages = described.get(rel, {}).get("pages")
        if expected_pages:
            assert len(extraction.pages) == expected_pages, rel
        assert extraction.text.strip() or extraction.needs_ocr, rel
        for span in split_passages(extraction):
            assert extraction.text[span.start:span.end] == span.text
    assert outcomes["005-libreoffice-writer-password/libreoffice-writer-password.pdf"] == "encrypted"
    assert sum(v == "ok" for v in outcomes.values()) >= 25
    # The image-only samples must be flagged for OCR rather than passed off as empty documents.
    assert outcomes["007-imagemagick-images/imagemagick-lzw.pdf"] == "ok"


def test_scanned_sample_is_flagged_when_ocr_is_off():
    extraction = extract_file(pdf_sample("007-imagemagick-images", "imagemagick-lzw.pdf"), limits=NO_OCR)
    assert extraction.needs_ocr
    assert any("OCR" in w for w in extraction.warnings)


def test_latin_text_layer_is_read_without_ocr():
    extraction = extract_file(pdf_sample("004-pdflatex-4-pages", "pdflatex-4-pages.pdf"), limits=NO_OCR)
    assert not extraction.needs_ocr and extraction.ocr_pages == []
    assert len(extraction.pages) == 4 and "printed" in extraction.text


# ------------------------------------------------------------------ hostile and broken inputs
def test_zero_byte_file(tmp_path):
    with pytest.raises(ExtractionError) as err:
        extract_file(_write(tmp_path, "empty.pdf", b""))
    assert err.value.code == "empty"
    _assert_chinese_error(err.value)


def test_truncated_pdf_is_reported_as_corrupt(tmp_path):
    data = (pdf_sample("004-pdflatex-4-pages", "pdflatex-4-pages.pdf")).read_bytes()
    with pytest.raises(ExtractionError) as err:
        extract_file(_write(tmp_path, "cut.pdf", data[: len(data) // 2]), limits=NO_OCR)
    assert err.value.code == "corrupt"
    _assert_chinese_error(err.value)


def test_file_over_the_configured_size_is_refused_before_parsing(tmp_path):
    path = _write(tmp_path, "big.txt", NOTICE.encode() * 100)
    with pytest.raises(ExtractionError) as err:
        extract_file(path, limits=Limits(max_bytes=1000))
    assert err.value.code == "too_large"
    assert "超过上限" in err.value.reason


def test_unknown_binary_is_unsupported(tmp_path):
    with pytest.raises(ExtractionError) as err:
        extract_file(_write(tmp_path, "x.pdf", bytes(range(256)) * 20))
    assert err.value.code == "unsupported"
    _assert_chinese_error(err.value)


def test_rar_archive_gets_a_specific_message(tmp_path):
    with pytest.raises(ExtractionError) as err:
        extract_file(_write(tmp_path, "材料.rar", b"Rar!\x1a\x07\x00" + b"\x00" * 100))
    assert "RAR" in err.value.reason


# ------------------------------------------------------------------ archives
def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]], **kw) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, **kw) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def test_docx_is_not_an_archive(tmp_path):
    docx_like = _write(tmp_path, "a.docx", _zip([("word/document.xml", b"<w:document/>"), ("[Content_Types].xml", b"")]))
    assert not is_archive(docx_like)


def test_extracting_a_zip_directly_asks_for_expansion(tmp_path):
    path = _write(tmp_path, "a.zip", _zip([("a.txt", b"hello")]))
    with pytest.raises(ExtractionError) as err:
        extract_file(path)
    assert err.value.code == "archive"


# ------------------------------------------------------------------ sandbox
def test_sandbox_returns_the_same_extraction_as_in_process(tmp_path):
    path = _write(tmp_path, "notice.txt", NOTICE.encode("gbk"))
    inside = extract_file(path)
    outside = extract_file_sandboxed(path)
    assert outside.to_dict() == inside.to_dict()


def test_sandbox_passes_errors_through(tmp_path):
    with pytest.raises(ExtractionError) as err:
        extract_file_sandboxed(pdf_sample("005-libreoffice-writer-password", "libreoffice-writer-password.pdf"))
    assert err.value.code == "encrypted"
    assert "加密" in err.value.reason


def test_sandbox_timeout_kills_the_child():
    with pytest.raises(ExtractionError) as err:
        extract_file_sandboxed(pdf_sample("009-pdflatex-geotopo", "GeoTopo.pdf"),
                               limits=Limits(timeout_s=0.05, ocr=False))
    assert err.value.code == "timeout"
    assert "超时" in err.value.reason


def test_sandbox_memory_cap_is_reported_as_memory(tmp_path):
    path = _write(tmp_path, "notice.txt", NOTICE.encode())
    with pytest.raises(ExtractionError) as err:
        extract_file_sandboxed(path, limits=Limits(memory_mb=40))
    assert err.value.code == "memory"
    assert "内存" in err.value.reason


def _xlsx(sheets: dict[str, list[list[str]]]) -> bytes:
    """A minimal workbook as Excel writes it: shared strings, numbers, an inline string."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    strings: list[str] = []
    entries = [("[Content_Types].xml", b"<Types/>")]
    sheet_tags, rels = [], []
    for n, (name, rows) in enumerate(sheets.items(), start=1):
        xml_rows = []
        for r, row in enumerate(rows, start=1):
            cells = []
            for value in row:
                if value.replace(".", "").isdigit():
                    cells.append(f"<c><v>{value}</v></c>")
                elif value.startswith("inline:"):
                    cells.append(f'<c t="inlineStr"><is><t>{value[7:]}</t></is></c>')
                else:
                    strings.append(value)
                    cells.append(f'<c t="s"><v>{len(strings) - 1}</v></c>')
            xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
        entries.append((f"xl/worksheets/sheet{n}.xml",
                        f'<worksheet {ns}><sheetData>{"".join(xml_rows)}</sheetData></worksheet>'.encode()))
        sheet_tags.append(f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>')
        rels.append(f'<Relationship Id="rId{n}" Target="worksheets/sheet{n}.xml"/>')
    entries.append(("xl/workbook.xml", f'<workbook {ns} {rns}><sheets>{"".join(sheet_tags)}</sheets></workbook>'.encode()))
    entries.append(("xl/_rels/workbook.xml.rels", f'<Relationships>{"".join(rels)}</Relationships>'.encode()))
    shared = "".join(f"<si><t>{t}</t></si>" for t in strings)
    entries.append(("xl/sharedStrings.xml", f"<sst {ns}>{shared}</sst>".encode()))
    return _zip(entries)


def test_xlsx_statistics_become_one_page_per_sheet(tmp_path):
    data = _xlsx({"汇总": [["江苏省产改统计表"], ["指标", "数量"], ["新增高技能人才", "102345"]],
                  "明细": [["南京", "inline:完成"]]})
    path = _write(tmp_path, "统计表.xlsx", data)
    assert not is_archive(path)
    extraction = extract_file(path)
    assert extraction.format == "xlsx"
    assert [p.text for p in extraction.pages] == ["汇总\n江苏省产改统计表\n指标 | 数量\n新增高技能人才 | 102345",
                                                  "明细\n南京 | 完成"]
    assert extraction.metadata.kind == "statistics"


def test_presentation_gets_a_clear_unsupported_message(tmp_path):
    path = _write(tmp_path, "汇报.pptx", _zip([("[Content_Types].xml", b""), ("ppt/presentation.xml", b"<p/>")]))
    with pytest.raises(ExtractionError) as err:
        extract_file(path)
    assert err.value.code == "unsupported" and "PowerPoint" in err.value.reason


def test_password_protected_office_file_is_reported_as_encrypted(tmp_path):
    # Encrypted DOCX files are OLE containers holding an "EncryptedPackage" stream.
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000 + "EncryptedPackage".encode("utf-16-le") + b"\0\0" + b"\0" * 500
    with pytest.raises(ExtractionError) as err:
        extract_file(_write(tmp_path, "加密.docx", ole))
    assert err.value.code == "encrypted"


def test_scanned_page_without_tesseract_sets_needs_ocr(monkeypatch):
    import ingest.extract.pdf as pdf
    monkeypatch.setattr(pdf, "tesseract_available", lambda languages: False)
    extraction = extract_file(pdf_sample("007-imagemagick-images", "imagemagick-lzw.pdf"))
    assert extraction.needs_ocr and extraction.ocr_pages == []
    assert any("tesseract" in w for w in extraction.warnings)


def _encrypted_copy(tmp_path: Path, user_password: str) -> Path:
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter(clone_from=PdfReader(str(pdf_sample("004-pdflatex-4-pages", "pdflatex-4-pages.pdf"))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    path = tmp_path / "restricted.pdf"
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def test_owner_password_only_pdf_is_read(tmp_path):
    extraction = extract_file(_encrypted_copy(tmp_path, ""), limits=NO_OCR)
    assert len(extraction.pages) == 4 and "printed" in extraction.text


def test_user_password_pdf_is_encrypted(tmp_path):
    with pytest.raises(ExtractionError) as err:
        extract_file(_encrypted_copy(tmp_path, "user-secret"), limits=NO_OCR)
    assert err.value.code == "encrypted"
    assert err.value.reason.startswith("文件已加密（需要密码），无法读取")


def test_encryption_pypdf_cannot_decrypt_falls_back_to_pdfium(tmp_path, monkeypatch):
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    def no_crypto(self, password):
        raise DependencyError("cryptography is required for AES")
    monkeypatch.setattr(PdfReader, "decrypt", no_crypto)
    extraction = extract_file(_encrypted_copy(tmp_path, ""), limits=NO_OCR)
    assert len(extraction.pages) == 4 and "printed" in extraction.text
    with pytest.raises(ExtractionError) as err:
        extract_file(_encrypted_copy(tmp_path, "user-secret"), limits=NO_OCR)
    assert err.value.code == "encrypted"


def test_ocr_stops_at_the_deadline_and_reports_skipped_pages(monkeypatch):
    import time

    import ingest.extract.pdf as pdf
    monkeypatch.setattr(pdf, "tesseract_available", lambda languages: True)
    monkeypatch.setattr(pdf, "ocr_pdf_page", lambda *a, **k: pytest.fail("OCR started after the deadline"))
    raw = pdf.read_pdf(pdf_sample("007-imagemagick-images", "imagemagick-images.pdf"), Limits(),
                       deadline=time.monotonic() - 1)
    assert raw.needs_ocr
    assert any("处理时间不足" in w and "1–6" in w for w in raw.warnings)


def test_legacy_xls_is_refused_with_advice(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000 + "Workbook".encode("utf-16-le") + b"\0\0" + b"\0" * 500
    with pytest.raises(ExtractionError) as err:
        extract_file(_write(tmp_path, "统计.xls", ole))
    assert err.value.code == "unsupported" and ".xlsx" in err.value.reason
