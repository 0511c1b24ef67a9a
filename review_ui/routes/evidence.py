"""Evidence: upload, the list with live processing states, the document viewer, download,
retry, withdrawal and reviewers' decisions on indicator tags.

Every URL naming a document goes through review.tags.visible_document, which
answers "missing" and "forbidden" alike so a URL cannot probe other units.
"""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from sqlmodel import Session, func, select

from evidence.accounts import visible_units
from evidence.models import Document, DocumentVersion, Page, Passage, Round, Unit, User
from evidence.store import FileStore
from review.evidence_policy import (WithdrawInvalid, WithdrawRefused, human_size, upload_refusal, withdraw_document,
                                    withdraw_refusal)
from review.document_history import FIND_MAX_CHARS, find_in_document, history as document_history
from review.document_meta import (FIELDS as META_FIELDS, MetadataInvalid, MetadataRefused, correct_metadata,
                                   edit_refusal as meta_edit_refusal, effective_for, effective_metadata)
from rubrics.units import in_national_order
from review.year_lock import closed_notice
from review.tags import DECISIONS, EvidenceAccessError, decide, passage_tags, visible_document, visible_documents
from index.feed import open_index, update_index
from ingest.submit import SubmitResult, retry as retry_version, submit

from ..security import Forbidden, client_ip
from ..web import attachment, db, default_year, highlight_terms, redirect_with_message, render, settings_of, user_of

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
    """Indicator names of the system in force for the year (the latest system when no year is given)."""
    from rubrics.indicators import load_system, system_in_force
    try:
        system = system_in_force(year) if year else load_system()
    except Exception as exc:  # names are a display aid: numbers alone still make sense
        log.warning("indicator system for %s unavailable: %s", year, exc)
        return {}
    return {i.no: i.name for i in system.indicators}


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
    """Documents with their current version, the notices a submitter should read (ingest's warnings,
    a near-duplicate among them) and the documents those notices name, to link to."""
    version_ids = [d.current_version_id for d in documents if d.current_version_id]
    versions = {v.id: v for v in session.exec(select(DocumentVersion).where(DocumentVersion.id.in_(version_ids)))}
    related_ids = {d.near_duplicate_of for d in documents}
    related_ids.discard(None)
    related = {d.id: d for d in session.exec(select(Document).where(Document.id.in_(related_ids)))}
    metas = effective_for(session, [(d, versions.get(d.current_version_id)) for d in documents])
    rows = []
    for d in documents:
        version = versions.get(d.current_version_id)
        rows.append({"doc": d, "version": version, "meta": metas[d.id], "state": version.state if version else "queued",
                     "notices": list(version.warnings) if version else [],
                     "related": [related[d.near_duplicate_of]] if d.near_duplicate_of in related else []})
    return rows


# ── list, upload, live states ───────────────────────────────────────────────

@router.get("/evidence")
def evidence_list(request: Request, unit: str | None = None, year: str | None = None, state: str | None = None,
                  status: str = "active", page: str | None = None,
                  user: User = Depends(user_of), session: Session = Depends(db)):
    allowed = visible_units(session, user)
    query = visible_documents(session, user, select(Document).join(
        DocumentVersion, DocumentVersion.id == Document.current_version_id, isouter=True))
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


def flatten(outcome: SubmitResult, archive: str | None = None) -> list[dict]:
    """One line per file: an archive's own line (how many of its files were taken) and then one line per
    member, each with its own outcome and the archive it came from."""
    own = {"filename": outcome.filename, "error": outcome.error, "notices": list(outcome.notices),
           "document_id": outcome.document.id if outcome.document else None,
           "duplicate_of": outcome.duplicate_of.id if outcome.duplicate_of else None, "archive": archive}
    if outcome.members:
        own.update(members=len(outcome.members), taken=outcome.taken)
    lines = [own] if (own["error"] or own["notices"] or own["document_id"] or not outcome.members) else []
    for member in outcome.members:
        lines.extend(flatten(member, outcome.filename))
    return lines


