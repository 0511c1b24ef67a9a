"""Satisfaction surveys: the office's pages (publish, close, links and QR codes, import, results) and the
public answer page reached by a survey's link, without an account, on a phone.

The public page is the one place a form is posted without a session (review_ui/security.is_public_form;
the RequestGuard caps its body at 16 KB).  In place of the session's CSRF token it carries a signed
one-time page token binding the survey, the browser and a nonce; the browser's id lives in a signed
cookie scoped to the survey's path.  One response per browser and per page, a rate per address (kept
as a keyed hash, never the address itself), a cap per survey and a honeypot field are enforced by
rounds/surveys.record_answer and here; since a fresh cookie jar is a new "browser", what one address
sends beyond its daily share, in a burst or as identical sheets is held for the office, which counts
or discards it on the survey's page (POST …/held).
"""
from __future__ import annotations

import hashlib
import hmac
import io
import os
import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from evidence.models import Survey, User
from rounds import surveys as S
from rounds.sheets import SheetRejected
from rounds.survey_sheet import write_links, write_response_template
from rounds.workflow import RoundError, get_round
from rubrics.questionnaires import AUDIENCES, load_questionnaires

from ..security import PUBLIC_FORM, client_ip, require_role
from ..web import XLSX, attachment, db, generated_download, redirect_with_message, render, settings_of, templates, user_of

router = APIRouter()

PAGE_MAX_AGE = 6 * 3600  # a page left open longer than a working day's half must be reloaded
BROWSER_COOKIE = "kaoping_survey"
HONEYPOT = "website"  # hidden from people; a form-filling script fills it
CSV = "text/csv; charset=utf-8"


# ── the public page ─────────────────────────────────────────────────────────

def _secret(request: Request) -> str:
    return settings_of(request).secret_key_file.read_text(encoding="utf-8").strip()


def _serializer(request: Request, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(request), salt=f"kaoping-survey-{purpose}")


def _address_hash(request: Request) -> str:
    """A keyed hash of the client's address: enough to count answers per address, useless to find it."""
    return hmac.new(_secret(request).encode(), client_ip(request).encode(), hashlib.sha256).hexdigest()[:32]


def _browser(request: Request, token: str) -> str | None:
    """This browser's id for the survey, from its signed cookie (None when absent or forged)."""
    raw = request.cookies.get(BROWSER_COOKIE)
    if not raw:
        return None
    try:
        browser, for_token = _serializer(request, "browser").loads(raw)
    except (BadSignature, ValueError, TypeError):
        return None
    return browser if for_token == token else None


