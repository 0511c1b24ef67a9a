"""案例汇编 and 工作简报 (indicator 19: 编发简报、专报、案例汇编) as DOCX, HTML, Markdown.

A ``Collection`` with kind="collection" becomes a bound 汇编 (cover, 目录,
前言, sections, entries with quoted excerpts); kind="briefing" becomes a
short 简报 with a red masthead and no contents page.
"""

from __future__ import annotations

import html
from pathlib import Path

from .model import CaseEntry, Collection, Excerpt, format_cn_date
from .officialdoc import OfficialDoc, cn_number

BRIEFING_MASTHEAD = "产改工作简报"
EMPTY_SECTION_NOTE = "（本部分暂无入选案例。）"
ATTENTION_LABEL = "【需核实】"


def section_heading(index: int, title: str) -> str:
    return f"{cn_number(index)}、{title}"


def entry_heading(index: int, title: str) -> str:
    return f"（{cn_number(index)}）{title}"


def _attention(excerpt: Excerpt) -> str | None:
    """The note to show for a flagged excerpt; None when not flagged."""
    return excerpt.note if excerpt.needs_attention else None


# --- DOCX ------------------------------------------------------------------------

def write_collection_docx(c: Collection, out: Path) -> Path:
    """Write the 汇编 (or 简报 when c.kind == 'briefing') and return its path."""
    if c.kind == "briefing":
        return _write_briefing(c, out)
    doc = OfficialDoc()
    doc.properties(c.title, c.issuer)
    date_text = format_cn_date(c.date) or f"{c.year}年"
    doc.cover(c.title, [f"（{c.year}年度）"], c.issuer, date_text)
    doc.toc()
    if c.preface.strip():
        doc.heading("前　言", 1, center=True)
        doc.body(c.preface)
    for s_index, section in enumerate(c.sections, 1):
        if s_index > 1 or c.preface.strip():
            doc.page_break()  # each part of a 汇编 starts on a new page
        doc.heading(section_heading(s_index, section.title), 1)
        if not section.entries:
            doc.note(EMPTY_SECTION_NOTE)
        for e_index, entry in enumerate(section.entries, 1):
            _write_entry(doc, entry_heading(e_index, entry.case_title), entry)
    return doc.save(out)


def _write_entry(doc: OfficialDoc, heading: str, entry: CaseEntry, level: int = 2) -> None:
    doc.heading(heading, level)
    doc.labelled("单位：", entry.unit_name)
    if entry.indicator_labels:
        doc.labelled("对应指标：", "；".join(entry.indicator_labels))
    doc.body(entry.summary)
    for excerpt in entry.excerpts:
        doc.quote(excerpt.text, excerpt.citation.line(), attention_note=_attention(excerpt))


def _write_briefing(c: Collection, out: Path) -> Path:
    doc = OfficialDoc()
    doc.properties(c.title, c.issuer)
    issue = f"第{c.issue_no}期" if c.issue_no is not None else ""
    doc.masthead(BRIEFING_MASTHEAD, issue, c.issuer, format_cn_date(c.date) or f"{c.year}年")
    doc.title(c.title)
    doc.body(c.preface)
    for section in c.sections:
        # 简报 columns are shown as 【栏目】 rather than numbered chapters
        doc.heading(f"【{section.title}】", 1)
        if not section.entries:
            doc.note(EMPTY_SECTION_NOTE)
        for entry in section.entries:
            _write_entry(doc, entry.case_title, entry, level=3)
    return doc.save(out)


# --- HTML ------------------------------------------------------------------------