def state_rows(session: Session, user: User, document_ids: list[int]) -> list[dict]:
    if not document_ids:
        return []
    query = visible_documents(session, user, select(Document).where(Document.id.in_(document_ids)))
    return rows_for(session, list(session.exec(query.order_by(Document.id)).all()))


@router.get("/evidence/states")
def states(request: Request, ids: str = "", as_: str = Query("", alias="as"), user: User = Depends(user_of),
           session: Session = Depends(db)):
    """Live states, polled while something is unfinished: the upload page's panel, or (as=row, as=doc)
    one document's row of the evidence list or its viewer's state, after 重新处理 for instance."""
    tracked = parse_ids(ids)
    rows = state_rows(session, user, tracked)
    if as_ in STATE_FRAGMENTS and rows:
        return state_fragment(request, session, user, rows[0], as_)
    return render(request, "evidence/_states.html", state_rows=rows, tracked_ids=tracked)


STATE_FRAGMENTS = {"row": "evidence/_row.html", "doc": "evidence/_doc_state.html"}


def state_fragment(request: Request, session: Session, user: User, row: dict, kind: str):
    """One document's live state as its list row or viewer shows it (the templates poll while unfinished)."""
    document = row["doc"]
    withdrawable = set() if withdraw_refusal(session, user, document) else {document.id}
    return render(request, STATE_FRAGMENTS[kind], row=row, doc=document, version=row["version"], polled=True,
                  kinds=doc_kinds(), withdrawable=withdrawable)


# ── one document ────────────────────────────────────────────────────────────

@router.get("/evidence/{document_id}")
def view(request: Request, document_id: int, page: str | None = None, passage: str | None = None,
         find: str = "", q: str = "", back: str = "", user: User = Depends(user_of), session: Session = Depends(db)):
    document = document_or_404(session, user, document_id)
    return viewer(request, session, user, document, page=page, passage=passage, find=find, q=q,
                  back=search_back(back))


def search_back(back: str) -> str:
    """The search a hit was opened from, to return to (only our own search page: no open redirect)."""
    back = (back or "")[:2000]
    return back if back == "/search" or back.startswith("/search?") else ""


def viewer(request: Request, session: Session, user: User, document: Document, *, page: str | None = None,
           passage: str | None = None, find: str = "", q: str = "", status_code: int = 200, **extra):
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
    tags = passage_tags(session, user, document, version, [p.id for p in passages], names)
    uploader = session.get(User, document.uploaded_by) if document.uploaded_by else None
    withdrawer = session.get(User, document.withdrawn_by) if document.withdrawn_by else None
    find = find.strip()[:FIND_MAX_CHARS]
    found = find_in_document(session, version.id, find) if version and find else []
    kinds = doc_kinds()
    related = session.get(Document, document.near_duplicate_of) if document.near_duplicate_of else None
    return render(request, "evidence/view.html", status_code=status_code, doc=document, find=find, found=found,
                  q=q[:500], marks=highlight_terms(find, q), version=version, passages=passages,
                  history=document_history(session, user, document, kinds), meta=effective_metadata(session, document, version),
                  meta_fields=META_FIELDS, meta_refusal=meta_edit_refusal(session, user, document, version),
                  page_no=page_no, page_count=page_count, page_is_ocr=page_is_ocr, target_id=target.id if target else None,
                  tags=tags, doc_tags=tags.get(None, []), can_decide=user.role in ("reviewer", "office"),
                  kinds=kinds, uploader=uploader, withdrawer=withdrawer, unit=session.get(Unit, document.unit_code),
                  related=[related] if related is not None and related.status == "active" else [],
                  withdraw_refusal=withdraw_refusal(session, user, document), names=names,
                  closed=closed_notice(session, document.year),
                  ocr_pages=", ".join(str(n) for n in (version.ocr_pages if version else [])), **extra)


