"""Documents Kaoping produces: 专报, 案例汇编/简报, score workbooks, charts.

Inputs are the plain dataclasses in ``reports.model``; nothing here touches
the database.
"""

from .collection import collection_html, collection_markdown, write_collection_docx
from .model import (
    CaseEntry,
    Citation,
    Collection,
    CollectionSection,
    Excerpt,
    ScoreSheet,
    UnitResult,
    YearReport,
)
from .scores_xlsx import write_scores_xlsx
from .zhuanbao import write_zhuanbao

__all__ = [
    "CaseEntry", "Citation", "Collection", "CollectionSection", "Excerpt", "ScoreSheet",
    "UnitResult", "YearReport", "collection_html", "collection_markdown",
    "write_collection_docx", "write_scores_xlsx", "write_zhuanbao",
]
