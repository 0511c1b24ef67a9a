"""What the tagger returns; plain dataclasses so callers can serialise them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class PassageHit:
    page: int
    start: int        # character offsets of the passage in the original text
    end: int
    text: str
    score: float
    matched_terms: list[str] = field(default_factory=list)


@dataclass
class Suggestion:
    no: int
    score: float      # 0..1
    reason: str       # Chinese, for reviewers
    matched_terms: list[str]
    passages: list[PassageHit]   # the best few passages, best first
    support: int = 0             # how many passages of the document carry evidence

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TagResult:
    indicators: list[Suggestion]   # at or above THRESHOLD, best first
    candidates: list[Suggestion]   # the next ones below it
    version: str = ""

    def ranked(self) -> list[Suggestion]:
        return list(self.indicators) + list(self.candidates)