@router.post("/evidence/{document_id}/metadata")
async def correct(request: Request, document_id: int, user: User = Depends(user_of), session: Session = Depends(db)):
    """Correct the title, issuer, date, 文号 or kind; the search index is refreshed for this document."""
    document = document_or_404(session, user, document_id)
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in META_FIELDS if name in form}
    try:
        changed = correct_metadata(session, user, document, values, kinds=doc_kinds(), ip=client_ip(request))
    except MetadataRefused as exc:
        raise Forbidden(str(exc)) from None
    except MetadataInvalid as exc:
        session.rollback()
        return viewer(request, session, user, document, status_code=400, meta_error=str(exc), meta_draft=values)
    session.commit()
    if changed:
        reindex(request, document)
    message = (f"已更正：{'、'.join(changed)}。检索和导出将使用更正后的信息，原提取值仍可查看。" if changed
               else "文件信息没有变化。")
    return redirect_with_message(request, f"/evidence/{document.id}", message)


def reindex(request: Request, document: Document) -> None:
    """Feed the document's current version to the index again; the index is best effort (kaoping reindex repairs)."""
    index = open_index_or_none(request)
    if index is None or document.current_version_id is None:
        return
    try:
        update_index(settings_of(request), index, document.current_version_id)
    except Exception:
        log.exception("index update failed for document %s", document.id)


@router.get("/evidence/{document_id}/download")
def download(request: Request, document_id: int, user: User = Depends(user_of), session: Session = Depends(db)):
    document = document_or_404(session, user, document_id)
    version = session.get(DocumentVersion, document.current_version_id)
    path = FileStore(settings_of(request).files_dir).path_for(version.file_sha256)
    if not path.exists():
        raise HTTPException(status_code=404, detail="原始文件不在文件库中，请联系管理员。")
    # Always an attachment of an opaque type: an uploaded HTML or SVG must never run in our origin.
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"Content-Disposition": attachment(document.filename), "X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.post("/evidence/{document_id}/retry")
def retry(request: Request, document_id: int, as_: str = Form("", alias="as"), user: User = Depends(user_of),
          session: Session = Depends(db)):
    document = document_or_404(session, user, document_id)
    if user.role not in ("province", "office"):
        raise Forbidden("只有提交单位和协调小组办公室可以重新处理证据。")
    if document.status == "withdrawn":
        raise HTTPException(status_code=409, detail="已撤回的证据不能重新处理。")
    if not retry_version(session, document.current_version_id, user):
        raise HTTPException(status_code=409, detail="只有处理失败的证据才能重新处理。")
    session.commit()
    if request.headers.get("hx-request") and as_ in STATE_FRAGMENTS:  # the row or panel polls from here on
        return state_fragment(request, session, user, state_rows(session, user, [document.id])[0], as_)
    return RedirectResponse(f"/evidence/{document.id}", status_code=303)


@router.post("/evidence/{document_id}/withdraw")
def withdraw(request: Request, document_id: int, reason: str = Form(""), user: User = Depends(user_of),
             session: Session = Depends(db)):
    document = document_or_404(session, user, document_id)
    try:
        withdraw_document(session, user, document, reason, ip=client_ip(request))
    except WithdrawRefused as exc:
        raise Forbidden(str(exc)) from None
    except WithdrawInvalid as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
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
    reindex(request, document)  # the decision is saved; the index catches up at the next rebuild if this fails
    version = session.get(DocumentVersion, document.current_version_id)
    chips = passage_tags(session, user, document, version, [target] if target else [], names).get(target, [])
    if request.headers.get("hx-request"):
        return render(request, "evidence/_tags.html", doc=document, chips=chips, passage_id=target, can_decide=True)
    page = session.get(Passage, target).page_no if target else 1
    anchor = f"&passage={target}#p-{target}" if target else ""
    return RedirectResponse(f"/evidence/{document.id}?page={page}{anchor}", status_code=303)
