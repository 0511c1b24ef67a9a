"""Real office documents: DOCX, LibreOffice conversions (PDF/DOC/RTF) and OCR.

One red-header official document is generated with python-docx; LibreOffice
turns it into PDF and DOC once per module. Text extracted from every form must
match the source (character error rate, whitespace ignored) with no running
header or page number leaking into the body.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from ingest.extract import ExtractionError, Limits, extract_file, split_passages
from ingest.extract.office import convert_with_soffice
from shared_data import seed_text

RUNNING_HEADER = "产改工作专用页眉"
ISSUER = "江苏省推进产业工人队伍建设改革协调小组"
TITLE = "关于做好2022年度产业工人队伍建设改革评价工作的通知"
DOC_NUMBER_AS_TYPED = "苏产改字[2022] 3号"

needs_soffice = pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")),
                                   reason="未安装 LibreOffice（soffice），跳过格式转换测试")
needs_tesseract = pytest.mark.skipif(not shutil.which("tesseract"), reason="未安装 tesseract，跳过 OCR 测试")


def _body_paragraphs() -> list[str]:
    lines = [ln.strip() for ln in seed_text().splitlines()]
    return [ln for ln in lines if len(ln) > 50][:14]


def _add_page_number_footer(section) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    para = section.footer.paragraphs[0]
    para.add_run("— ")
    run = para.add_run()
    for kind, instr in (("begin", None), (None, " PAGE "), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = instr
        run._r.append(el)
    para.add_run(" —")


def make_official_docx(path: Path) -> list[str]:
    """Write the document; returns its body paragraphs in order (the expected text)."""
    import docx
    from docx.shared import Pt, RGBColor

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = RUNNING_HEADER
    _add_page_number_footer(section)
    red = document.add_paragraph().add_run(f"{ISSUER}文件")
    red.font.color.rgb = RGBColor(0xFF, 0, 0)
    red.font.size = Pt(22)
    paragraphs = [f"{ISSUER}文件", DOC_NUMBER_AS_TYPED, TITLE, "各设区市推进产业工人队伍建设改革领导机构：",
                  "2022年3月5日，协调小组召开会议，研究部署年度评价工作。"]
    for text in paragraphs[1:]:
        document.add_paragraph(text)
    body = _body_paragraphs()
    table_rows = [("指标", "完成情况"), ("高技能人才", "新增十万人")]
    for text in body[:6]:
        document.add_paragraph(text)
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate(table_rows):
        for c, cell in enumerate(row):
            table.cell(r, c).text = cell
    for text in body[6:]:
        document.add_paragraph(text)
    closing = [ISSUER, "二〇二二年三月五日"]
    for text in closing:
        document.add_paragraph(text)
    document.save(path)
    return paragraphs + body[:6] + [" | ".join(r) for r in table_rows] + body[6:] + closing


def cer(expected: str, actual: str) -> float:
    a, b = re.sub(r"\s", "", expected), re.sub(r"\s", "", actual)
    return Levenshtein.distance(a, b) / max(1, len(a))


@pytest.fixture(scope="module")
def official(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("official")
    docx_path = root / "notice.docx"
    expected = make_official_docx(docx_path)
    return {"docx": docx_path, "expected": expected, "root": root}


@pytest.fixture(scope="module")
def converted(official) -> dict:
    """PDF and DOC of the same document, one soffice call each."""
    if not (shutil.which("soffice") or shutil.which("libreoffice")):
        pytest.skip("未安装 LibreOffice（soffice），跳过格式转换测试")
    out = official["root"] / "converted"
    out.mkdir()
    convert_with_soffice([official["docx"]], out, "pdf", timeout_s=120)
    convert_with_soffice([official["docx"]], out, "doc:MS Word 97", timeout_s=120)
    return {"pdf": out / "notice.pdf", "doc": out / "notice.doc"}


def _check_official_metadata(meta) -> None:
    assert meta.doc_number == "苏产改字〔2022〕3号"
    assert meta.title == TITLE
    assert meta.issuer == ISSUER
    assert meta.date == "2022-03-05"
    assert meta.kind == "notice"
    assert meta.unit_code == "JS"


# ------------------------------------------------------------------ DOCX
def test_docx_body_tables_and_header_once(official):
    extraction = extract_file(official["docx"])
    assert extraction.format == "docx"
    assert extraction.pages[0].no == 1
    assert extraction.text.count(RUNNING_HEADER) == 1
    body = extraction.text.split("\n", 1)[1]  # after the header line
    assert cer("\n".join(official["expected"]), body) == 0
    assert "高技能人才 | 新增十万人" in extraction.text  # table rows in document order
    _check_official_metadata(extraction.metadata)
    for span in split_passages(extraction):
        assert extraction.text[span.start:span.end] == span.text


def test_docx_explicit_page_breaks_make_pages(tmp_path):
    import docx
    from docx.enum.text import WD_BREAK
    document = docx.Document()
    document.add_paragraph("第一页的内容。")
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_paragraph("第二页的内容。")
    path = tmp_path / "two.docx"
    document.save(path)
    extraction = extract_file(path)
    assert [p.text for p in extraction.pages] == ["第一页的内容。", "第二页的内容。"]
    assert extraction.page_starts == [0, len("第一页的内容。") + 2]


def test_docx_text_box_is_read_once(tmp_path):
    """Red headers are often text boxes stored twice (DrawingML choice + VML fallback)."""
    import docx
    from lxml import etree
    document = docx.Document()
    paragraph = document.add_paragraph("正文开始。")
    paragraph._p.append(etree.fromstring(
        '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml"><mc:AlternateContent>'
        '<mc:Choice Requires="wps"><w:drawing><wps:txbx><w:txbxContent><w:p><w:r><w:t>江苏省总工会文件</w:t></w:r>'
        '</w:p></w:txbxContent></wps:txbx></w:drawing></mc:Choice>'
        '<mc:Fallback><w:pict><v:textbox><w:txbxContent><w:p><w:r><w:t>江苏省总工会文件</w:t></w:r></w:p>'
        '</w:txbxContent></v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r>'))
    path = tmp_path / "box.docx"
    document.save(path)
    extraction = extract_file(path)
    assert extraction.text == "正文开始。\n江苏省总工会文件"
    assert extraction.metadata.issuer == "江苏省总工会"


# ------------------------------------------------------------------ PDF from LibreOffice
@needs_soffice
def test_pdf_text_matches_source_without_headers_or_page_numbers(official, converted):
    extraction = extract_file(converted["pdf"], limits=Limits(ocr=False))
    assert extraction.format == "pdf"
    assert len(extraction.pages) >= 2, "the fixture should span pages so header removal is exercised"
    assert not extraction.ocr_pages and not extraction.needs_ocr
    assert RUNNING_HEADER not in extraction.text
    assert not re.search(r"—\s*\d+\s*—", extraction.text)
    assert cer("\n".join(official["expected"]), extraction.text) < 0.01
    assert "2022年3月5日" in extraction.text  # pypdf's "2022 年" space is gone
    # Wrapped lines are re-joined: a source paragraph is one line, or two where a page break cuts it
    # (the 22-point red header wraps once more).
    lines = [ln for page in extraction.pages for ln in page.text.split("\n")]
    assert len(lines) <= len(official["expected"]) + len(extraction.pages)
    _check_official_metadata(extraction.metadata)


@needs_soffice
def test_doc_through_libreoffice(official, converted):
    extraction = extract_file(converted["doc"])
    assert extraction.format == "doc"
    assert cer("\n".join(official["expected"]), extraction.text) < 0.01
    _check_official_metadata(extraction.metadata)


@needs_soffice
def test_rtf_through_libreoffice(tmp_path):
    def rtf_escape(text: str) -> str:
        return "".join(c if ord(c) < 128 else f"\\u{ord(c) if ord(c) < 32768 else ord(c) - 65536}?" for c in text)
    lines = [TITLE, "产改字〔2022〕1号", "各地要结合实际抓好落实。"]
    body = "\\par\n".join(rtf_escape(ln) for ln in lines)
    path = tmp_path / "notice.rtf"
    path.write_text("{\\rtf1\\ansi\\ansicpg936{\\fonttbl{\\f0 SimSun;}}\\f0\n" + body + "\\par\n}", encoding="ascii")
    extraction = extract_file(path)
    assert extraction.format == "rtf"
    assert extraction.text.split("\n") == lines
    assert extraction.metadata.doc_number == "产改字〔2022〕1号"


def test_missing_libreoffice_is_a_clear_error(tmp_path, monkeypatch):
    import ingest.extract.office as office
    monkeypatch.setattr(office, "soffice_path", lambda: None)
    path = tmp_path / "a.rtf"
    path.write_text("{\\rtf1\\ansi hello\\par}", encoding="ascii")
    with pytest.raises(ExtractionError) as err:
        extract_file(path)
    assert err.value.code == "needs_libreoffice"
    # The uploader reads what to do; the operator's log names the missing program.
    assert "另存为 DOCX 或 PDF" in err.value.reason and "LibreOffice" in err.value.detail


# ------------------------------------------------------------------ OCR
@pytest.fixture(scope="module")
def scanned(converted, official) -> dict:
    """Page 1 of the PDF as a 300 dpi image, and as an image-only PDF (a 'scan')."""
    import pypdfium2 as pdfium
    doc = pdfium.PdfDocument(str(converted["pdf"]))
    image = doc[0].render(scale=300 / 72, grayscale=True).to_pil()
    png = official["root"] / "page1.png"
    image.save(png)
    scan_pdf = official["root"] / "scan.pdf"
    image.convert("RGB").save(scan_pdf, resolution=300)
    layer = extract_file(converted["pdf"], limits=Limits(ocr=False)).pages[0].text
    # A single scanned page has no sibling pages to reveal its running header, so it stays.
    return {"png": png, "pdf": scan_pdf, "page1_text": f"{RUNNING_HEADER}\n{layer}"}


@needs_tesseract
@needs_soffice
def test_image_ocr_reads_chinese_without_spaces(scanned):
    extraction = extract_file(scanned["png"])
    assert extraction.format == "image" and extraction.ocr_pages == [1] and extraction.pages[0].ocr
    assert cer(scanned["page1_text"], extraction.text) < 0.03
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", extraction.text)


@needs_tesseract
@needs_soffice
def test_scanned_pdf_page_goes_to_ocr(scanned):
    extraction = extract_file(scanned["pdf"])
    assert extraction.ocr_pages == [1] and not extraction.needs_ocr
    assert cer(scanned["page1_text"], extraction.text) < 0.03
    assert extraction.metadata.doc_number == "苏产改字〔2022〕3号"
