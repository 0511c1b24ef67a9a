"""Evidence: upload, the list with live processing states, the document viewer, download,
retry, withdrawal and reviewers' decisions on indicator tags.

Every URL naming a document goes through review.tags.visible_document, which
answers "missing" and "forbidden" alike so a URL cannot probe other units.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from sqlmodel import Session, func, select

from evidence import audit
from evidence.accounts import visible_units
from evidence.models import (Document, DocumentVersion, Page, Passage, Round, TagSuggestion, Unit,
                             User, utcnow)
from evidence.store import FileStore
from review.evidence_policy import human_size, upload_refusal, withdraw_refusal
from review.document_history import FIND_MAX_CHARS, find_in_document, history as document_history
from rubrics.units import in_national_order
from review.tags import DECISIONS, EvidenceAccessError, Verdicts, decide, visible_document
from index.feed import open_index, update_index
from ingest.submit import SubmitResult, retry as retry_version, submit

from ..security import Forbidden, client_ip
from ..web import db, default_year, highlight_terms, render, settings_of, user_of

log = logging.getLogger("kaoping.web.evidence")
router = APIRouter()

PER_PAGE = 50

# ── helpers ─────────────────────────────────────────────────────────────────

def doc_kinds() -> dict[str, str]:
    try:
        from ingest.metadata import DOC_KINDS
        return dict(DOC_KINDS)
    except ImportError:
        return {}


def indicator_names(year: int | None) -> dict[int, str]:
    """Indicator names of the year's system (the latest one if that year has none)."""
    from rubrics.indicators import load_system
    for candidate in ((year, None) if year else (None,)):
        try:
            return {i.no: i.name for i in load_system(candidate).indicators}
        except Exception as exc:  # names are a display aid: numbers alone still make sense
            log.warning("indicator system %s unavailable: %s", candidate, exc)
    return {}


MAX_ID = 2 ** 62  # beyond SQLite's integer range a lookup would raise instead of missing


