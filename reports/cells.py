"""Text from users, made safe for a spreadsheet cell: the one escaping rule for every CSV and XLSX
Kaoping writes (the audit log CSV, the score workbook, …).

Excel, WPS and LibreOffice treat a cell starting with = + - @ (or a tab or carriage return
before them) as a formula: a display name like `=HYPERLINK("http://…","点此")` would become a live
link, `=cmd|…` worse. OWASP's rule: prefix such text with an apostrophe so it stays text. Numbers
stay numbers. For XLSX the characters XML cannot carry (control characters) are dropped too —
openpyxl refuses the whole workbook otherwise.
"""
from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def formula_safe(value):
    """A cell's value as written: text that a spreadsheet would read as a formula gets a leading
    apostrophe; None becomes empty text; numbers and other values are left as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def xlsx_safe(value):
    """formula_safe over only the characters an XLSX file can hold; an empty cell stays empty."""
    if isinstance(value, str):
        return formula_safe(XML_ILLEGAL.sub("", value))
    return value
