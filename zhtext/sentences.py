"""Joining Chinese sentences: the one rule that keeps "。。" and "。）" out of what people read.

Reasons, failure messages and people's own words (a withdrawal reason) usually end with 。 already; a
message that puts one of them inside a longer sentence — "原因：{reason}。", "（{error}）" — must take that
full stop off first. `clause` does so; `sentence` gives exactly one full stop at the end.
"""
from __future__ import annotations

# What may close a sentence, Chinese and Western (people type either), with the spaces after it.
SENTENCE_ENDS = "。．.！!？?；;，,、"


def clause(text: str | None) -> str:
    """The text as part of a longer sentence: no closing punctuation, no surrounding whitespace."""
    return (text or "").strip().rstrip(SENTENCE_ENDS + " \t\r\n\u3000")


def sentence(text: str | None) -> str:
    """The text as one sentence with exactly one closing mark: 。, or the ？/！ it ended with; '' stays ''."""
    body = (text or "").strip()
    mark = body[-1] if body[-1:] in ("？", "?", "！", "!") else "。"
    trimmed = clause(body)
    return trimmed + mark if trimmed else ""
