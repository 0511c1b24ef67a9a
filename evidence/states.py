"""The one list of processing states, their Chinese labels and the allowed moves.

A document version moves through the ingest stages; its job says whether a worker holds it.
Both are stored as their string values, so rows written before these enums read the same.
"""
from __future__ import annotations

from enum import StrEnum


class VersionState(StrEnum):
    QUEUED = "queued"
    EXTRACTING = "extracting"
    OCR = "ocr"  # kept for rows of older versions; the extractor reports OCR pages instead
    TAGGING = "tagging"
    INDEXED = "indexed"
    FAILED = "failed"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


VERSION_LABELS: dict[str, str] = {
    VersionState.QUEUED: "排队中", VersionState.EXTRACTING: "提取文本", VersionState.OCR: "文字识别",
    VersionState.TAGGING: "指标标注", VersionState.INDEXED: "已入库", VersionState.FAILED: "失败",
}
JOB_LABELS: dict[str, str] = {
    JobState.QUEUED: "等待处理", JobState.RUNNING: "处理中", JobState.DONE: "已完成", JobState.FAILED: "失败",
}

# A version still owed work by the queue; the upload screen keeps polling these.
UNFINISHED: frozenset[str] = frozenset({VersionState.QUEUED, VersionState.EXTRACTING, VersionState.OCR,
                                        VersionState.TAGGING})
FINAL: frozenset[str] = frozenset({VersionState.INDEXED, VersionState.FAILED})

# Allowed moves of a version. A crash may leave a version in any unfinished state; the queue
# resumes it from there (back to queued), never from a final state except by an explicit retry.
VERSION_TRANSITIONS: dict[str, frozenset[str]] = {
    VersionState.QUEUED: frozenset({VersionState.EXTRACTING, VersionState.TAGGING, VersionState.INDEXED,
                                    VersionState.FAILED}),
    VersionState.EXTRACTING: frozenset({VersionState.TAGGING, VersionState.FAILED, VersionState.QUEUED}),
    VersionState.OCR: frozenset({VersionState.TAGGING, VersionState.FAILED, VersionState.QUEUED}),
    VersionState.TAGGING: frozenset({VersionState.INDEXED, VersionState.FAILED, VersionState.QUEUED}),
    VersionState.INDEXED: frozenset(),
    VersionState.FAILED: frozenset({VersionState.QUEUED}),  # retry
}
JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING}),
    JobState.RUNNING: frozenset({JobState.DONE, JobState.FAILED, JobState.QUEUED}),  # queued: lease expired
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset({JobState.QUEUED}),  # retry
}


def can_move(current: str, new: str, transitions: dict[str, frozenset[str]] = VERSION_TRANSITIONS) -> bool:
    return new == current or new in transitions.get(current, frozenset())


class IllegalMove(RuntimeError):
    """A state change the transitions above do not allow: a bug in a stage, never a user's doing."""


def check_move(current: str, new: str, transitions: dict[str, frozenset[str]] = VERSION_TRANSITIONS) -> None:
    if not can_move(current, new, transitions):
        raise IllegalMove(f"不允许的状态变化：{current} → {new}")


def sources_of(new: str, transitions: dict[str, frozenset[str]] = VERSION_TRANSITIONS) -> frozenset[str]:
    """The states a move to `new` may start from (staying in `new` included), for guarded updates."""
    return frozenset({state for state, targets in transitions.items() if new in targets} | {new})