def _public(request: Request, name: str, status: int = 200, **context):
    return templates.TemplateResponse(request, name, context, status_code=status,
                                      headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _unavailable(request: Request, exc: S.SurveyUnavailable):
    return _public(request, "surveys/public_message.html", exc.status, title=exc.title, message=exc.message)


def _survey_for(session: Session, token: str) -> Survey:
    """The survey of a link; a token that cannot be one is unknown without asking the database."""
    return S.survey_by_token(session, token if PUBLIC_FORM.fullmatch(f"/s/{token}") else "")


def _form_page(request: Request, survey: Survey, browser: str, status: int = 200, *, answers=None, problems=None):
    q = load_questionnaires()[survey.audience]
    page = _serializer(request, "page").dumps({"s": survey.id, "b": browser, "n": secrets.token_urlsafe(16)})
    response = _public(request, "surveys/answer.html", status, survey=survey, q=q, page_token=page,
                       answers=answers or {}, problems=problems or [], honeypot=HONEYPOT)
    https = request.url.scheme == "https" or os.environ.get("KAOPING_HTTPS", "0") == "1"
    response.set_cookie(BROWSER_COOKIE, _serializer(request, "browser").dumps([browser, survey.token]),
                        max_age=365 * 24 * 3600, path=f"/s/{survey.token}", httponly=True, samesite="lax",
                        secure=bool(https))
    return response


@router.get("/s/{token}")
def survey_page(token: str, request: Request, session: Session = Depends(db)):
    try:
        survey = _survey_for(session, token)
        S.check_answerable(session, survey)
    except S.SurveyUnavailable as exc:
        return _unavailable(request, exc)
    browser = _browser(request, token)
    if browser and S.answered(session, survey, browser_key(browser)):
        already = S.already_answered()
        return _public(request, "surveys/public_message.html", title=already.title, message=already.message)
    return _form_page(request, survey, browser or secrets.token_urlsafe(16))


def browser_key(browser: str) -> str:
    """What is stored of a browser's id: its hash (the id itself stays in the browser's cookie)."""
    return hashlib.sha256(browser.encode()).hexdigest()


@router.post("/s/{token}")
async def survey_answer(token: str, request: Request, session: Session = Depends(db)):
    try:
        survey = _survey_for(session, token)
    except S.SurveyUnavailable as exc:
        return _unavailable(request, exc)
    form = await request.form()
    if str(form.get(HONEYPOT) or "").strip():
        return _thanks(request)  # a script filled the invisible field: say thanks, store nothing
    try:
        page = _serializer(request, "page").loads(str(form.get("page_token", "")), max_age=PAGE_MAX_AGE)
    except SignatureExpired:
        return _unavailable(request, S.SurveyUnavailable(400, "页面打开时间过长，已失效。请重新打开问卷链接填写。",
                                                         "页面已失效"))
    except BadSignature:
        return _unavailable(request, S.SurveyUnavailable(400, "页面无效，请重新打开问卷链接填写。", "页面无效"))
    browser = _browser(request, token)
    if not isinstance(page, dict) or page.get("s") != survey.id:
        return _unavailable(request, S.SurveyUnavailable(400, "页面与问卷不符，请重新打开问卷链接填写。", "页面无效"))
    if browser is None or page.get("b") != browser:
        return _unavailable(request, S.SurveyUnavailable(
            400, "无法确认是同一浏览器提交的。请允许浏览器保存 Cookie，然后重新打开问卷链接填写。", "无法提交"))
    raw = {key: str(value) for key, value in form.items() if isinstance(value, str)}
    try:
        S.record_answer(session, survey, raw, browser=browser_key(browser), nonce=str(page.get("n", ""))[:64],
                        ip_hash=_address_hash(request))
        session.commit()
    except S.AnswerIncomplete as exc:
        session.rollback()
        return _form_page(request, survey, browser, 400, answers=raw, problems=exc.problems)
    except S.SurveyUnavailable as exc:
        session.rollback()
        return _unavailable(request, exc)
    except IntegrityError:  # the same browser or page, twice at the same moment
        session.rollback()
        return _unavailable(request, S.already_answered())
    return _thanks(request)


def _thanks(request: Request):
    return _public(request, "surveys/public_message.html", title="提交成功",
                   message="问卷已提交，感谢您的参与！您的回答将以匿名方式统计。")


# ── the office ──────────────────────────────────────────────────────────────

def _link(request: Request, survey: Survey) -> str:
    return f"{str(request.base_url).rstrip('/')}/s/{survey.token}"


def _own_survey(session: Session, year: int, survey_id: int) -> Survey:
    survey = session.get(Survey, survey_id) if 0 < survey_id < 2 ** 62 else None
    if survey is None or survey.year != year:
        raise RoundError("问卷不存在。")
    return survey


@router.get("/rounds/{year}/surveys")
def surveys_page(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    return render(request, "surveys/office.html", **S.overview(session, year), audiences=AUDIENCES,
                  max_responses=S.DEFAULT_MAX_RESPONSES, draft={})


@router.post("/rounds/{year}/surveys/publish")
async def surveys_publish(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    units = [str(u) for u in form.getlist("unit") if u]
    audiences = [str(a) for a in form.getlist("audience") if a]
    draft = {"unit": units, "audience": audiences, "max_responses": str(form.get("max_responses") or "")}
    try:
        try:
            cap = int(str(form.get("max_responses") or S.DEFAULT_MAX_RESPONSES))
        except ValueError:
            raise RoundError("份数上限应为整数。") from None
        if not audiences:
            raise RoundError("请至少选择一类问卷对象。")
        published = S.publish(session, user, year, units=units or None, audiences=audiences, max_responses=cap,
                              ip=client_ip(request))
        session.commit()
    except RoundError as exc:  # the page again with the choices as they were made, nothing published
        session.rollback()
        return render(request, "surveys/office.html", status_code=400, **S.overview(session, year), audiences=AUDIENCES,
                      max_responses=S.DEFAULT_MAX_RESPONSES, error=str(exc), draft=draft)
    return redirect_with_message(request, f"/rounds/{year}/surveys", published.message())


@router.post("/rounds/{year}/surveys/{survey_id:int}/status")
async def surveys_status(year: int, survey_id: int, request: Request, user: User = Depends(user_of),
                         session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    back = f"/rounds/{year}/surveys/{survey_id}"
    try:
        survey = _own_survey(session, year, survey_id)
        S.set_open(session, user, survey.id, open_=form.get("action") == "open", ip=client_ip(request))
        session.commit()
    except RoundError as exc:
        session.rollback()
        return redirect_with_message(request, back, str(exc), "error")
    return redirect_with_message(request, back, "问卷已重新开放。" if survey.status == "open" else "问卷已关闭，链接不再接受填写。")


@router.get("/rounds/{year}/surveys/{survey_id:int}")
def survey_detail(year: int, survey_id: int, request: Request, user: User = Depends(user_of),
                  session: Session = Depends(db)):
    require_role(user, "office")
    survey = _own_survey(session, year, survey_id)
    q = load_questionnaires()[survey.audience]
    return render(request, "surveys/detail.html", survey=survey, q=q, link=_link(request, survey),
                  counts=S.status_counts(session, survey), held=S.held_groups(session, survey),
                  rules=S.HOLD_REASONS, rnd=get_round(session, year),
                  qr_svg=_qr(_link(request, survey)).svg_inline(scale=5, dark="#000", light="#fff"))


@router.post("/rounds/{year}/surveys/{survey_id:int}/held")
async def survey_held(year: int, survey_id: int, request: Request, user: User = Depends(user_of),
                      session: Session = Depends(db)):
    """Count or discard the held answers of one network (audited)."""
    require_role(user, "office")
    form = await request.form()
    back = f"/rounds/{year}/surveys/{survey_id}"
    decision = str(form.get("decision") or "")
    try:
        survey = _own_survey(session, year, survey_id)
        n = S.review_held(session, user, survey.id, str(form.get("network") or "")[:64], decision,
                          ip=client_ip(request))
        session.commit()
    except RoundError as exc:
        session.rollback()
        return redirect_with_message(request, back, str(exc), "error")
    done = "计入满意度指数" if decision == "accept" else "舍弃（保留记录，不计入）"
    return redirect_with_message(request, back, f"已将 {n} 份待核答卷{done}。")


def _qr(url: str):
    import segno
    return segno.make(url, error="m")


@router.get("/rounds/{year}/surveys/{survey_id:int}/qr.png")
def survey_qr_png(year: int, survey_id: int, request: Request, user: User = Depends(user_of),
                  session: Session = Depends(db)):
    require_role(user, "office")
    survey = _own_survey(session, year, survey_id)
    out = io.BytesIO()
    _qr(_link(request, survey)).save(out, kind="png", scale=12, border=4)
    name = f"{year}年度问卷二维码-{survey.unit_code}-{survey.audience}.png"
    return Response(out.getvalue(), media_type="image/png", headers={"Content-Disposition": attachment(name)})


@router.get("/rounds/{year}/surveys/links.xlsx")
def survey_links(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    """Every published link of the year, to hand out (units in the national order)."""
    require_role(user, "office")
    rows = [(unit.name, name, _link(request, s), "进行中" if s.status == "open" else "已关闭")
            for unit, name, s in S.links(session, year)]
    return generated_download(f"{year}年度问卷链接.xlsx", lambda out: write_links(year, rows, out), XLSX)


@router.get("/rounds/{year}/surveys/template/{audience}.{ext}")
def survey_template(year: int, audience: str, ext: str, request: Request, user: User = Depends(user_of),
                    session: Session = Depends(db)):
    require_role(user, "office")
    get_round(session, year)
    if audience not in AUDIENCES or ext not in ("xlsx", "csv"):
        raise RoundError("没有这种问卷录入模板。")
    name = load_questionnaires()[audience].name
    return generated_download(f"{year}年度问卷录入模板-{name}.{ext}",
                              lambda out: write_response_template(year, audience, out), XLSX if ext == "xlsx" else CSV)


@router.post("/rounds/{year}/surveys/import")
async def surveys_import(year: int, request: Request, user: User = Depends(user_of), session: Session = Depends(db)):
    require_role(user, "office")
    form = await request.form()
    audience = str(form.get("audience") or "")
    upload = form.get("file")
    if audience not in AUDIENCES:
        return redirect_with_message(request, f"/rounds/{year}/surveys", "请选择问卷对象。", "error")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return redirect_with_message(request, f"/rounds/{year}/surveys", "请选择要导入的文件（.xlsx 或 .csv）。", "error")
    data = await upload.read()
    try:
        outcome = S.import_responses(session, user, year, audience, data, upload.filename, ip=client_ip(request))
        session.commit()
    except SheetRejected as exc:
        session.rollback()
        return render(request, "surveys/office.html", status_code=422, **S.overview(session, year),
                      audiences=AUDIENCES, max_responses=S.DEFAULT_MAX_RESPONSES, rejected=exc)
    except RoundError as exc:
        session.rollback()
        return redirect_with_message(request, f"/rounds/{year}/surveys", str(exc), "error")
    return redirect_with_message(request, f"/rounds/{year}/surveys",
                                 outcome.message(load_questionnaires()[audience].name))
