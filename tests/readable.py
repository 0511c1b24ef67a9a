"""What counts as unreadable in text a person reads: English words, unit codes, raw ids."""
from __future__ import annotations

import re

from rubrics.indicators import load_units

# Latin text a person may legitimately read: format and size names, the search syntax's OR, and
# Chinese document-number prefixes never contain Latin letters, so they need no entry.
ALLOWED_WORDS = {"PDF", "Word", "WPS", "Excel", "ZIP", "OCR", "KB", "MB", "GB", "OR", "DOCX", "XLSX",
                 "DOC", "RTF", "ODT", "OFD", "HTML", "TXT", "RAR"}
RAW_ID = re.compile(r"\b(?:user|collection|document|passage|version|entry)[-_ ]?\d+\b|用户 ?\d+\b"
                    r"|(?<!指标)编号[ ：:（(]*\d+|条目 ?\d+|None|null|undefined", re.I)
# A file name's extension is the format's name, like PDF above (also on its own: “扩展名为 .pdf”); the name
# before it is still checked.
EXTENSION = re.compile(r"(?<!\.)\.(?:txt|pdf|docx?|wps|xlsx?|ofd|zip|html?|jpe?g|png|tiff?|rtf|odt|md|csv)(?![A-Za-z0-9])", re.I)
UNIT_CODES = {u.code for u in load_units()}


def readable_problems(text: str, excused: tuple[str, ...]) -> list[str]:
    """English words, unit codes and raw ids in the visible text of a page. `excused` are names people
    chose themselves (login names, a file they uploaded); the demo's own file names are not excused."""
    for name in excused:
        text = text.replace(name, "")
    text = EXTENSION.sub("", text)
    problems = [m.group(0) for m in RAW_ID.finditer(text)]
    for word in re.findall(r"[A-Za-z][A-Za-z_]*", text):
        if word in UNIT_CODES:
            problems.append(f"单位代码 {word}")
        elif word not in ALLOWED_WORDS:
            problems.append(word)
    return problems
