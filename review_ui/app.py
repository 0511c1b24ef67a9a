"""The web application: FastAPI + Jinja2 + htmx, Simplified Chinese throughout."""
from __future__ import annotations

import importlib
import logging
import os
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, TimeoutError as PoolTimeout

from evidence.config import Settings
from casebook.collections import CollectionError
from rounds.workflow import RoundError
from review.tags import EvidenceAccessError

from .guard import RequestGuard
from .security import LoginRequired, verify_csrf
from .sessions import ServerSessions
from .web import TEMPLATES_DIR, templates

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Each area of the app is a router in its own module exposing `router`.
ROUTE_MODULES = [
    "review_ui.routes.auth",
    "review_ui.routes.home",
    "review_ui.routes.evidence",
    "review_ui.routes.search",
    "review_ui.routes.scoring",
    "review_ui.routes.assignments",
    "review_ui.routes.progress",
    "review_ui.routes.admin",
    "review_ui.routes.tagger",
    "review_ui.routes.rounds",
    "review_ui.routes.statistics",
    "review_ui.routes.surveys",
    "review_ui.routes.collections",
]

log = logging.getLogger("kaoping.web")


def create_app(settings: Settings, run_worker: bool = False) -> FastAPI:
    worker = None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        nonlocal worker
        await anyio.to_thread.run_sync(_warm_up, app, settings)
        threading.Thread(target=_prepare_scoring, args=(settings,), name="kaoping-scoring-warm", daemon=True).start()
        if run_worker:  # supervised worker process(es): restarted when one dies (ingest.supervisor)
            from ingest.supervisor import Supervisor
            worker = Supervisor(settings)
            worker.start()
        yield
        if worker is not None:
            worker.shutdown()

    app = FastAPI(title="考评", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(verify_csrf)])
    app.state.settings = settings
    # Innermost first: the guard needs the live session, the security headers wrap every answer,
    # and a trusted proxy's X-Forwarded-For (only then) sets the client's address for all of them.
    app.add_middleware(RequestGuard, settings=settings, respond=error_page,
                       max_parallel_uploads=settings.max_parallel_uploads)
    secret = settings.secret_key_file.read_text(encoding="utf-8").strip()
    app.add_middleware(ServerSessions, settings=settings, secret=secret,
                       https=os.environ.get("KAOPING_INSECURE_COOKIES") != "1"
                       and os.environ.get("KAOPING_HTTPS", "0") == "1")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        # Many pages answer htmx with a fragment and a browser with the whole page at the same URL:
        # without Vary the browser's Back button can show a cached, unstyled fragment.
        vary = response.headers.get("Vary", "")
        if "hx-request" not in vary.lower():
            response.headers["Vary"] = f"{vary}, HX-Request" if vary else "HX-Request"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "frame-ancestors 'none'")
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired):
        if request.headers.get("hx-request"):
            return HTMLResponse("", status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(StarletteHTTPException)  # the base class: unknown routes and /static misses too
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "请求无法完成。"
        if exc.status_code == 404 and message == "Not Found":
            message = "页面或记录不存在。"
        if exc.status_code == 405:
            message = "不支持此操作。"
        return error_page(request, exc.status_code, message)

    @app.exception_handler(RoundError)
    @app.exception_handler(CollectionError)
    async def round_error(request: Request, exc: ValueError):
        return error_page(request, 400, str(exc))

    # Bad input that slipped past a route's own checks still gets a Chinese answer, never a 500:
    # numbers too large for the database, text where a number belongs, references to missing rows.
    @app.exception_handler(OverflowError)  # SQLite
    @app.exception_handler(DataError)  # PostgreSQL: a value out of the column's range
    async def number_too_large(request: Request, exc: Exception):
        return error_page(request, 400, "提交的数字超出允许范围，请检查后重试。")

    # SQLite's "database is locked" after its busy timeout, a PostgreSQL restart, an exhausted pool:
    # the request changed nothing and may simply be tried again.
    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_busy(request: Request, exc: Exception):
        log.warning("database busy or unavailable for %s %s: %s", request.method, request.url.path, exc)
        response = error_page(request, 503, "系统正忙（数据库暂时无法处理请求），本次操作未生效。请稍等片刻后重试。")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(IntegrityError)
    async def dangling_reference(request: Request, exc: IntegrityError):
        return error_page(request, 400, "提交的内容引用了不存在或冲突的记录，未做任何修改。")

    @app.exception_handler(ValueError)
    async def malformed_value(request: Request, exc: ValueError):
        return error_page(request, 400, "提交的内容格式不对（例如应填数字处填了文字），未做任何修改。")

    @app.exception_handler(EvidenceAccessError)
    async def evidence_denied(request: Request, exc: EvidenceAccessError):
        return error_page(request, 404, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return error_page(request, 422, f"提交的内容不完整或格式不对：{field_labels(exc.errors())}。请检查后重试。")

    if settings.trusted_proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

    from index.query import configure_unit_names
    from rubrics.units import typed_names
    configure_unit_names(typed_names())  # 单位:江苏 in a query means JS
    for name in ROUTE_MODULES:
        app.include_router(importlib.import_module(name).router)
    return app


# What a form field or address part is called on the page, for the rare request that fails FastAPI's own
# checks (a number where the address wants one, a missing required field).
FIELD_NAMES = {
    "year": "年度", "unit": "单位", "unit_code": "单位", "indicator_no": "指标编号", "indicators": "指标编号",
    "document_id": "证据", "passage_id": "段落", "collection_id": "案例汇编", "entry_id": "条目", "search_id": "检索",
    "user_id": "用户", "reviewer_id": "评审专家", "conflict_id": "回避记录", "decision": "操作", "reason": "原因",
    "files": "文件", "page": "页码", "level": "等级", "rationale": "评分理由", "active": "启用状态",
    "username": "用户名", "password": "密码", "display_name": "姓名", "role": "角色", "email": "电子邮箱",
    "home_unit": "所在省份", "name": "名称", "q": "检索词", "kind": "类型", "value": "数值",
}


def field_labels(errors) -> str:
    """The Chinese names of the fields that failed validation; never their internal names."""
    labels = []
    for error in errors:
        loc = error.get("loc") or ()
        name = next((part for part in reversed(loc) if isinstance(part, str) and part in FIELD_NAMES), None)
        label = FIELD_NAMES[name] if name else "某项内容"
        if label not in labels:
            labels.append(label)
    return "、".join(labels) or "某项内容"


def _warm_up(app: FastAPI, settings: Settings) -> None:
    """Load, before the first request is served, what every process otherwise
    loads on its first requests: the app's one EvidenceIndex with its searcher
    and facet tables, the segmenter and its dictionary, the indicator system,
    the tagging rules, the page templates. When fifty reviewers log in at the
    moment a server starts, those requests all queued behind these loads."""
    from index.feed import open_index
    try:
        index = open_index(settings)
        app.state.evidence_index = index
        index.warm()
    except Exception:  # routes report a missing or broken index themselves
        log.exception("search index unavailable at start")
    for step in _WARM_STEPS:
        try:
            step()
        except Exception:  # a page that needs it will say what is wrong
            log.exception("warming up failed: %s", step.__doc__)


def _warm_text() -> None:
    """segmenter, traditional-to-simplified folding"""
    from zhtext.chinese import default_segmenter, fold
    default_segmenter().cut("产业工人队伍建设改革")
    fold("產業工人")


def _warm_rubrics() -> None:
    """indicator system, tagging rules"""
    from rubrics.indicators import load_system
    from tagging.rules import default_rulebook
    load_system()
    default_rulebook()


def _warm_templates() -> None:
    """page templates"""
    for path in sorted(TEMPLATES_DIR.rglob("*.html")):
        templates.env.get_template(path.relative_to(TEMPLATES_DIR).as_posix())


_WARM_STEPS = (_warm_text, _warm_rubrics, _warm_templates)


def _prepare_scoring(settings: Settings) -> None:
    """In the background once serving: the evidence ranking of each unit the round in
    progress assigns (~0.1 s a unit), so the first scoring screens open as fast as the rest."""
    from evidence.db import session_scope
    from review.evidence_rank import prepare_units
    from review.ratings import assigned_items
    from tagging.evidence_rank import unit_texts
    from tagging.tagger import default_tagger
    from .web import default_year

    try:
        with session_scope(settings.database_url) as session:
            year = default_year(session)
            model = default_tagger(year).model

            def prepare(texts):  # what every indicator's ranking of the unit shares
                unit = unit_texts(texts)
                if model is not None:
                    unit.model_scores(model)

            units = sorted({unit for unit, _ in assigned_items(session, year)})
            prepare_units(session, year, units, prepare)
    except Exception:
        log.exception("preparing the scoring screens failed")


def app_from_environment() -> FastAPI:
    """The app of one of ``kaoping serve --workers N``'s processes (data directory from the environment)."""
    return create_app(Settings.load(), run_worker=False)


def error_page(request: Request, status: int, message: str):
    if request.headers.get("hx-request"):
        return HTMLResponse(f'<div class="flash error" role="alert">{_escape(message)}</div>', status_code=status,
                            headers={"HX-Reswap": "innerHTML", "HX-Retarget": "#flash"})
    if wants_json(request):  # the upload script shows this message on the file's own row
        return JSONResponse({"error": message, "results": []}, status_code=status)
    back = back_link(request)
    user = None if status == 401 else page_user(request)
    return templates.TemplateResponse(request, "error.html", {
        "status": status, "message": message, "back": back, "user": user,
        # a login that ended: log in again and come back to the page the form was on
        "login_again": f"/login?{urlencode({'next': back})}" if status == 401 else ""}, status_code=status)


def page_user(request: Request):
    """The logged-in user for an error page: set by the route's dependency, or — for an address no route
    answers — looked up from the live session, so the page keeps the menu and the user's name."""
    user = getattr(request.state, "user", None)
    uid = request.scope.get("session", {}).get("uid") if user is None else None
    if uid is None:
        return user
    from sqlmodel import Session as DbSession

    from evidence.db import get_engine
    from evidence.models import User
    settings = getattr(getattr(request.scope.get("app"), "state", None), "settings", None)
    if settings is None:  # answered before the app (the request guard, in a bare test): the page without a menu
        return None
    try:
        with DbSession(get_engine(settings.database_url), expire_on_commit=False) as session:
            found = session.get(User, uid)
    except Exception:  # noqa: BLE001 - an error page must never fail itself: show it without the menu
        log.exception("the error page could not look up the logged-in user")
        return None
    return found if found is not None and found.active else None


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def back_link(request: Request) -> str:
    """Where “返回上一页” goes: the page the user came from on this site, else the home page.
    A plain link, because the CSP (rightly) blocks javascript: URLs."""
    referer = urlsplit(request.headers.get("referer", ""))
    own = urlsplit(str(request.base_url))
    if referer.netloc != own.netloc or not referer.path.startswith("/") or referer.path.startswith("//"):
        return "/"
    if referer.path == request.url.path and request.method == "GET":
        return "/"  # reloading the failing page is no way back
    return referer.path + (f"?{referer.query}" if referer.query else "")


def _escape(text: str) -> str:
    from markupsafe import escape
    return str(escape(text))
