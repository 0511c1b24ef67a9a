"""Full-text search over evidence passages, with facets and "similar passages".

The index does the permission filtering (allowed_units) so counts and facets never
reveal other units; the route adds an explicit refusal when a unit outside the
user's scope is asked for by parameter.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from evidence.accounts import visible_units
from evidence.models import DocumentVersion, Passage, Unit, User
from review.saved_searches import (PARAMS, SavedSearchError, clean_params, delete_search, saved_searches,
                                   save_search, search_url)
from review.tags import EvidenceAccessError, visible_document
from rubrics.units import resolve_unit

from ..security import Forbidden, client_ip
from ..web import db, redirect_with_message, render, user_of
from .evidence import MAX_ID, doc_kinds, indicator_names, open_index_or_none, parse_int

log = logging.getLogger("kaoping.web.search")
router = APIRouter()

PER_PAGE = 20
SORTS = {"relevance": "相关度", "date": "发文日期"}
INDEX_UNAVAILABLE = "检索索引尚未建立或正在重建，暂时无法检索。请稍后再试，或请管理员运行 kaoping reindex。"
NO_UNITS = "目前没有分配给您的单位，暂无可检索的证据。"


def search_index(request: Request):
    """The index, or None while it has not been built yet."""
    index = open_index_or_none(request)
    try:
        return index if index is not None and index.exists() else None
    except Exception:
        log.exception("index state unknown")
        return None


def scoped_units(session: Session, user: User, unit: str) -> list[str] | None:
    """The units the index may return for this user; refuses an out-of-scope unit filter."""
    allowed = visible_units(session, user)
    if unit and allowed is not None and unit not in allowed:
        raise Forbidden("您无权检索该单位的证据。")
    return allowed


# A condition typed into the query that the filters can hold: 单位:江苏, 年度:2023, 指标:12, 类型:政策文件.
TYPED_CONDITION = re.compile(r"(单位|省份|unit|年度|年份|year|指标|indicator|类型|kind)[:：](\S+)", re.I)
CONDITION_FILTER = {"单位": "unit", "省份": "unit", "unit": "unit", "年度": "year", "年份": "year", "year": "year",
                    "指标": "indicator", "indicator": "indicator", "类型": "kind", "kind": "kind"}
BOOLEAN_SYNTAX = re.compile(r"(^|\s)(OR|或|\|)(\s|$)|[()（）]")


def lift_conditions(q: str, filters: dict, kinds: dict[str, str], units: list[str] | None) -> tuple[str, dict]:
    """Conditions typed into the words (单位:江苏) become filters, shown as chips like a facet click, so
    they stay when the words change and can be removed with ×. Only a plain query's simple conditions
    move: one inside OR or brackets, an excluded one (-单位:…), a name that is no unit, a range or a
    value that contradicts a filter already chosen stays in the words for the query language to judge, and
    so does a unit outside `units` (the user's units; None: all), which the index simply finds nothing in."""
    if BOOLEAN_SYNTAX.search(q):
        return q, filters
    lifted, kept = dict(filters), []
    for token in q.split():
        match = TYPED_CONDITION.fullmatch(token)
        key = CONDITION_FILTER.get(match.group(1).lower() if match else "", "") if match else ""
        value = match.group(2) if match else ""
        if key == "unit":
            value = resolve_unit(value) or ""
            value = value if units is None or value in units else ""
        elif key in ("year", "indicator"):
            value = int(value) if value.isdigit() and len(value) <= 4 else ""
        elif key == "kind":
            value = value if value in kinds else next((code for code, label in kinds.items() if label == value), "")
        if not key or value in ("", None) or (lifted.get(key) and lifted[key] != value):
            kept.append(token)
            continue
        lifted[key] = value
    return " ".join(kept), lifted


@router.get("/search")
def search(request: Request, q: str = "", unit: str = "", year: str = "", kind: str = "", indicator: str = "",
           page: str = "", sort: str = "relevance", user: User = Depends(user_of), session: Session = Depends(db)):
    unit = resolve_unit(unit) or unit  # 江苏 or 江苏省 typed into the address works like JS
    kinds = {**doc_kinds(), "collection": "案例汇编", "briefing": "简报"}
    typed = {"q": q.strip()[:500], "unit": unit, "year": parse_int(year) or "", "kind": kind,
             "indicator": parse_int(indicator) or "", "sort": sort if sort in SORTS else "relevance"}
    words, filters = lift_conditions(typed["q"], typed, kinds, visible_units(session, user))
    filters["q"] = words
    if filters != typed:  # show the address of what is searched: the words, and the conditions as filters
        clean = link_builder(filters)(page=parse_int(page) or "")
        if not request.headers.get("hx-request"):
            return RedirectResponse(clean, status_code=303)
        request.state.replace_url = clean
    unit = filters["unit"]
    allowed = scoped_units(session, user, unit)
    page_no = max(parse_int(page) or 1, 1)
    units = unit_names(session)
    saved = saved_rows(session, user, units, kinds)
    session.commit()  # hand the connection back to the pool while the index is queried
    result, notice, query_error, nothing = None, "", "", None
    if allowed == []:
        notice = NO_UNITS
    elif filters["q"] or any(filters[k] for k in ("unit", "year", "kind", "indicator")):
        index = search_index(request)
        if index is None:
            notice = INDEX_UNAVAILABLE
        else:
            try:
                result = index.search(filters["q"], allowed_units=allowed, unit=unit or None,
                                      year=filters["year"] or None, kind=filters["kind"] or None,
                                      indicator=filters["indicator"] or None, page=page_no, per_page=PER_PAGE,
                                      sort=filters["sort"])
                query_error = result.query_error or ""
                if allowed is not None:  # belt and braces: never show a hit outside the user's units
                    result.hits = [h for h in result.hits if h.unit in allowed]
                if not result.total and not query_error:
                    nothing = why_nothing(index, filters, allowed)
            except Exception:
                log.exception("search failed")
                notice = INDEX_UNAVAILABLE
    context = dict(filters=filters, result=result, notice=notice, query_error=query_error, page=page_no,
                   nothing=nothing, replace_q=bool(getattr(request.state, "replace_url", "")),
                   sorts=SORTS, kinds=kinds, units=units, saved=saved,
                   indicators=indicator_names(filters["year"] or None), link=link_builder(filters))
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "search-results":
        response = render(request, "search/_results.html", **context)
        if getattr(request.state, "replace_url", ""):
            response.headers["HX-Push-Url"] = request.state.replace_url
        return response
    return render(request, "search/index.html", **context)


def why_nothing(index, filters: dict, allowed) -> dict:
    """Why a search found nothing, told apart: the conditions hold no evidence at all, or they do but
    none of it contains the words; and how many hits the words have without the conditions."""
    conditions = {key: filters[key] for key in ("unit", "year", "kind", "indicator") if filters[key]}
    if not conditions:
        return {"conditions": False}
    in_scope = index.search("", allowed_units=allowed, unit=conditions.get("unit"), year=conditions.get("year"),
                            kind=conditions.get("kind"), indicator=conditions.get("indicator"), page=1,
                            per_page=1).total
    anywhere = index.search(filters["q"], allowed_units=allowed, page=1, per_page=1).total if filters["q"] else 0
    return {"conditions": True, "in_scope": in_scope, "anywhere": anywhere}


def describe(params: dict, units: dict[str, str], kinds: dict[str, str]) -> str:
    """A saved search's words and filters as a person reads them: 检索词：工匠；单位：江苏；年度：2023."""
    parts = []
    if params.get("q"):
        parts.append(f"检索词：{params['q']}")
    if params.get("unit"):
        parts.append(f"单位：{units.get(params['unit'], params['unit'])}")
    if params.get("year"):
        parts.append(f"年度：{params['year']}")
    if params.get("kind"):
        parts.append(f"类型：{kinds.get(params['kind'], params['kind'])}")
    if params.get("indicator"):
        parts.append(f"指标：{params['indicator']}")
    if params.get("sort") in SORTS:
        parts.append(f"按{SORTS[params['sort']]}排序")
    return "；".join(parts)


def saved_rows(session: Session, user: User, units: dict[str, str] | None = None,
               kinds: dict[str, str] | None = None) -> list[dict]:
    """This user's saved searches with their address and a readable summary (search page and 工作台)."""
    units = units if units is not None else unit_names(session)
    kinds = kinds if kinds is not None else {**doc_kinds(), "collection": "案例汇编", "briefing": "简报"}
    return [{"id": s.id, "name": s.name, "url": search_url(s), "summary": describe(s.params, units, kinds)}
            for s in saved_searches(session, user)]


@router.post("/search/saved")
async def save(request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    """Save the search on the page under a name of the user's choosing."""
    form = await request.form()
    params = {key: str(form.get(key, "")) for key in PARAMS}
    params["unit"] = resolve_unit(params["unit"]) or params["unit"]
    try:
        saved = save_search(session, user, str(form.get("name", "")), params, ip=client_ip(request))
        session.commit()
    except SavedSearchError as exc:
        session.rollback()
        return redirect_with_message(request, link_builder(clean_params(params))(), str(exc), "error")
    return redirect_with_message(request, search_url(saved), f"已保存检索“{saved.name}”，可在检索页和工作台直接打开。")


@router.post("/search/saved/{search_id}/delete")
async def delete_saved(search_id: int, request: Request, user: User = Depends(user_of),
                       session: Session = Depends(db)):
    form = await request.form()
    back = "/" if form.get("next") == "/" else "/search"
    try:
        saved = delete_search(session, user, search_id, ip=client_ip(request))
        session.commit()
    except SavedSearchError as exc:
        session.rollback()
        return redirect_with_message(request, back, str(exc), "error")
    return redirect_with_message(request, back, f"已删除保存的检索“{saved.name}”。")


def unit_names(session: Session) -> dict[str, str]:
    from index.feed import OFFICE_UNIT
    return {OFFICE_UNIT: "协调小组办公室", **{u.code: u.short_name for u in session.exec(select(Unit))}}


def link_builder(filters: dict):
    """A function giving /search URLs that keep the current filters, changing some."""
    def link(**changes) -> str:
        params = {**filters, **changes}
        return "/search?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})
    return link


@router.get("/search/similar/{passage_id}")
def similar(request: Request, passage_id: int, user: User = Depends(user_of), session: Session = Depends(db)):
    passage = session.get(Passage, passage_id) if 0 < passage_id < MAX_ID else None
    version = session.get(DocumentVersion, passage.version_id) if passage else None
    try:
        if version is None:
            raise EvidenceAccessError("证据不存在或您无权查看。")
        document = visible_document(session, user, version.document_id)
    except EvidenceAccessError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    allowed = visible_units(session, user)
    hits, notice = [], ""
    index = search_index(request)
    if index is None:
        notice = INDEX_UNAVAILABLE
    else:
        try:
            hits = index.more_like_this(passage_id, allowed_units=allowed, limit=10)
        except Exception:
            log.exception("more-like-this failed")
            notice = INDEX_UNAVAILABLE
    if allowed is not None:  # belt and braces: never show a hit outside the user's units
        hits = [h for h in hits if h.unit in allowed]
    return render(request, "search/similar.html", passage=passage, document=document, hits=hits, notice=notice,
                  units=unit_names(session), kinds=doc_kinds())
