"""Render the DOCX outputs once with LibreOffice and check the PDF text.

Slow-ish (one soffice run per document); skipped when LibreOffice or
poppler-utils are not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from test_reports_samples import sample_collection, sample_year_report

from reports.collection import write_collection_docx
from reports.officialdoc import render_pdf
from reports.zhuanbao import write_zhuanbao

pytestmark = [
    pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")),
                       reason="LibreOffice (soffice) not installed: cannot render DOCX to PDF"),
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed"),
]


def pdf_pages(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def squash(text: str) -> str:
    """pdftotext wraps lines and pads with spaces; compare without whitespace."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def collection_pages(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("render_hb")
    docx_path = write_collection_docx(sample_collection(), tmp / "汇编.docx")
    return pdf_pages(render_pdf(docx_path, tmp))


@pytest.fixture(scope="module")
def zhuanbao_pages(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("render_zb")
    docx_path = write_zhuanbao(sample_year_report(), tmp / "专报.docx")
    return pdf_pages(render_pdf(docx_path, tmp))


def test_collection_pdf_has_cover_contents_and_citation(collection_pages):
    c = sample_collection()
    assert len(collection_pages) > 1
    assert squash(c.title) in squash(collection_pages[0])
    whole = squash("".join(collection_pages))
    citation = c.sections[0].entries[0].excerpts[0].citation.line()
    assert squash(citation) in whole
    assert "目录" in squash(collection_pages[1])


def test_collection_toc_page_numbers_point_at_the_headings(collection_pages):
    toc = collection_pages[1]
    for heading in ("二、权益维护", "三、社会评价"):
        line = next(line for line in toc.splitlines() if heading in line)
        number = int(re.search(r"(\d+)\s*$", line).group(1))
        # the cover is unnumbered, so printed page N is physical page N + 1
        target = collection_pages[number]
        assert heading in target, f"{heading} not on printed page {number}"
        assert re.search(rf"—\s*{number}\s*—", target)


def test_zhuanbao_pdf_has_masthead_title_and_citations(zhuanbao_pages):
    report = sample_year_report()
    assert len(zhuanbao_pages) > 1
    first = squash(zhuanbao_pages[0])
    assert "协调小组专报" in first and "第5期" in first
    whole = squash("".join(zhuanbao_pages))
    assert squash(report.units[0].evidence[0].citation.line()) in whole
    assert re.search(r"—\s*1\s*—", zhuanbao_pages[0])