def document_or_404(session: Session, user: User, document_id: int) -> Document:
    try:
        if not 0 < document_id < MAX_ID:
            raise EvidenceAccessError("证据不存在或您无权查看。")
        return visible_document(session, user, document_id)
    except EvidenceAccessError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def parse_int(raw: str | None) -> int | None:
    """A query parameter as a number; garbage or absurd sizes count as absent rather than a 500."""
    try:
        value = int(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or abs(value) < MAX_ID else None


def parse_ids(raw: str) -> list[int]:
    ids = [int(part) for part in raw.split(",") if part.strip().isdigit()]
    return [i for i in ids if 0 < i < MAX_ID][:200]


def parse_indicator_hints(raw: str) -> list[int]:
    numbers = []
    for part in raw.replace("，", ",").replace("、", ",").replace(" ", ",").split(","):
        if part.strip().isdigit() and 1 <= int(part) <= 200:
            numbers.append(int(part))
    return sorted(set(numbers))


def open_index_or_none(request: Request):
    """The app's one EvidenceIndex (it caches a searcher and facet tables), or None if it cannot open."""
    index = getattr(request.app.state, "evidence_index", None)
    if index is None:
        try:
            index = open_index(settings_of(request))
        except Exception:  # a missing or broken index must not block database changes
            log.exception("search index unavailable")
            return None
        request.app.state.evidence_index = index
    return index


def rows_for(session: Session, documents: list[Document]) -> list[dict]:
    """Documents with their current version and the notices a submitter should read."""
    version_ids = [d.current_version_id for d in documents if d.current_version_id]
    versions = {v.id: v for v in session.exec(select(DocumentVersion).where(DocumentVersion.id.in_(version_ids)))}
    related_ids = {d.near_duplicate_of for d in documents}
    related_ids.discard(None)
    related = {d.id: d for d in session.exec(select(Document).where(Document.id.in_(related_ids)))}
    rows = []
    for d in documents:
        version = versions.get(d.current_version_id)
        notices = []
        warnings = list(version.warnings) if version else []
        if d.near_duplicate_of in related and not any("高度相似" in w for w in warnings):
            notices.append(f"与“{related[d.near_duplicate_of].filename}”（编号 {d.near_duplicate_of}）内容高度相似。")
        same = [related[d.near_duplicate_of]] if d.near_duplicate_of in related else []
        rows.append({"doc": d, "version": version, "state": version.state if version else "queued",
                     "notices": notices + warnings, "related": same})
    return rows


# ── list, upload, live states ───────────────────────────────────────────────

@router.get("/evidence")
def evidence_list(request: Request, unit: str | None = None, year: str | None = None, state: str | None = None,
                  status: str = "active", page: str | None = None,
                  user: User = Depends(user_of), session: Session = Depends(db)):
    allowed = visible_units(session, user)
    query = select(Document).join(DocumentVersion, DocumentVersion.id == Document.current_version_id, isouter=True)
    if allowed is not None:
        query = query.where(Document.unit_code.in_(allowed))
    if unit:
        if allowed is not None and unit not in allowed:
            raise Forbidden("您无权查看该单位的证据。")
        query = query.where(Document.unit_code == unit)
    year_no = parse_int(year)
    if year_no:
        query = query.where(Document.year == year_no)
    if state:
        query = query.where(DocumentVersion.state == state)
    if status in ("active", "withdrawn"):
        query = query.where(Document.status == status)
    if user.role == "reviewer":  # withdrawn evidence is out of the review
        query = query.where(Document.status == "active")
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page_no = max(parse_int(page) or 1, 1)
    documents = session.exec(query.order_by(Document.id.desc()).offset((page_no - 1) * PER_PAGE).limit(PER_PAGE)).all()
    units = in_national_order(session.exec(select(Unit)).all())
    if allowed is not None:
        units = [u for u in units if u.code in allowed]
    return render(request, "evidence/list.html", rows=rows_for(session, list(documents)), units=units,
                  filters={"unit": unit or "", "year": year_no or "", "state": state or "", "status": status},
                  total=total, page=page_no, pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
                  kinds=doc_kinds(), withdrawable={d.id for d in documents if not withdraw_refusal(session, user, d)})


@router.get("/evidence/upload")
def upload_form(request: Request, ids: str = "", user: User = Depends(user_of), session: Session = Depends(db)):
    ensure_can_upload(user)
    settings = settings_of(request)
    tracked = parse_ids(ids)
    return render(request, "evidence/upload.html", results=[], tracked_ids=tracked,
                  state_rows=state_rows(session, user, tracked), **upload_page(session, user, settings))


def ensure_can_upload(user: User) -> None:
    if user.role not in ("province", "office"):
        raise Forbidden("只有省级填报人员和协调小组办公室可以上传证据。")


def upload_page(session: Session, user: User, settings) -> dict:
    units = in_national_order(session.exec(select(Unit)).all()) if user.role == "office" else []
    return {"kinds": doc_kinds(), "default_year": default_year(session), "units": units,
            "limit": human_size(settings.max_upload_bytes)}


@router.post("/evidence/upload")
def upload(request: Request, files: list[UploadFile] = File(default=[]), year: str = Form(""),
           kind: str = Form(""), indicators: str = Form(""), unit: str = Form(""),
           user: User = Depends(user_of), session: Session = Depends(db)):
    ensure_can_upload(user)
    settings = settings_of(request)
    unit_code = user.unit_code if user.role == "province" else unit
    if not unit_code or session.get(Unit, unit_code) is None:
        raise HTTPException(status_code=400, detail="请选择证据所属单位。")
    year_no = parse_int(year) or default_year(session)
    refusal = upload_refusal(session, user, year_no)
    if refusal:
        raise HTTPException(status_code=400, detail=refusal)
    kinds = doc_kinds()
    kind_hint = kind if kind and (kind in kinds or not kinds) else None
    hints = parse_indicator_hints(indicators)
    results = []
    for upload_file in files:
        if not upload_file.filename:
            continue
        outcome = submit(session, settings, upload_file.file, upload_file.filename, unit_code=unit_code,
                                  year=year_no, user=user, kind_hint=kind_hint, indicator_hints=hints)
        session.commit()
        results.extend(flatten(outcome))
    if not files or all(not f.filename for f in files):
        results.append({"filename": "", "error": "请选择要上传的文件。", "notices": [], "document_id": None})
    status = 400 if results and all(r["error"] for r in results) else 200
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"results": results}, status_code=status)
    tracked = [r["document_id"] for r in results if r["document_id"]]
    return render(request, "evidence/upload.html", status_code=status, results=results, tracked_ids=tracked,
                  state_rows=state_rows(session, user, tracked), **upload_page(session, user, settings))


def flatten(outcome: SubmitResult) -> list[dict]:
    """One line per stored file; an archive contributes its notice and then its members."""
    own = {"filename": outcome.filename, "error": outcome.error, "notices": list(outcome.notices),
           "document_id": outcome.document.id if outcome.document else None,
           "duplicate_of": outcome.duplicate_of.id if outcome.duplicate_of else None}
    lines = [own] if (own["error"] or own["notices"] or own["document_id"] or not outcome.members) else []
    for member in outcome.members:
        lines.extend(flatten(member))
    return lines


