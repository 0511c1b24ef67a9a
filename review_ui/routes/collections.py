"""Case collections and briefings: collect passages, edit, reorder, export."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from sqlmodel import Session, select

from casebook import collections as C
from index.feed import publish_collection
from review.links import links_of
from evidence.models import Collection, CollectionEntry, Unit, User

from ..security import Forbidden
from ..web import DOCX, db, generated_download, redirect_with_message, render, user_of

router = APIRouter()


def _editor(user: User) -> None:
    if user.role != "office":
        raise Forbidden("只有协调小组办公室可以查看和编辑案例汇编。")


def _collector(user: User) -> None:
    if user.role not in ("office", "reviewer"):
        raise Forbidden("只有协调小组办公室和评审专家可以向案例汇编推荐段落。")


def _get(session: Session, collection_id: int) -> Collection:
    c = session.get(Collection, collection_id)
    if c is None:
        raise C.CollectionError("汇编不存在。")
    return c


def _int(value, label: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise C.CollectionError(f"{label}应为数字。") from None


@router.get("/collections")
def collections_list(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    _editor(user)
    rows = session.exec(select(Collection).order_by(Collection.year.desc(), Collection.id.desc())).all()
    return render(request, "collections/list.html", collections=rows)


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


@router.get("/collections/{collection_id}")
def collection_edit(collection_id: int, request: Request, user: User = Depends(user_of),
                    session: Session = Depends(db)):
    _editor(user)
    c = _get(session, collection_id)
    entries = C.entries_of(session, c)
    links = {e.id: links_of(session, "collection_entry", e.id) for e in entries}
    for items in links.values():
        for link in items:
            C.refresh_link_status(session, link)
    session.commit()
    units = {u.code: u.name for u in session.exec(select(Unit))}
    return render(request, "collections/edit.html", c=c, sections=C.sections_of(session, c), entries=entries,
                  links=links, units=units)


@router.post("/collections/{collection_id}")
async def collection_update(collection_id: int, request: Request, user: User = Depends(user_of),
                            session: Session = Depends(db)):
    _editor(user)
    c = _get(session, collection_id)
    form = await request.form()
    url = f"/collections/{c.id}"
    try:
        action = form.get("action")
        if action == "meta":
            C.update_meta(session, user, c, title=str(form.get("title", c.title)),
                          preface=str(form.get("preface", "")), expected_revision=_int(form.get("revision"), "版本"))
        elif action == "section":
            C.add_section(session, user, c, str(form.get("section_title", "")))
        elif action == "entry":
            entry = session.get(CollectionEntry, _int(form.get("entry_id"), "条目"))
            if entry is None or entry.collection_id != c.id:
                raise C.CollectionError("条目不属于该汇编。")
            section = form.get("section_id")
            C.update_entry(session, user, entry, case_title=str(form.get("case_title", "")),
                           summary=str(form.get("summary", "")), section_id=int(section) if section else None,
                           status=str(form.get("status") or entry.status),
                           expected_revision=_int(form.get("revision"), "版本"))
        else:
            raise C.CollectionError("未知操作。")
        session.commit()
    except C.CollectionError as exc:
        session.rollback()
        return redirect_with_message(request, url, str(exc), "error")
    return redirect_with_message(request, url, "已保存。")


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
    c = _get(session, collection_id)
    try:
        indicators = [int(n) for n in str(form.get("indicator_nos", "")).replace("，", ",").split(",") if n.strip().isdigit()]
        entry = C.add_passage(session, user, c, _int(form.get("passage_id"), "段落"), indicators,
                              note=str(form.get("note", ""))[:2000])
        session.commit()
    except C.CollectionError as exc:
        session.rollback()
        if request.headers.get("hx-request"):
            return HTMLResponse(f'<span class="flash error">{_esc(str(exc))}</span>', status_code=400)
        return redirect_with_message(request, f"/collections/{c.id}", str(exc), "error")
    if request.headers.get("hx-request"):
        return HTMLResponse(f'<span class="flash ok">已加入《{_esc(c.title)}》</span>')
    if user.role != "office":
        return HTMLResponse(f'<p class="flash ok">已加入《{_esc(c.title)}》。</p>')
    return redirect_with_message(request, f"/collections/{c.id}", f"已加入条目 {entry.id}。")


@router.post("/collections/{collection_id}/reorder")
async def collection_reorder(collection_id: int, request: Request, user: User = Depends(user_of),
                             session: Session = Depends(db)):
    _editor(user)
    c = _get(session, collection_id)
    form = await request.form()
    try:
        ids = [int(x) for x in str(form.get("order", "")).split(",") if x.strip()]
        C.reorder(session, user, c, ids)
        session.commit()
    except (C.CollectionError, ValueError) as exc:
        session.rollback()
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"ok": True, "revision": c.revision})


@router.get("/collections/{collection_id}/propose")
def collection_propose(collection_id: int, request: Request, indicator: str = "", user: User = Depends(user_of),
                       session: Session = Depends(db)):
    _editor(user)
    c = _get(session, collection_id)
    no = int(indicator) if indicator.isdigit() else None
    return render(request, "collections/_proposals.html", c=c, proposals=C.propose(session, c.year, no))


@router.get("/collections/{collection_id}/export.docx")
def collection_docx(collection_id: int, request: Request, user: User = Depends(user_of),
                    session: Session = Depends(db)):
    _editor(user)
    c = _get(session, collection_id)

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
    return HTMLResponse(to_html(C.to_report_model(session, _get(session, collection_id))))


@router.get("/collections/{collection_id}/export.md")
def collection_md(collection_id: int, request: Request, user: User = Depends(user_of),
                  session: Session = Depends(db)):
    _editor(user)
    from reports.collection import collection_markdown
    c = _get(session, collection_id)
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
