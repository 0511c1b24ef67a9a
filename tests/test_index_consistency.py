"""The database and the index agree: rebuilds resume in a stable order and pick up what finished
meanwhile; `kaoping check` finds missing, stale and orphan entries and stuck documents, and repairs them."""
from __future__ import annotations

import io
import json

import pytest
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Document, DocumentVersion, Job, Passage
from index.feed import all_index_records, open_index, rebuild_index
from ingest.queue import drain
from ingest.submit import submit


def _text(i: int) -> str:
    return (f"第{i}号材料\n\n" + f"本单位推进产业工人队伍建设改革，独特编号甲{i:03d}乙。" * 3 + "\n\n"
            + "职工技能提升行动持续开展，" * 40 + f"结尾标记丙{i:03d}丁。")


def _add(settings, i: int, unit: str = "JS") -> int:
    with session_scope(settings.database_url) as session:
        result = submit(session, settings, io.BytesIO(_text(i).encode()), f"材料{i}.txt", unit_code=unit, year=2023)
        session.commit()
        return result.document.id


def _found(index, i: int) -> set[str]:
    return {h.document_id for h in index.search(f'"甲{i:03d}乙"', per_page=50, facets=False).hits}


def _current_passage_ids(settings) -> list[int]:
    with session_scope(settings.database_url) as session:
        return session.exec(select(Passage.id).join(Document, Document.current_version_id == Passage.version_id)
                            .where(Document.status == "active")).all()


def test_records_come_in_a_stable_order_and_resume_after_a_key(settings):
    for i in range(4):
        _add(settings, i)
    drain(settings)
    records = list(all_index_records(settings))
    keys = [r["_resume_key"] for r in records]
    assert keys == sorted(keys) and len(set(map(tuple, keys))) == len(keys)
    middle = keys[len(keys) // 2]
    assert [r["_resume_key"] for r in all_index_records(settings, after=middle)] == keys[len(keys) // 2 + 1:]


def test_a_resumed_rebuild_has_every_passage_once_though_documents_changed_between(settings):
    doc_ids = [_add(settings, i) for i in range(6)]
    drain(settings)
    index = open_index(settings)

    def crashing(after):
        for n, record in enumerate(all_index_records(settings, after)):
            if n == 7:
                raise KeyboardInterrupt("power cut")
            yield record

    with pytest.raises(KeyboardInterrupt):
        index.rebuild(crashing, chunk=3)
    # between the crash and the resume: one early document withdrawn, a new one arrives
    with session_scope(settings.database_url) as session:
        withdrawn = session.get(Document, doc_ids[0])
        withdrawn.status = "withdrawn"
        session.commit()
    index.delete_document(str(doc_ids[0]))  # what the withdraw screen does
    _add(settings, 99)
    drain(settings)  # its index write waits for the rebuild; the rebuild's catch-up takes it
    failures = rebuild_index(settings, index)
    assert failures == []
    index = open_index(settings)
    assert index.doc_count() == len(_current_passage_ids(settings))
    assert _found(index, 0) == set()
    for i in [1, 2, 3, 4, 5, 99]:
        assert len(_found(index, i)) == 1, i


def test_a_document_finishing_during_a_rebuild_is_in_the_rebuilt_index(settings):
    for i in range(3):
        _add(settings, i)
    drain(settings)
    index = open_index(settings)
    late = {}

    def records_with_a_worker_finishing_meanwhile(after):
        for n, record in enumerate(all_index_records(settings, after)):
            if n == 2 and not late:
                late["id"] = _add(settings, 50)
                drain(settings)  # another worker finishes a document while the rebuild runs
            yield record

    index.rebuild(records_with_a_worker_finishing_meanwhile, chunk=2)
    for document_id in index.take_touched():
        from index.feed import refresh_document
        refresh_document(settings, index, document_id)
    assert _found(open_index(settings), 50) == {str(late["id"])}
    # its job, given back while the index was being rebuilt, finishes without using up its retries
    with session_scope(settings.database_url) as session:
        job = session.exec(select(Job).join(DocumentVersion, DocumentVersion.id == Job.version_id)
                           .join(Document, Document.current_version_id == DocumentVersion.id)
                           .where(Document.id == late["id"])).one()
        assert job.state == "queued" and job.attempts == 0
        job.available_at = None
        session.add(job)
        session.commit()
    drain(settings)
    with session_scope(settings.database_url) as session:
        assert session.get(DocumentVersion, session.get(Document, late["id"]).current_version_id).state == "indexed"
    assert open_index(settings).doc_count() == len(_current_passage_ids(settings))


def _kaoping(settings, *args):
    from click.testing import CliRunner

    from review_ui.cli import main
    return CliRunner().invoke(main, ["--data-dir", str(settings.data_dir), *args])


def test_check_finds_missing_stale_orphan_and_stuck_and_repairs_them_from_the_database(settings):
    from evidence.models import TagSuggestion
    ids = [_add(settings, i) for i in range(4)]
    drain(settings)
    clean = _kaoping(settings, "check")
    assert clean.exit_code == 0 and "一致" in clean.output, clean.output
    index = open_index(settings)
    index.delete_document(str(ids[0]))                                   # missing: "indexed" but unfindable
    with session_scope(settings.database_url) as session:                # stale: tags changed, index not told
        version_id = session.get(Document, ids[1]).current_version_id
        passage = session.exec(select(Passage).where(Passage.version_id == version_id)).first()
        session.add(TagSuggestion(version_id=version_id, passage_id=passage.id, indicator_no=55, score=0.9))
        withdrawn = session.get(Document, ids[2])                        # orphan: withdrawn, still in the index
        withdrawn.status = "withdrawn"
        stuck = session.get(DocumentVersion, session.get(Document, ids[3]).current_version_id)
        session.commit()
    with session_scope(settings.database_url) as session:                # stuck: unfinished, no job will finish it
        _add(settings, 7)
        late = session.exec(select(DocumentVersion).order_by(DocumentVersion.id.desc())).first()
        for job in session.exec(select(Job).where(Job.version_id == late.id)):
            session.delete(job)
        late.state = "extracting"
        session.add(late)
        session.commit()
    found = _kaoping(settings, "check", "--json")
    assert found.exit_code == 2
    report = json.loads(found.output)
    assert str(ids[0]) in report["missing"]
    assert str(ids[1]) in report["stale"] and str(ids[2]) in report["orphan"] and report["stuck"] == [late.id]
    assert stuck.id not in report["stuck"]
    repaired = _kaoping(settings, "check", "--repair")
    assert "修复后复查" in repaired.output and "数据库与检索索引一致" in repaired.output.split("修复后复查")[1]
    drain(settings)  # the re-queued stuck version is finished by a worker
    index = open_index(settings)
    assert _found(index, 0) == {str(ids[0])} and _found(index, 2) == set() and _found(index, 7)
    assert "55" in {i for h in index.search('"甲001乙"').hits for i in h.indicators}
    assert _kaoping(settings, "check").exit_code == 0
