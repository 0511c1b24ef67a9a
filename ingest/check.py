"""`kaoping check [--repair]`: do the database and the index agree, and is the queue moving?

The database is the truth. The index should hold exactly the records `index.feed` makes of every
active document whose current version is indexed (and of every collection):
  missing  — a record the index lacks (a document "indexed" that search cannot find);
  stale    — a record the index holds with other fields (tags, title, unit…) than the database says;
  orphan   — an index entry of a withdrawn, replaced, unfinished or unknown document or passage.
And no version should be stuck: unfinished with no job that will finish it.
Repair re-feeds each affected document from the database, removes orphans and re-queues stuck
versions; it never changes a stored passage.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import select

from evidence.config import Settings
from evidence.db import session_scope
from evidence.jobs import QueueHealth, queue_health
from evidence.models import Collection, Document, DocumentVersion, Job
from evidence.states import UNFINISHED, JobState, VersionState
from index.evidence_index import record_digest
from index.feed import collection_records, index_records, refresh_document
from ingest.moves import move_job

EXAMPLES_SHOWN = 20


@dataclass
class CheckReport:
    missing: dict[str, int] = field(default_factory=dict)   # document id → passages missing
    stale: dict[str, int] = field(default_factory=dict)     # document id → passages with other fields
    orphan: dict[str, int] = field(default_factory=dict)    # document id → entries that should not be there
    stuck: list[int] = field(default_factory=list)          # version ids owed work by no job
    index_error: str = ""
    queue: QueueHealth = field(default_factory=QueueHealth)
    repaired: bool = False

    @property
    def problems(self) -> int:
        return (len(self.missing) + len(self.stale) + len(self.orphan) + len(self.stuck)
                + bool(self.index_error))

    def to_dict(self) -> dict:
        return {"missing": self.missing, "stale": self.stale, "orphan": self.orphan, "stuck": self.stuck,
                "index_error": self.index_error, "queue": self.queue.to_dict(), "repaired": self.repaired,
                "problems": self.problems}

    def lines(self) -> list[str]:
        q = self.queue
        out = [f"入库队列：等待 {q.waiting} 个，退避重试 {q.delayed} 个，处理中 {q.running} 个"
               f"（无响应 {q.stalled} 个），失败 {q.failed} 个，最早排队 {q.oldest_waiting_text}。"]
        out += [f"  ⚠ {a}" for a in q.alarms]
        if self.index_error:
            out.append(f"检索索引：{self.index_error}")
        for label, found in (("索引缺少段落（检索不到）", self.missing), ("索引内容过时", self.stale),
                             ("索引中有多余条目", self.orphan)):
            if found:
                sample = "、".join(_document_label(d) for d in list(found)[:EXAMPLES_SHOWN])
                out.append(f"{label}：{len(found)} 个文件，共 {sum(found.values())} 条（{sample}）")
        if self.stuck:
            out.append(f"停滞的文件（未完成且没有处理任务）：{len(self.stuck)} 个（版本 "
                       + "、".join(map(str, self.stuck[:EXAMPLES_SHOWN])) + "）")
        if not self.problems:
            out.append("数据库与检索索引一致。")
        elif self.repaired:
            out.append("已按数据库修复以上问题。")
        else:
            out.append("运行 kaoping check --repair 按数据库修复。")
        return out


def _document_label(document_id: str) -> str:
    return f"汇编 {document_id.split('-', 1)[1]}" if document_id.startswith("collection-") else f"文件 {document_id}"


def expected_digests(settings: Settings) -> dict[str, dict[str, str]]:
    """What the index should hold, by document id then passage id, as digests."""
    expected: dict[str, dict[str, str]] = {}
    with session_scope(settings.database_url) as session:
        version_ids = session.exec(
            select(DocumentVersion.id).join(Document, Document.current_version_id == DocumentVersion.id)
            .where(Document.status == "active", DocumentVersion.state == VersionState.INDEXED)
            .order_by(DocumentVersion.id)).all()
        collections = session.exec(select(Collection).order_by(Collection.id)).all()
        for collection in collections:
            records = collection_records(session, collection)
            if records:
                expected[f"collection-{collection.id}"] = {str(r["passage_id"]): record_digest(r) for r in records}
    for version_id in version_ids:
        with session_scope(settings.database_url) as session:
            for record in index_records(session, version_id):
                expected.setdefault(str(record["document_id"]), {})[str(record["passage_id"])] = record_digest(record)
    return expected


def in_flight_documents(settings: Settings) -> set[str]:
    """Documents whose current version is still being processed: their entries may come and go."""
    with session_scope(settings.database_url) as session:
        rows = session.exec(select(Document.id).join(DocumentVersion, Document.current_version_id == DocumentVersion.id)
                            .where(Document.status == "active", DocumentVersion.state.in_(UNFINISHED))).all()
    return {str(r) for r in rows}


def stuck_versions(settings: Settings) -> list[int]:
    """Unfinished versions that no queued or running job will finish."""
    with session_scope(settings.database_url) as session:
        unfinished = session.exec(select(DocumentVersion.id).where(DocumentVersion.state.in_(UNFINISHED))).all()
        owed = set(session.exec(select(Job.version_id).where(Job.state.in_([JobState.QUEUED, JobState.RUNNING]))).all())
    return sorted(v for v in unfinished if v not in owed)


def check(settings: Settings, index, repair: bool = False) -> CheckReport:
    from ingest.queue import reclaim_abandoned
    report = CheckReport()
    if index.needs_rebuild():
        report.index_error = "分词规则或词典已更新，需要重建索引（kaoping reindex）。"
    else:
        actual = index.entry_digests()
        expected = expected_digests(settings)
        moving = in_flight_documents(settings)
        for document_id, passages in expected.items():
            have = actual.get(document_id, {})
            missing = [p for p in passages if p not in have]
            stale = [p for p, digest in passages.items() if p in have and have[p] != digest]
            extra = [p for p in have if p not in passages]
            if missing:
                report.missing[document_id] = len(missing)
            if stale:
                report.stale[document_id] = len(stale)
            if extra:
                report.orphan[document_id] = len(extra)
        for document_id, have in actual.items():
            if document_id not in expected and document_id not in moving:
                report.orphan[document_id] = len(have)
    report.stuck = stuck_versions(settings)
    if repair:
        reclaim_abandoned(settings)
        _requeue(settings, report.stuck)
        for document_id in {*report.missing, *report.stale, *report.orphan}:
            refresh_document(settings, index, document_id)
        report.repaired = True
    with session_scope(settings.database_url) as session:
        report.queue = queue_health(session)
    return report


def _requeue(settings: Settings, version_ids: list[int]) -> None:
    """A stuck version gets its job back in the queue (or a new job): a worker finishes it."""
    from evidence.models import utcnow
    with session_scope(settings.database_url) as session:
        for version_id in version_ids:
            job = session.exec(select(Job).where(Job.version_id == version_id).order_by(Job.id.desc())).first()
            if job is not None and job.state == JobState.FAILED:
                move_job(session, job.id, JobState.QUEUED, attempts=0, owner="", available_at=utcnow(),
                         error="由 kaoping check 重新排队。")
            else:
                session.add(Job(version_id=version_id, state=JobState.QUEUED))
        session.commit()
