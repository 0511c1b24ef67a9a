"""What every route needs: templates, the database session, the current user."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from sqlmodel import Session

from evidence.config import Settings
from evidence.db import get_engine
from evidence.models import ROLES, User

from evidence.states import UNFINISHED, VERSION_LABELS
from review.evidence_policy import UNSET as EVIDENCE_DEADLINE_UNSET, deadline_of, human_size
from rubrics.units import in_national_order, unit_name, unit_names
from zhtext.sentences import clause, sentence

from .security import csrf_token, current_user

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals.update(ROLES=ROLES, csrf_token=csrf_token)

STATE_LABELS = VERSION_LABELS
templates.env.globals.update(STATE_LABELS=STATE_LABELS, UNFINISHED_STATES=sorted(UNFINISHED))

# What a person reads, in one place: unit names (never codes), the national order of units,
# Beijing time, Chinese dates and sizes. Templates use these instead of formatting on their own.
CHINA_TIME = timezone(timedelta(hours=8), "北京时间")  # Asia/Shanghai: no daylight saving since 1991


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored instant in Beijing time. The database keeps UTC; SQLite hands it back without a zone."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(CHINA_TIME).strftime(fmt)


def chinese_date(value: date | datetime | None) -> str:
    """2024年2月28日."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = datetime.fromisoformat(local_time(value, "%Y-%m-%dT%H:%M")).date()
    return f"{value.year}年{value.month}月{value.day}日"


def days_left(value: date | None, today: date | None = None) -> int | None:
    """Whole days from today (Beijing) to a due date; negative once it has passed."""
    if value is None:
        return None
    today = today or datetime.now(CHINA_TIME).date()
    return (value - today).days


QUERY_OPERATORS = {"OR", "AND", "NOT", "与", "或", "非", "且"}


def highlight_terms(*queries: str) -> list[str]:
    """The plain words of a search or find box, to mark in a document: no operators, no field
    conditions (单位:江苏), no excluded words; longest first so overlapping terms mark whole."""
    terms = []
    for query in queries:
        for token in (query or "").replace("“", '"').replace("”", '"').split():
            token = token.strip('"()')
            if not token or token in QUERY_OPERATORS or token.startswith("-") or ":" in token or "：" in token:
                continue
            if token not in terms:
                terms.append(token[:100])
    return sorted(terms, key=len, reverse=True)[:20]


def highlight(text: str, terms: list[str]) -> Markup:
    """The text, escaped, with each term wrapped in <mark>."""
    if not terms:
        return Markup.escape(text)
    import re
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(Markup.escape(text[last:m.start()]))
        out.append(Markup("<mark>%s</mark>") % m.group(0))
        last = m.end()
    out.append(Markup.escape(text[last:]))
    return Markup("").join(out)


ROUND_STATUS = {"open": "进行中", "spotcheck": "抽查阶段", "review": "评审阶段", "closed": "已结束"}
templates.env.globals.update(unit_name=unit_name, unit_names=unit_names, days_left=days_left, ROUND_STATUS=ROUND_STATUS,
                             evidence_deadline_of=deadline_of, EVIDENCE_DEADLINE_UNSET=EVIDENCE_DEADLINE_UNSET)
# `sentence` and `clause` (zhtext/sentences.py): a reason put into a longer sentence never doubles its 。
templates.env.filters.update(sentence=sentence, clause=clause)
templates.env.filters.update(highlight=highlight, local_time=local_time, chinese_date=chinese_date, size=human_size,
                             national_order=lambda items, attribute="code": in_national_order(
                                 items, code=lambda item: getattr(item, attribute, None) if not isinstance(item, dict)
                                 else item.get(attribute)))


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def db(request: Request) -> Iterator[Session]:
    with Session(get_engine(settings_of(request).database_url), expire_on_commit=False) as session:
        yield session


def user_of(request: Request, session: Session = Depends(db)) -> User:
    user = current_user(request, session)
    request.state.user = user
    return user


