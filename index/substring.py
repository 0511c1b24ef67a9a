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

import zlib

from whoosh import query as wq

from index.analysis import fast_fold

# The fields whose text can be searched by substring, in the order of their
# verification forms in the ``texts`` column.
FIELDS = ("title", "issuer", "doc_number", "grams")
COLUMN = "texts"
SEPARATOR = "\x1f"  # str.split() counts it as whitespace, so no verification form contains it
_SEP = SEPARATOR.encode()
_LENGTH = 4          # bytes giving the verification forms' length, before them
ENCODING = ("utf-8", "surrogatepass")  # any str round-trips
COMPRESSION = 1      # zlib level


def verify_form(text: str) -> str:
    """The form literals and field texts are compared in."""
    return "".join(fast_fold(text).split()).lower()


def column_value(texts: dict[str, str]) -> bytes:
    """A passage's ``texts`` column: the verification forms of title, issuer,
    doc_number and text, then the text as written (for display), as one zlib
    stream: beside the folded copy the original costs little, and a check
    stops decompressing where the forms end."""
    forms = SEPARATOR.join(verify_form(texts.get(name) or "") for name in FIELDS).encode(*ENCODING)
    original = (texts.get("text") or "").encode(*ENCODING)
    return zlib.compress(len(forms).to_bytes(_LENGTH, "big") + forms + original, COMPRESSION)


def verification_forms(value: bytes) -> bytes:
    """The verification forms of a ``texts`` column value, decompressing no further."""
    stream = zlib.decompressobj()
    length = int.from_bytes(stream.decompress(value, _LENGTH), "big")
    return stream.decompress(stream.unconsumed_tail, length) if length else b""


def display_text(value: bytes) -> str:
    """The passage text as written, from a ``texts`` column value."""
    payload = zlib.decompress(value)
    return payload[_LENGTH + int.from_bytes(payload[:_LENGTH], "big"):].decode(*ENCODING)


def contains(value: bytes, fieldname: str, needle: bytes) -> bool:
    """Does ``fieldname``'s verification text (inside ``value``) contain ``needle``?

    UTF-8 is self-synchronising, so a byte substring is a character substring."""
    forms = verification_forms(value)
    start = 0
    for name in FIELDS:
        end = forms.find(_SEP, start)
        if end < 0:
            end = len(forms)
        if name == fieldname:
            return forms.find(needle, start, end) >= 0
        start = end + 1
    raise KeyError(fieldname)


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
