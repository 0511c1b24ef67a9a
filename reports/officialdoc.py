"""Shared styling for Chinese official documents (公文) built with python-docx.

Layout follows GB/T 9704-2012 closely enough for office staff to accept the
output as a normal 公文-style document: A4, 37/35/28/26 mm margins, 仿宋 三号
body at 22 lines per page, 黑体 headings, 小标宋 titles, page numbers "— 1 —"
(odd pages right, even pages left).

Font names: Word and WPS on the users' Windows machines have 仿宋_GB2312,
黑体, 方正小标宋简体 and 楷体_GB2312, so those are written into the runs.  The
alternatives (仿宋, FangSong, Noto Serif CJK SC, …) are recorded as
``w:altName`` in the font table, which Word/WPS use when the primary font is
missing; ``fontconfig_aliases`` gives LibreOffice on a server the same mapping.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT, WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

# --- fonts -----------------------------------------------------------------

FANGSONG = "仿宋_GB2312"
HEITI = "黑体"
KAITI = "楷体_GB2312"
XIAOBIAOSONG = "方正小标宋简体"
SONGTI = "宋体"

#: primary font -> alternatives, most faithful first.  The last entries are the
#: free fonts found on Linux servers (fonts-noto-cjk, fonts-wqy-zenhei).
FONT_FALLBACKS: dict[str, tuple[str, ...]] = {
    FANGSONG: ("仿宋", "FangSong", "Noto Serif CJK SC", "WenQuanYi Zen Hei"),
    HEITI: ("SimHei", "Noto Sans CJK SC", "WenQuanYi Zen Hei"),
    KAITI: ("楷体", "KaiTi", "Noto Serif CJK SC", "WenQuanYi Zen Hei"),
    XIAOBIAOSONG: ("小标宋", "宋体", "SimSun", "Noto Serif CJK SC", "WenQuanYi Zen Hei"),
    SONGTI: ("SimSun", "Noto Serif CJK SC", "WenQuanYi Zen Hei"),
}
# serif fonts map to 'roman', sans to 'swiss' so substitution picks the right look
_FONT_FAMILY_CLASS = {FANGSONG: "roman", KAITI: "script", XIAOBIAOSONG: "roman", SONGTI: "roman", HEITI: "swiss"}

# --- sizes (Chinese point-size names) ---------------------------------------
ERHAO = Pt(22)   # 二号
SANHAO = Pt(16)  # 三号
SIHAO = Pt(14)   # 四号
XIAOSI = Pt(12)  # 小四
WUHAO = Pt(10.5)  # 五号

RED = RGBColor(0xE0, 0x00, 0x00)
BLACK = RGBColor(0, 0, 0)
ATTENTION = RGBColor(0xC0, 0x00, 0x00)

# 297 mm - 37 - 35 = 225 mm of text height for 22 lines (GB/T 9704 7.2)
BODY_LINE = Pt(28.9)
# characters of 四号 text that fit between the quote indents on one line
_CITATION_ONE_LINE = 28
TEXT_WIDTH = Mm(210 - 28 - 26)


def set_run_font(run, east_asia: str, *, size=None, bold: bool | None = None,
                 color: RGBColor | None = None, ascii_font: str | None = None) -> None:
    """Name the font in every rFonts slot so digits and Latin text follow it too.

    Word picks the eastAsia slot for CJK characters only; without ascii/hAnsi
    the digits in "2023年" would come out in Calibri.
    """
    rpr = run._element.get_or_add_rPr()
    _set_rfonts(rpr, east_asia, ascii_font or east_asia)
    if size is not None:
        run.font.size = size
    if bold is not None:
        run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color


def _set_rfonts(rpr, east_asia: str, ascii_font: str) -> None:
    rfonts = rpr.get_or_add_rFonts()
    for attr in list(rfonts.attrib):
        if attr.endswith("Theme"):  # theme fonts override explicit names
            del rfonts.attrib[attr]
    rfonts.set(qn("w:ascii"), ascii_font)
    rfonts.set(qn("w:hAnsi"), ascii_font)
    rfonts.set(qn("w:cs"), ascii_font)
    rfonts.set(qn("w:eastAsia"), east_asia)
    rfonts.set(qn("w:hint"), "eastAsia")


def fontconfig_aliases() -> str:
    """fontconfig XML that maps the Windows font names onto installed fonts.

    Only for rendering previews with LibreOffice on Linux (see render_pdf); the
    DOCX itself keeps the Windows names.
    """
    blocks = []
    for primary, alternatives in FONT_FALLBACKS.items():
        prefer = "".join(f"<family>{name}</family>" for name in alternatives)
        blocks.append(f'<alias binding="same"><family>{primary}</family><prefer>{prefer}</prefer></alias>')
    return ('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
            '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
            + "".join(blocks) + "</fontconfig>")


# --- small XML helpers --------------------------------------------------------

def _add_field(paragraph: Paragraph, instruction: str, placeholder: str = "1", *, font=None, size=None):
    """Append a complex field (begin / instr / separate / result / end)."""
    def run_with(child):
        run = paragraph.add_run()
        if font:
            set_run_font(run, font, size=size)
        run._element.append(child)
        return run

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    result = paragraph.add_run(placeholder)
    if font:
        set_run_font(result, font, size=size)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _fld_char(paragraph: Paragraph, kind: str) -> None:
    run = paragraph.add_run()
    el = OxmlElement("w:fldChar")
    el.set(qn("w:fldCharType"), kind)
    run._element.append(el)


def _set_bottom_border(paragraph: Paragraph, color: str = "E00000", size_eighths: int = 16) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), str(size_eighths))
    bottom.set(qn("w:space"), "4")
    bottom.set(qn("w:color"), color)
    borders.append(bottom)
    # Word rejects out-of-order pPr children ("unreadable content")
    ppr.insert_element_before(borders, *_PPR_AFTER_PBDR)


def _shade_cell(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.insert_element_before(shd, "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText",
                               "w:vAlign", "w:hideMark", "w:headers", "w:cellIns", "w:cellDel",
                               "w:cellMerge", "w:tcPrChange")


def _repeat_as_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _set_update_fields(settings_el) -> None:
    """<w:updateFields w:val="true"/>, placed where CT_Settings expects it."""
    el = settings_el.find(qn("w:updateFields"))
    if el is None:
        el = OxmlElement("w:updateFields")
        settings_el.insert_element_before(el, *_SETTINGS_AFTER_UPDATE_FIELDS)
    el.set(qn("w:val"), "true")


# Schema successors (ECMA-376 sequences), for inserting children in valid order.
_PPR_AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
    "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
    "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)
_SECTPR_AFTER_PGNUMTYPE = (
    "w:cols", "w:formProt", "w:vAlign", "w:noEndnote", "w:titlePg", "w:textDirection",
    "w:bidi", "w:rtlGutter", "w:docGrid", "w:printerSettings", "w:sectPrChange",
)
_SETTINGS_AFTER_UPDATE_FIELDS = (
    "w:hdrShapeDefaults", "w:footnotePr", "w:endnotePr", "w:compat", "w:docVars", "w:rsids",
    "m:mathPr", "w:attachedSchema", "w:themeFontLang", "w:clrSchemeMapping",
    "w:doNotIncludeSubdocsInStats", "w:doNotAutoCompressPictures", "w:forceUpgrade",
    "w:captions", "w:readModeInkLockDown", "w:smartTagType", "sl:schemaLibrary",
    "w:shapeDefaults", "w:doNotEmbedSmartTags", "w:decimalSymbol", "w:listSeparator",
)


@dataclass
class _Heading:
    text: str
    level: int
    bookmark: str


class OfficialDoc:
    """A python-docx Document preconfigured as a Chinese official document.

    Build top to bottom with the helper methods, then ``save``.  Headings are
    remembered so ``toc`` can list them with live PAGEREF page numbers.
    """

    def __init__(self) -> None:
        self.doc = Document()
        self._headings: list[_Heading] = []
        self._toc_anchor: Paragraph | None = None
        self._bookmark_ids = itertools.count(1)
        self._setup_page(self.doc.sections[0])
        self._setup_styles()
        self._register_font_fallbacks()
        self.doc.settings.odd_and_even_pages_header_footer = True

    # -- setup --------------------------------------------------------------

    @staticmethod
    def _setup_page(section) -> None:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)
        section.header_distance = Mm(15)
        section.footer_distance = Mm(22)

    def _setup_styles(self) -> None:
        styles = self.doc.styles
        # drop theme fonts everywhere: they would beat the names we set
        for rfonts in styles.element.iter(qn("w:rFonts")):
            for attr in list(rfonts.attrib):
                if attr.endswith("Theme"):
                    del rfonts.attrib[attr]
        defaults = styles.element.find(qn("w:docDefaults"))
        rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        _set_rfonts(rpr, FANGSONG, FANGSONG)
        lang = rpr.find(qn("w:lang"))
        lang.set(qn("w:val"), "zh-CN")
        lang.set(qn("w:eastAsia"), "zh-CN")

        normal = styles["Normal"]
        _set_rfonts(normal.element.get_or_add_rPr(), FANGSONG, FANGSONG)
        normal.font.size = SANHAO
        pf = normal.paragraph_format
        pf.space_before = pf.space_after = Pt(0)
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = BODY_LINE
        pf.widow_control = False  # 公文 lines are fixed; widow control shifts lines

        for level, font, size in ((1, HEITI, SANHAO), (2, KAITI, SANHAO), (3, FANGSONG, SANHAO)):
            style = styles[f"Heading {level}"]
            _set_rfonts(style.element.get_or_add_rPr(), font, font)
            style.font.size = size
            style.font.bold = level == 3
            style.font.italic = False
            style.font.color.rgb = BLACK
            spf = style.paragraph_format
            spf.space_before = spf.space_after = Pt(0)
            spf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            spf.line_spacing = BODY_LINE
            spf.first_line_indent = Pt(32)
            spf.keep_with_next = True

        for level in (1, 2, 3):
            style = styles.add_style(f"TOC {level}", WD_STYLE_TYPE.PARAGRAPH) if f"TOC {level}" not in [s.name for s in styles] else styles[f"TOC {level}"]
            style.base_style = normal
            spf = style.paragraph_format
            spf.left_indent = Pt(32 * (level - 1))
            spf.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)

    def _register_font_fallbacks(self) -> None:
        """Add w:font entries with w:altName/charset to word/fontTable.xml."""
        part = next((p for p in self.doc.part.package.iter_parts()
                     if str(p.partname) == "/word/fontTable.xml"), None)
        if part is None:
            return
        from lxml import etree
        root = etree.fromstring(part.blob)
        for primary, alternatives in FONT_FALLBACKS.items():
            font = etree.SubElement(root, qn("w:font"))
            font.set(qn("w:name"), primary)
            # Word/WPS read one alternate name; the full chain is for fontconfig
            alt = etree.SubElement(font, qn("w:altName"))
            alt.set(qn("w:val"), alternatives[0])
            charset = etree.SubElement(font, qn("w:charset"))
            charset.set(qn("w:val"), "86")  # GB2312
            family = etree.SubElement(font, qn("w:family"))
            family.set(qn("w:val"), _FONT_FAMILY_CLASS[primary])
        part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def properties(self, title: str, author: str) -> None:
        """File properties shown by Word/WPS (文件 → 属性) instead of python-docx defaults."""
        import datetime as dt

        props = self.doc.core_properties
        props.title = title
        props.author = props.last_modified_by = author
        props.comments = ""
        props.created = props.modified = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    # -- page furniture -----------------------------------------------------

    def _add_page_numbers(self, section) -> None:
        """Footer "— 1 —": 四号宋体, odd pages right, even pages left (GB/T 9704 7.5)."""
        for footer, align, indent in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right"),
                                      (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left")):
            footer.is_linked_to_previous = False
            p = footer.paragraphs[0]
            p.alignment = align
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            p.paragraph_format.first_line_indent = Pt(0)
            setattr(p.paragraph_format, f"{indent}_indent", Pt(14))
            set_run_font(p.add_run("— "), SONGTI, size=SIHAO)
            _add_field(p, "PAGE", "1", font=SONGTI, size=SIHAO)
            set_run_font(p.add_run(" —"), SONGTI, size=SIHAO)

    def cover(self, title: str, lines: list[str] = (), issuer: str = "", date_text: str = "") -> None:
        """Cover page without a page number; numbering restarts at 1 after it."""
        for _ in range(5):
            self._blank()
        p = self._centered(title, XIAOBIAOSONG, Pt(30), line=Pt(48))
        p.paragraph_format.space_after = Pt(24)
        for line in lines:
            self._centered(line, KAITI, SANHAO)
        for _ in range(9):
            self._blank()
        if issuer:
            self._centered(issuer, FANGSONG, SANHAO)
        if date_text:
            self._centered(date_text, FANGSONG, SANHAO)
        body = self.doc.add_section(WD_SECTION.NEW_PAGE)
        self._setup_page(body)
        pg = OxmlElement("w:pgNumType")
        pg.set(qn("w:start"), "1")
        body._sectPr.insert_element_before(pg, *_SECTPR_AFTER_PGNUMTYPE)

    def masthead(self, name: str, issue_line: str, issuer: str, date_text: str,
                 *, size: float = 36) -> None:
        """Red 版头 of a 简报/专报: red name, 期号, issuer and date, red rule."""
        # a long name (the 专报) is split into two lines of large type
        lines = [name] if len(name) <= 12 else _split_evenly(name)
        for i, text in enumerate(lines):
            p = self._centered(text, XIAOBIAOSONG, Pt(size), line=Pt(size * 1.3), color=RED)
            if i == 0:
                p.paragraph_format.space_before = Pt(12)
        if issue_line:
            p = self._centered(issue_line, FANGSONG, SANHAO)
            p.paragraph_format.space_before = Pt(12)
        p = self.doc.add_paragraph()
        p.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
        p.paragraph_format.space_before = Pt(12)
        set_run_font(p.add_run(issuer), FANGSONG, size=SANHAO)
        set_run_font(p.add_run("\t" + date_text), FANGSONG, size=SANHAO)
        _set_bottom_border(p, "E00000", 18)
        self._blank()

    def title(self, text: str) -> Paragraph:
        """Document title: 小标宋 二号, centered, blank line after."""
        p = self._centered(text, XIAOBIAOSONG, ERHAO, line=Pt(36))
        p.paragraph_format.space_after = Pt(16)
        return p

    # -- contents -------------------------------------------------------------

    def toc(self, title: str = "目　录") -> None:
        """Reserve the place for a 目录; filled in on save once headings are known."""
        self._centered(title, HEITI, Pt(18)).paragraph_format.space_after = Pt(16)
        self._toc_anchor = self.doc.add_paragraph()
        self.page_break()
        _set_update_fields(self.doc.settings.element)

    def _fill_toc(self) -> None:
        """Write a real TOC field whose cached result already lists every heading.

        Word regenerates the field on open (updateFields); WPS on 更新域, which
        the grey hint asks for.  Each cached entry carries a PAGEREF field to the
        heading's bookmark: LibreOffice keeps only cached text inside a TOC, so
        render_pdf unwraps the TOC field and LibreOffice then computes the
        PAGEREF page numbers itself.
        """
        anchor = self._toc_anchor
        entries = [h for h in self._headings if h.level <= 3]
        paragraphs = []
        hint = anchor.insert_paragraph_before()
        hint.alignment = WD_ALIGN_PARAGRAPH.CENTER
        set_run_font(hint.add_run("（如页码有误，请在目录上单击右键，选择“更新域”）"), KAITI, size=XIAOSI,
                     color=RGBColor(0x80, 0x80, 0x80))
        paragraphs.append(hint)
        for h in entries:
            p = anchor.insert_paragraph_before(style=f"TOC {h.level}")
            set_run_font(p.add_run(h.text), HEITI if h.level == 1 else FANGSONG, size=SANHAO)
            set_run_font(p.add_run("\t"), FANGSONG, size=SANHAO)
            _add_field(p, f"PAGEREF {h.bookmark} \\h", "", font=FANGSONG, size=SANHAO)
            paragraphs.append(p)
        # the TOC field begins in the first paragraph and ends in the last one
        first = paragraphs[0]
        begin_runs = OfficialDoc._field_runs(first, 'TOC \\o "1-3" \\h \\z \\u')
        for run in reversed(begin_runs):
            first._p.insert(1 if first._p.pPr is not None else 0, run)
        _fld_char(paragraphs[-1], "end")
        anchor._p.getparent().remove(anchor._p)

    @staticmethod
    def _field_runs(paragraph: Paragraph, instruction: str) -> list:
        runs = []
        for kind, text in (("begin", None), (None, instruction), ("separate", None)):
            r = OxmlElement("w:r")
            if kind:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            else:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = f" {text} "
            r.append(el)
            runs.append(r)
        return runs

    # -- body blocks ---------------------------------------------------------

    def heading(self, text: str, level: int = 1, *, center: bool = False) -> Paragraph:
        p = self.doc.add_paragraph(style=f"Heading {level}")
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.first_line_indent = Pt(0)
        name = f"_Toc{next(self._bookmark_ids):08d}"
        bid = str(len(self._headings) + 1)
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), bid)
        start.set(qn("w:name"), name)
        p._p.append(start)
        font = {1: HEITI, 2: KAITI}.get(level, FANGSONG)
        set_run_font(p.add_run(text), font, size=SANHAO, bold=level == 3)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), bid)
        p._p.append(end)
        self._headings.append(_Heading(text, level, name))
        return p

    def body(self, text: str, *, indent: bool = True) -> list[Paragraph]:
        """One paragraph per line of ``text``, 仿宋三号, 2-character first-line indent."""
        out = []
        for line in _lines(text):
            p = self.doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            if indent:
                p.paragraph_format.first_line_indent = Pt(32)
            set_run_font(p.add_run(line), FANGSONG, size=SANHAO)
            out.append(p)
        return out

    def labelled(self, label: str, text: str) -> Paragraph:
        """"单位：江苏省" style line: bold 黑体 label, 仿宋 value."""
        p = self.doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(32)
        p.paragraph_format.keep_with_next = True  # a label never ends a page alone
        set_run_font(p.add_run(label), HEITI, size=SANHAO)
        set_run_font(p.add_run(text), FANGSONG, size=SANHAO)
        return p

    def quote(self, text: str, citation_line: str, *, attention_note: str | None = None) -> list[Paragraph]:
        """Quoted excerpt in 楷体, indented both sides, citation right-aligned beneath.

        Long excerpts are never shortened: the paragraphs may break across pages.
        ``attention_note`` (may be "") adds a visible 【需核实】 line after the citation.
        """
        out = []
        for line in _lines(text) or [""]:
            p = self.doc.add_paragraph()
            pf = p.paragraph_format
            pf.left_indent = pf.right_indent = Pt(32)
            pf.first_line_indent = Pt(32)
            p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            set_run_font(p.add_run(line), KAITI, size=SANHAO)
            out.append(p)
        cite = self.doc.add_paragraph()
        cpf = cite.paragraph_format
        cpf.keep_together = True
        if len(citation_line) <= _CITATION_ONE_LINE:
            cite.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            cpf.right_indent = Pt(32)
        else:
            # a right-aligned two-line citation looks ragged; hang it after "——"
            cite.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            cpf.left_indent = Pt(32 + 28)
            cpf.right_indent = Pt(32)
            cpf.first_line_indent = Pt(-28)
        set_run_font(cite.add_run(citation_line), FANGSONG, size=SIHAO)
        out.append(cite)
        if attention_note is not None:
            p = self.doc.add_paragraph()
            p.paragraph_format.left_indent = Pt(32)
            label = "【需核实】" + (attention_note or "此摘录已被标记为需要核实，请核对原文。")
            set_run_font(p.add_run(label), HEITI, size=SIHAO, color=ATTENTION)
            out.append(p)
        return out

    def note(self, text: str, *, keep_with_next: bool = False) -> Paragraph:
        """A visible editorial note, e.g. for an empty section."""
        p = self.doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(32)
        p.paragraph_format.keep_with_next = keep_with_next
        set_run_font(p.add_run(text), KAITI, size=SANHAO)
        return p

    def table(self, headers: list[str], rows: list[list], widths_mm: list[float] | None = None,
              *, center_columns: set[int] = frozenset(), size=XIAOSI) -> Table:
        """Grid table, header row shaded and repeated on every page, 仿宋小四 cells."""
        table = self.doc.add_table(rows=1, cols=len(headers))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for i, text in enumerate(headers):
            cell = table.rows[0].cells[i]
            self._cell_text(cell, text, HEITI, center=True, size=size)
            _shade_cell(cell, "D9D9D9")
        _repeat_as_header(table.rows[0])
        for values in rows:
            cells = table.add_row().cells
            for i, value in enumerate(values):
                self._cell_text(cells[i], "" if value is None else str(value), FANGSONG,
                                center=i in center_columns, size=size)
        if widths_mm:
            # LibreOffice lays out by the grid columns, Word by the cell widths
            table.autofit = False
            for column, width in zip(table.columns, widths_mm):
                column.width = Mm(width)
            for row in table.rows:
                for cell, width in zip(row.cells, widths_mm):
                    cell.width = Mm(width)
        self._blank(small=True)
        return table

    @staticmethod
    def _cell_text(cell, text: str, font: str, *, center: bool, size=XIAOSI) -> None:
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        p = cell.paragraphs[0]
        p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        p.paragraph_format.first_line_indent = Pt(0)
        p.paragraph_format.space_before = p.paragraph_format.space_after = Pt(2)
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        set_run_font(p.add_run(text), font, size=size)

    def picture(self, png: bytes, width_mm: float = 150, caption: str | None = None) -> None:
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        # exact line spacing would clip the picture to one text line
        p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        p.paragraph_format.keep_with_next = bool(caption)
        p.add_run().add_picture(io.BytesIO(png), width=Mm(width_mm))
        if caption:
            self._centered(caption, HEITI, SIHAO)

    def page_break(self) -> None:
        p = self.doc.add_paragraph()
        p.add_run().add_break(WD_BREAK.PAGE)

    def _blank(self, small: bool = False) -> Paragraph:
        p = self.doc.add_paragraph()
        if small:
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            p.paragraph_format.line_spacing = Pt(8)
        return p

    def _centered(self, text: str, font: str, size, *, line=None, color=None) -> Paragraph:
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if line is not None:
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            p.paragraph_format.line_spacing = line
        set_run_font(p.add_run(text), font, size=size, color=color)
        return p

    # -- output -----------------------------------------------------------------

    def save(self, out: Path) -> Path:
        if self._toc_anchor is not None:
            self._fill_toc()
            self._toc_anchor = None
        self._add_page_numbers(self.doc.sections[-1])
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.doc.save(out)
        return out


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _split_evenly(text: str) -> list[str]:
    """Split a long masthead at a natural boundary ("协调小组") or in half."""
    for marker in ("协调小组", "工作"):
        at = text.find(marker)
        if 0 < at < len(text) - len(marker):
            return [text[:at], text[at:]]
    half = (len(text) + 1) // 2
    return [text[:half], text[half:]]


_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 23 -> 二十三 (enough for 32 provincial units)."""
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _DIGITS[n // 10] + "十" + (_DIGITS[n % 10] if n % 10 else "")
    return str(n)


def format_score(value: float | None) -> str:
    """92.50 -> "92.5"; None -> "—" (score not yet agreed)."""
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


# --- preview rendering (LibreOffice) --------------------------------------------

def render_pdf(docx_path: Path, out_dir: Path, *, timeout: int = 180) -> Path:
    """Convert a DOCX to PDF with LibreOffice for previews and checks.

    Uses a private LibreOffice profile (parallel runs would fight over the
    default one) and the fontconfig aliases so 仿宋_GB2312 etc. render with the
    installed Noto/WenQuanYi fonts instead of a random fallback.
    Raises FileNotFoundError when soffice is not installed.
    """
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        raise FileNotFoundError("soffice (LibreOffice) is not installed")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-reports-") as profile:
        source = Path(profile) / Path(docx_path).name
        _unwrap_toc_for_libreoffice(Path(docx_path), source)
        conf = Path(profile) / "fonts.conf"
        conf.write_text(fontconfig_aliases(), encoding="utf-8")
        env = dict(os.environ, FONTCONFIG_FILE=str(conf))
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{profile}/user", "--headless",
             "--convert-to", "pdf", "--outdir", str(out_dir), str(source)],
            check=True, env=env, timeout=timeout, capture_output=True,
        )
    pdf = out_dir / (Path(docx_path).stem + ".pdf")
    if not pdf.exists():
        raise RuntimeError(f"LibreOffice produced no PDF for {docx_path}")
    return pdf


def _unwrap_toc_for_libreoffice(src: Path, dst: Path) -> None:
    """Copy a DOCX with its TOC field turned into plain entries + PAGEREF fields.

    LibreOffice shows only the cached text of a TOC field; unwrapped, the
    PAGEREF fields inside are live and get real page numbers.  The hint
    paragraph that carries the field start (meaningful only in Word/WPS) is dropped.
    """
    doc = Document(str(src))
    body = doc.element.body
    stack: list[list] = []  # [begin run, instruction, separate run]
    for el in list(body.iter(qn("w:fldChar"), qn("w:instrText"))):
        run = el.getparent()
        if el.tag == qn("w:instrText"):
            if stack and stack[-1][1] is None:
                stack[-1][1] = (el.text or "").strip()
            continue
        kind = el.get(qn("w:fldCharType"))
        if kind == "begin":
            stack.append([run, None, None])
        elif kind == "end" and stack:
            begin_run, instruction, _ = stack.pop()
            if instruction and instruction.startswith("TOC"):
                hint = begin_run.getparent()
                hint.getparent().remove(hint)
                run.getparent().remove(run)
    doc.save(str(dst))
