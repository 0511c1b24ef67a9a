"""What a text condition means, in one place: "this text occurs in the field".

Every text literal of a query — a word, a "quoted phrase", ``标题:…`` — means
that its verification form (folded, whitespace removed, lower-cased) is a
substring of the same form of the passage's field. The index answers it in
two steps, both in the executor:

1. candidates: the passages holding every gram term of the literal (the
   ``Substring`` query's words, from ``analysis.gram_tokens``);
2. the check: the literal is looked up in the passage's verification text
   (in the ``texts`` column, written at index time by ``column_value``).

Step 2 is skipped where the terms alone decide (``Substring.exact``): one
bigram or one character, nothing the index does not store (punctuation).
The index keeps no positions: checking the text is exact, and positions of
every character cost more bytes than the text itself.
"""
from __future__ import annotations

from whoosh import query as wq

from index.analysis import fast_fold

# The fields whose text can be searched by substring, in the order their
# verification texts follow the passage text in the ``texts`` column.
FIELDS = ("title", "issuer", "doc_number", "grams")
COLUMN = "texts"
SEPARATOR = "\x1f"  # str.split() counts it as whitespace, so no verification form contains it
_SEP = SEPARATOR.encode()
_LENGTH = 4          # bytes of the passage text's length, before it
ENCODING = ("utf-8", "surrogatepass")  # any str round-trips


def verify_form(text: str) -> str:
    """The form literals and field texts are compared in."""
    return "".join(fast_fold(text).split()).lower()


def column_value(texts: dict[str, str]) -> bytes:
    """A passage's ``texts`` column: its text as written (for display), then the
    verification forms of title, issuer, doc_number and text. Compressed as
    one value, the folded copy of the text costs little beside the original."""
    original = (texts.get("text") or "").encode(*ENCODING)
    forms = SEPARATOR.join(verify_form(texts.get(name) or "") for name in FIELDS).encode(*ENCODING)
    return len(original).to_bytes(_LENGTH, "big") + original + forms


def display_text(value: bytes) -> str:
    """The passage text as written, from a ``texts`` column value."""
    end = _LENGTH + int.from_bytes(value[:_LENGTH], "big")
    return value[_LENGTH:end].decode(*ENCODING)


def part_range(value: bytes, fieldname: str) -> tuple[int, int]:
    """(start, end) of ``fieldname``'s verification text inside a ``texts`` column value."""
    start = _LENGTH + int.from_bytes(value[:_LENGTH], "big")
    for name in FIELDS:
        end = value.find(_SEP, start)
        if end < 0:
            end = len(value)
        if name == fieldname:
            return start, end
        start = end + 1
    raise KeyError(fieldname)


def contains(value: bytes, fieldname: str, needle: bytes) -> bool:
    """Does ``fieldname``'s verification text (inside ``value``) contain ``needle``?

    UTF-8 is self-synchronising, so a byte substring is a character substring."""
    start, end = part_range(value, fieldname)
    return value.find(needle, start, end) >= 0


class Substring(wq.Phrase):
    """Passages whose ``fieldname`` text contains ``literal`` (its verification form).

    A ``Phrase`` of the literal's gram terms, so Whoosh sees a query it knows;
    the executor reads ``literal`` and ``exact`` and never asks Whoosh to run it.
    """

    def __init__(self, fieldname: str, terms: list[str], literal: str, exact: bool):
        super().__init__(fieldname, terms)
        self.literal = literal
        self.needle = literal.encode(*ENCODING)
        self.exact = exact

    def __repr__(self) -> str:
        return f"Substring({self.fieldname!r}, {self.literal!r}, exact={self.exact})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Substring) and (self.fieldname, self.literal, self.words) == (
            other.fieldname, other.literal, other.words)

    def __hash__(self) -> int:
        return hash((self.fieldname, self.literal, tuple(self.words)))
