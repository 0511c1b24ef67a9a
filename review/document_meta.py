"""A document's official metadata as people read it: what ingest extracted, with people's corrections.

OCR may misread a scan's 文号, a date may be the signing date instead of the issue date. The uploader's
unit (until its evidence deadline) and the office may correct the title, issuer, date, 文号 and kind.
The extracted values stay on the version untouched and are shown beside a corrected one; the latest
correction per field is what the viewer, the lists, the search index and the outputs use — this
module is the one place that answers "what is this document's 文号".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

from sqlmodel import Session, select

from evidence import audit
from evidence.models import Document, DocumentVersion, MetadataCorrection, User
from review.evidence_policy import evidence_deadline
from review.year_lock import closed_notice

FIELDS = {"title": "标题", "doc_number": "文号", "issuer": "发文单位", "doc_date": "日期", "doc_kind": "文件类型"}
MAX_CHARS = {"title": 300, "doc_number": 100, "issuer": 200, "doc_date": 10, "doc_kind": 16}


class MetadataRefused(PermissionError):
    """This user may not correct this document's metadata now (edit_refusal says why)."""


class MetadataInvalid(ValueError):
    """A corrected value that cannot be stored as it was typed."""


@dataclass(frozen=True)
class Metadata:
    title: str = ""
    doc_number: str = ""
    issuer: str = ""
    doc_date: str | None = None
    doc_kind: str = "other"
    extracted: Mapping[str, str | None] = field(default_factory=dict)  # field → extracted value, corrected ones only

    def value(self, name: str) -> str:
        return getattr(self, name) or ""

    def is_corrected(self, name: str) -> bool:
        return name in self.extracted


def extracted(version: DocumentVersion | None) -> dict[str, str | None]:
    if version is None:
        return {name: ("other" if name == "doc_kind" else "") for name in FIELDS}
    return {name: getattr(version, name) for name in FIELDS}


def corrections(session: Session, document_ids) -> dict[int, dict[str, str | None]]:
    """document → field → the latest corrected value (None: back to the extracted value)."""
    ids = list(document_ids)
    latest: dict[int, dict[str, str | None]] = {}
    if ids:
        for row in session.exec(select(MetadataCorrection).where(MetadataCorrection.document_id.in_(ids))
                                .order_by(MetadataCorrection.id)):
            latest.setdefault(row.document_id, {})[row.field] = row.value
    return latest


def _merge(version: DocumentVersion | None, corrected: dict[str, str | None]) -> Metadata:
    base = extracted(version)
    values = dict(base)
    shown_extracted = {}
    for name, value in corrected.items():
        if value is not None and name in FIELDS:
            values[name] = value
            shown_extracted[name] = base[name]
    return Metadata(**values, extracted=shown_extracted)


def effective_metadata(session: Session, document: Document, version: DocumentVersion | None) -> Metadata:
    return _merge(version, corrections(session, [document.id]).get(document.id, {}))


def effective_for(session: Session, pairs: list[tuple[Document, DocumentVersion | None]]) -> dict[int, Metadata]:
    """The metadata of many documents at once (lists, exports): one query for all their corrections."""
    corrected = corrections(session, [d.id for d, _ in pairs])
    return {d.id: _merge(v, corrected.get(d.id, {})) for d, v in pairs}


def document_titles(session: Session, document_ids) -> dict[int, str]:
    """What to call each document where a passage of it is cited (a rating's or a self-assessment's
    links): its title with people's corrections, else its file name. One query for all of them."""
    ids = {i for i in document_ids if i is not None}
    if not ids:
        return {}
    documents = session.exec(select(Document).where(Document.id.in_(ids))).all()
    versions = {v.id: v for v in session.exec(select(DocumentVersion).where(
        DocumentVersion.id.in_([d.current_version_id for d in documents if d.current_version_id])))}
    metas = effective_for(session, [(d, versions.get(d.current_version_id)) for d in documents])
    return {d.id: metas[d.id].title or d.filename for d in documents}


