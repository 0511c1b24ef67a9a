"""Full-text search over evidence passages (Whoosh, Chinese-aware).

Public API: ``EvidenceIndex``, ``SearchResult``, ``Hit``, ``SearchQueryError``,
``IndexNeedsRebuild``, ``IndexBusyError``, ``SCHEMA_VERSION``.
"""
from __future__ import annotations

from index.evidence_index import EvidenceIndex, IndexNeedsRebuild
from index.results import Hit, SearchResult
from index.schema import schema_version
from index.writer import IndexBusyError


class SearchQueryError(ValueError):
    """Reserved for callers that want to raise on a bad query themselves.

    ``EvidenceIndex.search`` never raises it: problems come back as
    ``SearchResult.query_error``.
    """


SCHEMA_VERSION = schema_version()

__all__ = ["EvidenceIndex", "Hit", "SearchResult", "SearchQueryError", "IndexNeedsRebuild",
           "IndexBusyError", "SCHEMA_VERSION", "schema_version"]
