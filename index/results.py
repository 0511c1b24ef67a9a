"""What a search returns: plain data, ready for templates and JSON."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Hit:
    passage_id: str
    document_id: str
    version_id: str
    filename: str
    title: str
    unit: str
    year: int | None
    kind: str
    page: int | None
    start: int
    end: int
    score: float
    snippet_html: str
    indicators: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchResult:
    total: int = 0
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    page: int = 1
    per_page: int = 20
    query_error: str | None = None
    total_is_estimate: bool = False   # very common phrase: total from a verified sample

    def to_dict(self) -> dict:
        return asdict(self)


def hit_from_stored(stored: dict, score: float, snippet: str) -> Hit:
    return Hit(
        passage_id=stored.get("passage_id", ""),
        document_id=stored.get("document_id", ""),
        version_id=stored.get("version_id", ""),
        filename=stored.get("filename", ""),
        title=stored.get("title", ""),
        unit=stored.get("unit", ""),
        year=stored.get("year"),
        kind=stored.get("kind", ""),
        page=stored.get("page"),
        start=stored.get("start", 0),
        end=stored.get("end", 0),
        score=float(score or 0.0),
        snippet_html=snippet,
        indicators=(stored.get("indicators") or "").split(),
    )