def state_rows(session: Session, user: User, document_ids: list[int]) -> list[dict]:
    if not document_ids:
        return []
    allowed = visible_units(session, user)
    query = select(Document).where(Document.id.in_(document_ids))
    if allowed is not None:
        query = query.where(Document.unit_code.in_(allowed))
    if user.role == "reviewer":  # withdrawn evidence is out of reviewers' sight everywhere
        query = query.where(Document.status == "active")
    return rows_for(session, list(session.exec(query.order_by(Document.id)).all()))


@router.get("/evidence/states")
def states(request: Request, ids: str = "", user: User = Depends(user_of), session: Session = Depends(db)):
    """The live-state panel; it keeps polling itself only while something is unfinished."""
    tracked = parse_ids(ids)
    rows = state_rows(session, user, tracked)
    return render(request, "evidence/_states.html", state_rows=rows, tracked_ids=tracked)


# ── one document ────────────────────────────────────────────────────────────

@router.get("/evidence/{document_id}")
def view(request: Request, document_id: int, page: str | None = None, passage: str | None = None,
         find: str = "", q: str = "", user: User = Depends(user_of), session: Session = Depends(db)):
    document = document_or_404(session, user, document_id)
    version = session.get(DocumentVersion, document.current_version_id) if document.current_version_id else None
    pages = session.exec(select(Page).where(Page.version_id == version.id).order_by(Page.no)).all() if version else []
    target_id = parse_int(passage)
    target = session.get(Passage, target_id) if target_id else None
    if target is not None and (version is None or target.version_id != version.id):
        target = None  # a passage of another document or an older version: open normally
    page_no = target.page_no if target else (parse_int(page) or 1)  # a deep link always opens its passage
    page_count = max(len(pages), 1)
    page_no = min(max(page_no, 1), page_count)
    passages = session.exec(select(Passage).where(Passage.version_id == version.id, Passage.page_no == page_no)
                            .order_by(Passage.seq)).all() if version else []
    page_is_ocr = any(p.no == page_no and p.ocr for p in pages)
    names = indicator_names(document.year)
    tags = passage_tags(session, document, version, [p.id for p in passages], names)
    uploader = session.get(User, document.uploaded_by) if document.uploaded_by else None
    find = find.strip()[:FIND_MAX_CHARS]
    found = find_in_document(session, version.id, find) if version and find else []
    return render(request, "evidence/view.html", doc=document, find=find, found=found, q=q[:500],
                  marks=highlight_terms(find, q), history=document_history(session, user, document), version=version, passages=passages,
                  page_no=page_no, page_count=page_count, page_is_ocr=page_is_ocr, target_id=target.id if target else None,
                  tags=tags, doc_tags=tags.get(None, []), can_decide=user.role in ("reviewer", "office"),
                  kinds=doc_kinds(), uploader=uploader, unit=session.get(Unit, document.unit_code),
                  withdraw_refusal=withdraw_refusal(session, user, document), names=names,
                  ocr_pages=", ".join(str(n) for n in (version.ocr_pages if version else [])))


def passage_tags(session: Session, document: Document, version: DocumentVersion | None, passage_ids: list[int],
                 names: dict[int, str]) -> dict[int | None, list[dict]]:
    """Tag chips per passage (None = the whole document): machine suggestions merged with
    the latest human decision, plus indicators people confirmed that the machine missed."""
    if version is None:
        return {}
    wanted = set(passage_ids) | {None}
    chips: dict[int | None, dict[int, dict]] = {}
    for s in session.exec(select(TagSuggestion).where(TagSuggestion.version_id == version.id)
                          .order_by(TagSuggestion.score.desc())):
        if s.passage_id not in wanted or s.indicator_no in chips.get(s.passage_id, {}):
            continue
        chips.setdefault(s.passage_id, {})[s.indicator_no] = {
            "no": s.indicator_no, "name": names.get(s.indicator_no, ""), "reason": s.reason,
            "terms": list(s.matched_terms), "status": "suggested" if s.suggested else "candidate",
            "passage_id": s.passage_id, "score": s.score}
    for (_doc, passage_id, no), decision in Verdicts.load(session, [document.id]).items():
        if passage_id not in wanted:
            continue
        chip = chips.setdefault(passage_id, {}).setdefault(no, {
            "no": no, "name": names.get(no, ""), "reason": "人工添加", "terms": [],
            "passage_id": passage_id, "score": 0})
        chip["status"] = "confirmed" if decision == "confirm" else "rejected"
    return {pid: sorted(by_no.values(), key=lambda c: c["no"]) for pid, by_no in chips.items()}