def edit_refusal(session: Session, user: User, document: Document, version: DocumentVersion | None,
                 today: date | None = None) -> str:
    """Why this user may not correct this document's metadata now, or '' if they may."""
    if user.role == "province":
        if user.unit_code != document.unit_code:
            return "只有提交该证据的单位和协调小组办公室可以更正文件信息。"
    elif user.role != "office":
        return "只有提交该证据的单位和协调小组办公室可以更正文件信息。"
    if document.status != "active":
        return "已撤回的证据不能更正文件信息。"
    closed = closed_notice(session, document.year)
    if closed:
        return closed
    if version is None or version.state != "indexed":
        return "文件处理完成后才能更正文件信息。"
    if user.role == "province":
        deadline = evidence_deadline(session, document.year)
        if deadline is not None and deadline.passed(today):
            return (f"{document.year} 年度的{deadline.describe()}已过，不能再更正文件信息。"
                    "如确需更正，请联系协调小组办公室。")
    return ""


_DATE = re.compile(r"^\s*(\d{4})\s*(?:[-/.年])\s*(\d{1,2})\s*(?:[-/.月])\s*(\d{1,2})\s*日?\s*$")


def normalise(name: str, raw: str, kinds: Mapping[str, str]) -> str:
    """A typed value as it is stored: dates as 2023-05-01, kinds by their code; MetadataInvalid otherwise."""
    value = " ".join((raw or "").split())
    if name == "doc_date":
        if not value:
            return ""
        match = _DATE.match(value)
        try:
            if match is None:
                raise ValueError
            return date(*(int(g) for g in match.groups())).isoformat()
        except ValueError:
            raise MetadataInvalid(f"日期“{value[:20]}”无法识别，请写成 2023-05-01 或 2023年5月1日。") from None
    if name == "doc_kind":
        code = value if value in kinds else next((c for c, label in kinds.items() if label == value), None)
        if code is None:
            raise MetadataInvalid("请从列表中选择文件类型。")
        return code
    if len(value) > MAX_CHARS[name]:
        raise MetadataInvalid(f"{FIELDS[name]}最多 {MAX_CHARS[name]} 个字。")
    return value


def correct_metadata(session: Session, user: User, document: Document, values: Mapping[str, str], *,
                     kinds: Mapping[str, str], ip: str = "", today: date | None = None) -> list[str]:
    """Store the fields that differ from what is shown now; each is audited with its old, new and
    extracted value. Returns the Chinese names of the fields changed. Nothing is stored when any
    value is invalid."""
    version = session.get(DocumentVersion, document.current_version_id) if document.current_version_id else None
    refusal = edit_refusal(session, user, document, version, today)
    if refusal:
        raise MetadataRefused(refusal)
    wanted = {name: normalise(name, values[name], kinds) for name in FIELDS if name in values}
    shown = effective_metadata(session, document, version)
    base = extracted(version)
    changed = []
    for name, new in wanted.items():
        old = shown.value(name)
        if new == old:
            continue
        session.add(MetadataCorrection(document_id=document.id, version_id=version.id, field=name,
                                       value=None if new == (base[name] or "") else new, previous=old,
                                       user_id=user.id))
        readable = (lambda v: kinds.get(v, v)) if name == "doc_kind" else (lambda v: v)
        audit.record(session, "metadata", user=user, object_type="document", object_id=document.id, ip=ip,
                     detail={"filename": document.filename, "field": FIELDS[name], "old": readable(old),
                             "new": readable(new), "extracted": readable(base[name] or "")})
        changed.append(FIELDS[name])
    return changed


def correction_history(session: Session, document: Document) -> list[MetadataCorrection]:
    return list(session.exec(select(MetadataCorrection).where(MetadataCorrection.document_id == document.id)
                             .order_by(MetadataCorrection.id)))