def collection_html(c: Collection) -> str:
    """Self-contained HTML fragment; every data string is escaped (notes too)."""
    e = html.escape
    parts = [f'<article class="kp-collection kp-{e(c.kind)}">']
    if c.kind == "briefing":
        parts.append(f'<header class="masthead"><h1>{e(BRIEFING_MASTHEAD)}</h1>')
        if c.issue_no is not None:
            parts.append(f'<p class="issue">第{c.issue_no}期</p>')
        parts.append(f'<p class="issuer">{e(c.issuer)}　{e(format_cn_date(c.date))}</p></header>')
        parts.append(f"<h2>{e(c.title)}</h2>")
    else:
        parts.append(f'<header><h1>{e(c.title)}</h1><p class="issuer">{e(c.issuer)}　'
                     f'{e(format_cn_date(c.date) or str(c.year) + "年")}</p></header>')
        if c.sections:
            parts.append('<nav class="toc"><h2>目录</h2><ol>')
            parts.extend(f'<li><a href="#s{i}">{e(s.title)}</a></li>' for i, s in enumerate(c.sections, 1))
            parts.append("</ol></nav>")
    if c.preface.strip():
        parts.append('<section class="preface">')
        parts.extend(f"<p>{e(line)}</p>" for line in c.preface.splitlines() if line.strip())
        parts.append("</section>")
    for i, section in enumerate(c.sections, 1):
        title = section_heading(i, section.title) if c.kind != "briefing" else f"【{section.title}】"
        parts.append(f'<section id="s{i}"><h2>{e(title)}</h2>')
        if not section.entries:
            parts.append(f'<p class="empty">{e(EMPTY_SECTION_NOTE)}</p>')
        for j, entry in enumerate(section.entries, 1):
            heading = entry_heading(j, entry.case_title) if c.kind != "briefing" else entry.case_title
            parts.append(f'<div class="entry"><h3>{e(heading)}</h3>'
                         f'<p class="unit">单位：{e(entry.unit_name)}</p>')
            if entry.indicator_labels:
                parts.append(f'<p class="indicators">对应指标：{e("；".join(entry.indicator_labels))}</p>')
            parts.extend(f"<p>{e(line)}</p>" for line in entry.summary.splitlines() if line.strip())
            for excerpt in entry.excerpts:
                parts.append(_excerpt_html(excerpt))
            parts.append("</div>")
        parts.append("</section>")
    parts.append("</article>")
    return "\n".join(parts)


def _excerpt_html(excerpt: Excerpt) -> str:
    e = html.escape
    cite = excerpt.citation
    body = "".join(f"<p>{e(line)}</p>" for line in excerpt.text.splitlines() if line.strip())
    source = e(cite.line())
    if cite.filename:
        source = f'<span title="{e(cite.filename)}">{source}</span>'
    out = f'<blockquote class="excerpt">{body}<footer class="citation">{source}</footer></blockquote>'
    note = _attention(excerpt)
    if note is not None:
        out += f'<p class="attention">{e(ATTENTION_LABEL)}{e(note)}</p>'
    return out


# --- Markdown ----------------------------------------------------------------------

def _md(text: str) -> str:
    """Escape what Markdown renderers would turn into HTML or markup."""
    text = html.escape(text, quote=False)
    for ch in "\\`*_[]#|":
        text = text.replace(ch, "\\" + ch)
    return text


def collection_markdown(c: Collection) -> str:
    lines = []
    if c.kind == "briefing":
        lines += [f"# {BRIEFING_MASTHEAD}", ""]
        if c.issue_no is not None:
            lines += [f"第{c.issue_no}期", ""]
        lines += [f"{_md(c.issuer)}　{format_cn_date(c.date)}", "", f"## {_md(c.title)}", ""]
    else:
        lines += [f"# {_md(c.title)}", "", f"{_md(c.issuer)}　{format_cn_date(c.date) or str(c.year) + '年'}", ""]
    lines += [_md(line) + "\n" for line in c.preface.splitlines() if line.strip()]
    for i, section in enumerate(c.sections, 1):
        title = section_heading(i, section.title) if c.kind != "briefing" else f"【{section.title}】"
        lines += [f"## {_md(title)}", ""]
        if not section.entries:
            lines += [EMPTY_SECTION_NOTE, ""]
        for j, entry in enumerate(section.entries, 1):
            heading = entry_heading(j, entry.case_title) if c.kind != "briefing" else entry.case_title
            lines += [f"### {_md(heading)}", "", f"单位：{_md(entry.unit_name)}", ""]
            if entry.indicator_labels:
                lines += [f"对应指标：{_md('；'.join(entry.indicator_labels))}", ""]
            lines += [_md(line) + "\n" for line in entry.summary.splitlines() if line.strip()]
            for excerpt in entry.excerpts:
                lines += [f"> {_md(line)}" for line in excerpt.text.splitlines() if line.strip()]
                lines += [">", f"> {_md(excerpt.citation.line())}", ""]
                note = _attention(excerpt)
                if note is not None:
                    lines += [f"**{ATTENTION_LABEL}**{_md(note)}", ""]
    return "\n".join(lines).rstrip() + "\n"
