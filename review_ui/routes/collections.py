"""Case collections and briefings: collect passages, edit, reorder, export."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from sqlmodel import Session

from casebook import collections as C
from index.feed import publish_collection
from evidence.models import Collection, User

from ..security import Forbidden
from ..web import DOCX, db, generated_download, redirect_with_message, render, user_of

router = APIRouter()


def _editor(user: User) -> None:
    if not C.is_editor(user):
        raise Forbidden(C.EDITOR_ONLY)


def _collector(user: User) -> None:
    if not C.is_collector(user):
        raise Forbidden(C.COLLECTORS_ONLY)


def _int(value, label: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise C.CollectionError(f"{label}应为数字。") from None


@router.get("/collections")
def collections_list(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    _editor(user)
    return render(request, "collections/list.html", collections=C.all_collections(session))


@router.post("/collections")
async def collections_create(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    _editor(user)
    form = await request.form()
    try:
        c = C.create_collection(session, user, str(form.get("title", "")), _int(form.get("year"), "年度"),
                                kind=str(form.get("kind") or "collection"), preface=str(form.get("preface", "")))
        session.commit()
    except C.CollectionError as exc:
        return redirect_with_message(request, "/collections", str(exc), "error")
    return RedirectResponse(f"/collections/{c.id}", status_code=303)


def editor_page(request: Request, session: Session, user: User, c: Collection, status_code: int = 200,
                draft: dict | None = None, **extra):
    """The editor; `draft` holds what the user typed when a save was refused, so nothing is lost."""
    view = C.editor_view(session, user, c)
    return render(request, "collections/edit.html", status_code=status_code, c=c, view=view,
                  draft=draft or {}, statuses=C.ENTRY_STATUSES, **extra)


@router.get("/collections/{collection_id}")
def collection_edit(collection_id: int, request: Request, user: User = Depends(user_of),
                    session: Session = Depends(db)):
    """Reads only: link statuses are computed for the page, never stored by a GET."""
    _editor(user)
    return editor_page(request, session, user, C.get_collection(session, collection_id))


def entry_edits(form) -> list[C.EntryEdit]:
    """The editor's fields per entry (case_title-<id>, summary-<id>, section-<id>, status-<id>)."""
    edits = []
    for raw in form.getlist("entry"):
        eid = _int(raw, "条目")
        section = form.get(f"section-{eid}")
        edits.append(C.EntryEdit(
            eid, case_title=form.get(f"case_title-{eid}"), summary=form.get(f"summary-{eid}"),
            section_id="keep" if section is None else (_int(section, "栏目") if section else None),
            status=form.get(f"status-{eid}")))
    return edits


@router.post("/collections/{collection_id}")
async def collection_update(collection_id: int, request: Request, user: User = Depends(user_of),
                            session: Session = Depends(db)):
    """The editor's one save (title, preface, every entry), or a new section."""
    _editor(user)
    c = C.get_collection(session, collection_id)
    form = await request.form()
    url = f"/collections/{c.id}"
    try:
        if form.get("action") == "section":
            C.add_section(session, user, c, str(form.get("section_title", "")))
            message = "已新增栏目。"
        else:
            changed = C.save_editor(session, user, c, _int(form.get("revision"), "版本"),
                                    title=form.get("title"), preface=form.get("preface"), entries=entry_edits(form))
            message = f"已保存：{'、'.join(changed)}。" if changed else "没有需要保存的修改。"
        session.commit()
    except C.CollectionError as exc:
        session.rollback()
        if isinstance(exc, C.StaleRevision):  # keep what was typed on the page, with the reason
            draft = {k: v for k, v in form.multi_items() if k not in ("csrf_token", "revision")}
            return editor_page(request, session, user, c, status_code=409, draft=draft,
                               error=f"{exc}您填写的内容仍在下方；核对后再次保存，将以您的内容为准。")
        return redirect_with_message(request, url, str(exc), "error")
    return redirect_with_message(request, url, message)


ENTRY_CHANGES = {"delete": C.delete_entry, "restore": C.restore_entry}


@router.post("/collections/{collection_id}/entries/{entry_id}/{change}")
def entry_change(collection_id: int, entry_id: int, change: str, request: Request, user: User = Depends(user_of),
                 session: Session = Depends(db)):
    """Delete an entry (kept, so it can be undone) or restore it; in place with htmx, else back to the editor."""
    _editor(user)
    if change not in ENTRY_CHANGES:
        raise HTTPException(status_code=404, detail="页面或记录不存在。")
    c = C.get_collection(session, collection_id)
    try:
        entry = ENTRY_CHANGES[change](session, user, c, entry_id)
        session.commit()
    except C.CollectionError as exc:
        session.rollback()
        return _answer(request, c, error=str(exc))
    deleted = change == "delete"
    if request.headers.get("hx-request"):
        view = C.editor_view(session, user, c)
        if deleted:
            return render(request, "collections/_deleted_entry.html", c=c, e=entry, view=view)
        return render(request, "collections/_entry.html", c=c, e=entry, view=view, draft={},
                      statuses=C.ENTRY_STATUSES, restored=True)
    if deleted:
        return redirect_with_message(request, f"/collections/{c.id}#deleted",
                                     f"已删除条目“{entry.case_title}”，可在“已删除的条目”中撤销。")
    return redirect_with_message(request, f"/collections/{c.id}", f"已恢复条目“{entry.case_title}”。")