def default_year(session: Session) -> int:
    """The year pages open on: the latest round, or last year when there is none."""
    from sqlmodel import select

    from evidence.models import Round
    latest = session.exec(select(Round.year).order_by(Round.year.desc())).first()
    return latest or date.today().year - 1


def editable_collections(request: Request) -> list:
    """Collections this user may add passages to (for the add-to-collection control), once per request."""
    user = getattr(request.state, "user", None)
    if user is None or user.role not in ("office", "reviewer"):
        return []
    if not hasattr(request.state, "collections"):
        from sqlmodel import select

        from evidence.models import Collection
        with Session(get_engine(settings_of(request).database_url)) as session:
            request.state.collections = list(session.exec(
                select(Collection).order_by(Collection.updated_at.desc()).limit(30)))
    return request.state.collections


templates.env.globals["editable_collections"] = editable_collections


@pass_context
def demo_notice(context) -> str:
    """The banner a page carries while it shows demo data: the round it shows (its `rnd` or `year`) is a
    demo round, or — on a page of no particular year — the system holds demo rounds at all."""
    request = context.get("request")
    if request is None or context.get("user") is None:
        return ""
    if not hasattr(request.state, "demo_years"):
        from sqlmodel import select

        from evidence.models import Round
        with Session(get_engine(settings_of(request).database_url)) as session:
            request.state.demo_years = set(session.exec(select(Round.year).where(Round.is_demo == True)))  # noqa: E712
    years = request.state.demo_years
    rnd, year = context.get("rnd"), context.get("year")
    shown = getattr(rnd, "year", None) if rnd is not None else (year if isinstance(year, int) else None)
    if not years or (shown is not None and shown not in years):
        return ""
    if shown is not None:
        return f"演示数据：本页的 {shown} 年度评价由演示程序生成，内容均为虚构，仅供熟悉系统使用。"
    return "演示数据：本系统载有演示程序生成的评价数据，内容均为虚构，仅供熟悉系统使用。"


templates.env.globals["demo_notice"] = demo_notice


def redirect_with_message(request: Request, url: str, message: str = "", kind: str = "ok"):
    """Redirect after a POST, carrying the outcome in the session (never in the URL, where a crafted
    link could make the app display any text it likes)."""
    from fastapi.responses import RedirectResponse
    if message:
        request.session["flash"] = {"kind": kind, "message": message}
    return RedirectResponse(url, status_code=303)


def take_flash(request: Request) -> dict:
    """The message left by the previous request, as {"error": …} or {"ok": …}; shown once."""
    flash = request.session.pop("flash", None)
    return {flash["kind"]: flash["message"]} if flash else {}


def render(request: Request, name: str, status_code: int = 200, **context):
    context.setdefault("user", getattr(request.state, "user", None))
    for kind, message in take_flash(request).items():
        context.setdefault(kind, message)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(filename: str) -> str:
    """Content-Disposition for a download: always an attachment, under the file's normalised name
    (evidence/file_policy.safe_name — a name stored before that rule, like "run.bat.", is offered as
    Windows would save it) in RFC 5987 `filename*`, with a plain-ASCII `filename` for old clients."""
    from urllib.parse import quote

    from evidence.file_policy import safe_name
    name = safe_name(filename)
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;%' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def generated_download(filename: str, write, media_type: str):
    """A file written on demand into a private temp folder, removed once it has been sent."""
    import shutil
    import tempfile

    from fastapi.responses import FileResponse
    from starlette.background import BackgroundTask
    out = Path(tempfile.mkdtemp(prefix="kaoping-export-")) / filename
    try:
        write(out)
    except BaseException:
        shutil.rmtree(out.parent, ignore_errors=True)
        raise
    return FileResponse(out, filename=out.name, media_type=media_type,
                        background=BackgroundTask(shutil.rmtree, out.parent, True))
