"""The ingest pipeline: durable uploads, visible states, resumable work."""
import io
import os
import signal
import subprocess
import sys
import time

from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Document, DocumentVersion, Job, Page, Passage, TagSuggestion
from ingest.queue import claim_next, drain
from ingest.submit import retry_all_failed, submit

POLICY = ("关于成立江苏省推进产业工人队伍建设改革协调小组的通知\n\n苏产改〔2023〕1号\n\n"
          "经省委同意，成立江苏省推进产业工人队伍建设改革协调小组，由省委副书记任组长，"
          "省总工会主席任常务副组长，协调小组办公室设在省总工会。\n\n二〇二三年三月五日\n")


def _submit(settings, name, data, unit="JS"):
    with session_scope(settings.database_url) as session:
        result = submit(session, settings, io.BytesIO(data), name, unit_code=unit, year=2023)
        session.commit()
        return result


def _versions(settings):
    with session_scope(settings.database_url) as session:
        return session.exec(select(DocumentVersion).order_by(DocumentVersion.id)).all()


def test_upload_is_stored_then_processed(settings):
    result = _submit(settings, "通知.txt", POLICY.encode("gb18030"))
    assert result.document and _versions(settings)[0].state == "queued"
    assert drain(settings) == 1
    version = _versions(settings)[0]
    assert version.state == "indexed", version.error
    assert "协调小组" in version.text and version.doc_number == "苏产改〔2023〕1号"
    with session_scope(settings.database_url) as session:
        passages = session.exec(select(Passage)).all()
        assert passages and all(version.text[p.start:p.end] == p.text for p in passages)
        assert session.exec(select(TagSuggestion)).all(), "the tagger stored no suggestion"


def test_byte_identical_reupload_is_linked_not_stored_twice(settings):
    first = _submit(settings, "a.txt", POLICY.encode())
    second = _submit(settings, "b.txt", POLICY.encode())
    assert second.document is None and second.duplicate_of.id == first.document.id
    assert "完全相同" in second.notices[0]
    with session_scope(settings.database_url) as session:
        assert len(session.exec(select(Document)).all()) == 1


def test_corrupt_file_fails_with_chinese_reason_and_can_be_retried(settings):
    _submit(settings, "坏文件.pdf", b"%PDF-1.7\n" + os.urandom(2000))
    _submit(settings, "好文件.txt", POLICY.encode())
    drain(settings)
    bad, good = _versions(settings)
    assert bad.state == "failed" and bad.error and any("\u4e00" <= ch <= "\u9fff" for ch in bad.error)
    assert good.state == "indexed"
    with session_scope(settings.database_url) as session:
        assert retry_all_failed(session) == 1
        session.commit()
    assert _versions(settings)[0].state == "queued"
    drain(settings)
    assert _versions(settings)[0].state == "failed"


def test_empty_and_oversize_uploads_are_refused_without_a_record(settings):
    assert "为空" in _submit(settings, "空.txt", b"").error
    small = settings.__class__(**{**settings.__dict__, "max_upload_bytes": 100})
    assert "超过大小上限" in _submit(small, "大.txt", b"x" * 1000).error
    assert _versions(settings) == []


def test_interrupted_job_is_resumed_without_duplicates(settings):
    """What a worker killed mid-job leaves behind: a running job and half-written rows."""
    _submit(settings, "通知.txt", POLICY.encode())
    job_id = claim_next(settings)
    with session_scope(settings.database_url) as session:
        version = session.exec(select(DocumentVersion)).one()
        version.state = "extracting"
        session.add(Page(version_id=version.id, no=1, start=0, end=5))
        session.commit()
    drain(settings)
    with session_scope(settings.database_url) as session:
        assert session.get(Job, job_id).state == "done"
        version = session.exec(select(DocumentVersion)).one()
        assert version.state == "indexed"
        pages = session.exec(select(Page).where(Page.version_id == version.id)).all()
        assert [p.no for p in pages] == [1] and pages[0].end == len(version.text)


def test_killing_the_worker_loses_nothing(settings):
    for i in range(12):
        _submit(settings, f"通知{i}.txt", (POLICY + f"\n第{i}份材料。" * (i + 1)).encode())
    env = {**os.environ, "KAOPING_DATA_DIR": str(settings.data_dir)}
    worker = subprocess.Popen([sys.executable, "-m", "review_ui.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(v.state == "indexed" for v in _versions(settings)):
                break
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    drain(settings)
    versions = _versions(settings)
    assert len(versions) == 12 and all(v.state == "indexed" for v in versions)
    with session_scope(settings.database_url) as session:
        for v in versions:
            seqs = [p.seq for p in session.exec(select(Passage).where(Passage.version_id == v.id))]
            assert seqs and len(seqs) == len(set(seqs))


def test_retag_keeps_reviewer_decisions(settings, make_user):
    from review.tags import decide
    from index.feed import index_records
    from ingest.stages import retag_year
    reviewer = make_user("office", "office")
    doc_id = _submit(settings, "通知.txt", POLICY.encode()).document.id
    drain(settings)
    with session_scope(settings.database_url) as session:
        version = session.exec(select(DocumentVersion)).one()
        passage = session.exec(select(Passage).where(Passage.version_id == version.id)).first()
        suggested = {s.indicator_no for s in session.exec(select(TagSuggestion).where(
            TagSuggestion.passage_id == passage.id, TagSuggestion.suggested == True))}  # noqa: E712
        rejected = next(iter(suggested)) if suggested else None
        decide(session, reviewer, doc_id, 88, "confirm", passage_id=passage.id)
        if rejected:
            decide(session, reviewer, doc_id, rejected, "reject", passage_id=passage.id)
        session.execute(TagSuggestion.__table__.update().values(tagger_version="old"))
        session.commit()
    report = retag_year(settings, 2023)
    assert report.done == 1 and report.failed == []
    with session_scope(settings.database_url) as session:
        assert all(s.tagger_version != "old" for s in session.exec(select(TagSuggestion)))
        record = next(r for r in index_records(session, version.id) if r["passage_id"] == passage.id)
    assert 88 in record["indicators"] and 88 in record["confirmed"]
    if rejected:
        assert rejected not in record["indicators"]


def test_an_index_failure_does_not_fail_a_stored_document(settings, monkeypatch):
    """A busy index keeps the stored document (never failed, passages kept) and retries it later;
    it is called indexed only once search finds it."""
    from index import EvidenceIndex
    from index.feed import open_index

    real_write = EvidenceIndex.replace_document

    def broken(self, document_id, records):
        raise RuntimeError("index busy")
    monkeypatch.setattr(EvidenceIndex, "replace_document", broken)
    _submit(settings, "通知.txt", POLICY.encode())
    drain(settings)
    version = _versions(settings)[0]
    assert version.state not in ("failed", "indexed"), version.error
    with session_scope(settings.database_url) as session:
        assert session.exec(select(Passage).where(Passage.version_id == version.id)).all()
        job = session.exec(select(Job)).one()
        assert job.state == "queued" and job.available_at is not None and "索引" in job.error
        job.available_at = None  # the back-off has passed
        session.add(job)
        session.commit()
    monkeypatch.setattr(EvidenceIndex, "replace_document", real_write)
    drain(settings)
    assert _versions(settings)[0].state == "indexed"
    hits = open_index(settings).search('"协调小组办公室设在省总工会"').hits
    assert [h.document_id for h in hits] == [str(version.document_id)]
