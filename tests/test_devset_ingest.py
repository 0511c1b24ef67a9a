"""Every real public document of the development set (policy pages pasted as raw HTML, traditional text
with pinyin garbling, site junk, tables) ingests without an internal error and is found by a
distinctive phrase of its own. Skips without ../shared/devset."""
from __future__ import annotations

import io
import re

from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Document, DocumentVersion, Passage
from index.feed import open_index
from ingest.check import check
from ingest.queue import drain
from ingest.submit import submit
from shared_data import shared

RUN = re.compile(r"[\u4e00-\u9fff]{12,}")


def _distinctive_phrase(text: str, others: list[str]) -> str | None:
    """A run of twelve characters from the middle of the text that no other document has."""
    runs = RUN.findall(text)
    runs = runs[len(runs) // 2:] + runs[:len(runs) // 2]
    for run in runs:
        for start in range(0, len(run) - 11, 4):
            phrase = run[start:start + 12]
            if not any(phrase in other for other in others):
                return phrase
    return None


def test_every_devset_document_ingests_and_is_found_by_its_own_phrase(settings):
    corpus = shared("devset", "corpus")
    files = sorted(corpus.glob("*.txt"))
    assert len(files) >= 100
    with session_scope(settings.database_url) as session:
        for path in files:
            result = submit(session, settings, io.BytesIO(path.read_bytes()), path.name, unit_code="JS", year=2023)
            assert result.document is not None or result.duplicate_of is not None, (path.name, result.error)
        session.commit()
    drain(settings)
    with session_scope(settings.database_url) as session:
        rows = session.exec(select(Document, DocumentVersion).join(
            DocumentVersion, DocumentVersion.id == Document.current_version_id)).all()
        failed = [(d.filename, v.error) for d, v in rows if v.state != "indexed"]
        assert failed == [], failed
        texts = {d.id: v.text for d, v in rows}
        names = {d.id: d.filename for d, _ in rows}
        for document_id in texts:
            assert session.exec(select(Passage.id).join(Document, Document.current_version_id == Passage.version_id)
                                .where(Document.id == document_id)).first(), names[document_id]
    index = open_index(settings)
    unfound, checked = [], 0
    for document_id, text in texts.items():
        phrase = _distinctive_phrase(text, [t for other, t in texts.items() if other != document_id])
        if phrase is None:
            continue  # nothing of its own twelve characters long (a near-copy of another page)
        checked += 1
        hits = index.search(f'"{phrase}"', per_page=20, facets=False).hits
        if str(document_id) not in {h.document_id for h in hits}:
            unfound.append((names[document_id], phrase))
    assert unfound == []
    assert checked >= len(texts) * 0.95, f"only {checked} of {len(texts)} documents had a phrase of their own"
    assert check(settings, index).problems == 0
