"""Indicator tagger: which of the 88 indicators a document is evidence for.

    from tagging import tag_text, tag_passages
    result = tag_text(text)          # TagResult(indicators=[Suggestion…], candidates=[…])

Rules (rubrics/vocabulary.yaml) score each passage; the document score comes
from the passages; a per-year model learned from reviewer feedback is blended in
when one exists.  See docs/tagging.md.
"""
from tagging.results import PassageHit, Suggestion, TagResult
from tagging.rules import default_rulebook
from tagging.tagger import THRESHOLD, Tagger, default_tagger, tag_passages, tag_text


def _version() -> str:
    from tagging.learned import MODEL_FORMAT
    return f"{default_rulebook().version}+{MODEL_FORMAT}"


TAGGER_VERSION = _version()

__all__ = ["TAGGER_VERSION", "THRESHOLD", "PassageHit", "Suggestion", "TagResult", "Tagger",
           "default_tagger", "tag_passages", "tag_text"]
