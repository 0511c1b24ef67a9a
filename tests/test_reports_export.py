"""HTML and Markdown exports of a 汇编 / 简报."""

from __future__ import annotations

from test_reports_samples import LONG_EXCERPT, sample_collection

from reports.collection import EMPTY_SECTION_NOTE, collection_html, collection_markdown


def test_html_escapes_script_in_notes():
    text = collection_html(sample_collection())
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert '<p class="attention">【需核实】&lt;script&gt;' in text


def test_html_escapes_every_data_field():
    c = sample_collection()
    c.title = "<b>标题</b>"
    c.sections[0].entries[0].summary = "<img src=x onerror=alert(1)>"
    c.sections[0].entries[0].excerpts[0].citation.filename = '"><script>'
    text = collection_html(c)
    assert "<b>" not in text and "<img" not in text and '"><script>' not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text


def test_html_keeps_excerpts_whole_with_citation_after_each():
    c = sample_collection()
    text = collection_html(c)
    assert LONG_EXCERPT in text
    for section in c.sections:
        for entry in section.entries:
            for excerpt in entry.excerpts:
                at = text.index(excerpt.text)
                assert text.index(excerpt.citation.line(), at) > at
    assert EMPTY_SECTION_NOTE in text
    assert '<nav class="toc">' in text


def test_briefing_html_has_masthead_and_no_toc():
    text = collection_html(sample_collection("briefing"))
    assert "产改工作简报" in text and "第3期" in text
    assert 'class="toc"' not in text


def test_markdown_quotes_excerpts_and_escapes_html():
    c = sample_collection()
    text = collection_markdown(c)
    assert "<script>" not in text
    assert "> 省总工会联合人社厅开展职工技能提升行动，年度培训职工80万人次。" in text
    assert "> ——摘自：江苏省《关于深化产业工人队伍建设改革的实施意见》（苏产改〔2023〕3号），2023年5月6日，第2页" in text
    assert "## 三、社会评价" in text
    assert "**【需核实】**" in text