@router.get("/evidence/{document_id}/download")
def download(request: Request, document_id: int, user: User = Depends(user_of), session: Session = Depends(db)):
    document = document_or_404(session, user, document_id)
    version = session.get(DocumentVersion, document.current_version_id)
    path = FileStore(settings_of(request).files_dir).path_for(version.file_sha256)
    if not path.exists():
        raise HTTPException(status_code=404, detail="原始文件不在文件库中，请联系管理员。")
    # Always an attachment of an opaque type: an uploaded HTML or SVG must never run in our origin.
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in document.filename)
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(document.filename, safe='')}"
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.post("/evidence/{document_id}/retry")
def retry(request: Request, document_id: int, user: User = Depends(user_of), session: Session = Depends(db)):
    document = document_or_404(session, user, document_id)
    if user.role not in ("province", "office"):
        raise Forbidden("只有提交单位和协调小组办公室可以重新处理证据。")
    if document.status == "withdrawn":
        raise HTTPException(status_code=409, detail="已撤回的证据不能重新处理。")
    if not retry_version(session, document.current_version_id, user):
        raise HTTPException(status_code=409, detail="只有处理失败的证据才能重新处理。")
    session.commit()
    return RedirectResponse(f"/evidence/{document.id}", status_code=303)


@router.post("/evidence/{document_id}/withdraw")
def withdraw(request: Request, document_id: int, reason: str = Form(""), user: User = Depends(user_of),
             session: Session = Depends(db)):
    document = document_or_404(session, user, document_id)
    refusal = withdraw_refusal(session, user, document)
    if refusal:
        raise Forbidden(refusal)
    reason = reason.strip()
    if not reason:
        raise HTTPException(status_code=400, detail="请填写撤回原因。")
    # Withdrawn evidence stays in the database for the record; only the search index forgets it.
    document.status, document.withdrawn_at, document.withdrawn_by = "withdrawn", utcnow(), user.id
    document.withdraw_reason = reason[:1000]
    audit.record(session, "withdraw", user=user, object_type="document", object_id=document.id,
                 detail={"filename": document.filename, "reason": document.withdraw_reason}, ip=client_ip(request))
    session.commit()
    index = open_index_or_none(request)
    if index is not None:
        try:
            index.delete_document(str(document.id))
        except Exception:
            log.exception("could not remove withdrawn document %s from the index", document.id)
    return RedirectResponse(f"/evidence/{document.id}", status_code=303)


@router.post("/evidence/{document_id}/tags")
def tag_decision(request: Request, document_id: int, indicator_no: int = Form(...), decision: str = Form(...),
                 passage_id: str = Form(""), user: User = Depends(user_of), session: Session = Depends(db)):
    if user.role not in ("reviewer", "office"):
        raise Forbidden("只有评审专家和协调小组办公室可以确认或否决指标标注。")
    document = document_or_404(session, user, document_id)
    if decision not in DECISIONS:
        raise HTTPException(status_code=400, detail="未知操作。")
    names = indicator_names(document.year)
    if names and indicator_no not in names:
        raise HTTPException(status_code=400, detail=f"指标编号 {indicator_no} 不在 {document.year} 年度的指标体系中。")
    target = parse_int(passage_id)
    if passage_id.strip() and target is None:  # a garbled passage id must not become a whole-document decision
        raise HTTPException(status_code=400, detail="段落编号无效，请刷新页面后重试。")
    try:
        decide(session, user, document.id, indicator_no, decision, passage_id=target)
    except EvidenceAccessError as exc:
        raise Forbidden(str(exc)) from None
    session.commit()
    index = open_index_or_none(request)
    if index is not None:
        try:
            update_index(settings_of(request), index, document.current_version_id)
        except Exception:  # the decision is saved; the index catches up at the next rebuild
            log.exception("index update after tag decision failed for document %s", document.id)
    version = session.get(DocumentVersion, document.current_version_id)
    chips = passage_tags(session, document, version, [target] if target else [], names).get(target, [])
    if request.headers.get("hx-request"):
        return render(request, "evidence/_tags.html", doc=document, chips=chips, passage_id=target, can_decide=True)
    page = session.get(Passage, target).page_no if target else 1
    anchor = f"&passage={target}#p-{target}" if target else ""
    return RedirectResponse(f"/evidence/{document.id}?page={page}{anchor}", status_code=303)