def _answer(request: Request, c: Collection, error: str):
    if request.headers.get("hx-request"):
        return HTMLResponse(f'<div class="flash error" role="alert">{_esc(error)}</div>', status_code=400,
                            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return redirect_with_message(request, f"/collections/{c.id}", error, "error")


@router.post("/collection-add")
async def collection_add_chosen(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    """The add-to-collection form shown beside passages, with the collection picked from a list."""
    form = await request.form()
    return await collection_add(_int(form.get("collection"), "汇编"), request, user, session)


@router.post("/collections/{collection_id}/add")
async def collection_add(collection_id: int, request: Request, user: User = Depends(user_of),
                         session: Session = Depends(db)):
    """From search hits, the viewer or the scoring screen: a passage becomes a candidate case."""
    _collector(user)
    form = await request.form()
    c = C.get_collection(session, collection_id)
    try:
        indicators = [int(n) for n in str(form.get("indicator_nos", "")).replace("，", ",").split(",") if n.strip().isdigit()]
        entry = C.add_passage(session, user, c, _int(form.get("passage_id"), "段落"), indicators,
                              note=str(form.get("note", ""))[:2000])
        session.commit()
    except C.CollectionError as exc:
        session.rollback()
        if request.headers.get("hx-request"):
            return HTMLResponse(f'<span class="flash error">{_esc(str(exc))}</span>', status_code=400)
        if user.role != "office":
            return HTMLResponse(f'<p class="flash error">{_esc(str(exc))}</p>', status_code=400)
        return redirect_with_message(request, f"/collections/{c.id}", str(exc), "error")
    if request.headers.get("hx-request"):
        return HTMLResponse(f'<span class="flash ok">已加入《{_esc(c.title)}》</span>')
    if user.role != "office":
        return HTMLResponse(f'<p class="flash ok">已加入《{_esc(c.title)}》。</p>')
    return redirect_with_message(request, f"/collections/{c.id}", f"已加入条目“{entry.case_title}”。")


@router.post("/collections/{collection_id}/reorder")
async def collection_reorder(collection_id: int, request: Request, user: User = Depends(user_of),
                             session: Session = Depends(db)):
    _editor(user)
    c = C.get_collection(session, collection_id)
    form = await request.form()
    try:
        ids = [int(x) for x in str(form.get("order", "")).split(",") if x.strip()]
        C.reorder(session, user, c, ids)
        session.commit()
    except (C.CollectionError, ValueError) as exc:
        session.rollback()
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"ok": True, "revision": c.revision})  # the editor's one save starts from it


@router.get("/collections/{collection_id}/propose")
def collection_propose(collection_id: int, request: Request, indicator: str = "", user: User = Depends(user_of),
                       session: Session = Depends(db)):
    _editor(user)
    c = C.get_collection(session, collection_id)
    no = int(indicator) if indicator.isdigit() else None
    return render(request, "collections/_proposals.html", c=c, proposals=C.propose(session, c.year, no))


@router.get("/collections/{collection_id}/export.docx")
def collection_docx(collection_id: int, request: Request, user: User = Depends(user_of),
                    session: Session = Depends(db)):
    """The DOCX as it stands, written nowhere else: a GET changes nothing (no link status, no index)."""
    _editor(user)
    c = C.get_collection(session, collection_id)
    return generated_download(f"{_filename(c.title)}.docx", lambda out: C.export_docx(session, c, out), DOCX)


@router.post("/collections/{collection_id}/export.docx")
def collection_publish(collection_id: int, request: Request, user: User = Depends(user_of),
                       session: Session = Depends(db)):
    """编发: the DOCX, with the state of its sources recorded and the collection made searchable by the
    office as evidence of indicator 19 — a change, so a POST with the form's token."""
    _editor(user)
    c = C.get_collection(session, collection_id)

    def write(out: Path) -> None:
        C.export_docx(session, c, out)
        session.commit()
        _publish(request, session, c)
    return generated_download(f"{_filename(c.title)}.docx", write, DOCX)


@router.get("/collections/{collection_id}/export.html")
def collection_html(collection_id: int, request: Request, user: User = Depends(user_of),
                    session: Session = Depends(db)):
    _editor(user)
    from reports.collection import collection_html as to_html
    return HTMLResponse(to_html(C.to_report_model(session, C.get_collection(session, collection_id))))


@router.get("/collections/{collection_id}/export.md")
def collection_md(collection_id: int, request: Request, user: User = Depends(user_of),
                  session: Session = Depends(db)):
    _editor(user)
    from reports.collection import collection_markdown
    c = C.get_collection(session, collection_id)
    return PlainTextResponse(collection_markdown(C.to_report_model(session, c)), media_type="text/markdown; charset=utf-8",
                             headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(_filename(c.title))}.md"})


def _filename(title: str) -> str:
    return "".join(ch for ch in title if ch not in '\\/:*?"<>|').strip() or "汇编"


def _esc(text: str) -> str:
    from markupsafe import escape
    return str(escape(text))


def _publish(request: Request, session: Session, c: Collection) -> None:
    """An exported collection becomes searchable (indicator 19) for the office; the index is best effort."""
    from .evidence import open_index_or_none
    index = open_index_or_none(request)
    if index is None:
        return
    try:
        publish_collection(session, index, c)
    except Exception:
        import logging
        logging.getLogger("kaoping.web").exception("collection %s not indexed", c.id)
