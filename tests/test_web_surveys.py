"""Surveys over HTTP: the office's pages, and the public answer page reached by a link without an account —
its own page token in place of the session's CSRF token, one answer per browser, clear Chinese pages for
closed and unknown links, a small body limit, and no other anonymous POST let through."""
from __future__ import annotations

import io
import re
import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from evidence.db import get_engine
from evidence.models import Round, Survey, SurveyResponse
from round_support import add_round
from rubrics.questionnaires import questionnaire

WORKERS = questionnaire("workers")


@pytest.fixture
def office(settings, make_user, login):
    make_user("office", "office")
    add_round(settings)
    return login("office")


def _surveys(settings, **where) -> list[Survey]:
    with Session(get_engine(settings.database_url)) as session:
        query = select(Survey)
        for key, value in where.items():
            query = query.where(getattr(Survey, key) == value)
        return list(session.exec(query))


def _responses(settings) -> int:
    with Session(get_engine(settings.database_url)) as session:
        return session.exec(select(func.count(SurveyResponse.id))).one()


def _publish(office, **form):
    data = {"csrf_token": office.csrf, "audience": ["workers", "staff"], "unit": ["JS", "SH"], "max_responses": "500"}
    data.update(form)
    return office.post("/rounds/2023/surveys/publish", data=data, follow_redirects=True)


def _token(settings, unit="JS", audience="workers") -> str:
    return _surveys(settings, unit_code=unit, audience=audience)[0].token


def _page_token(html: str) -> str:
    return re.search(r'name="page_token" value="([^"]+)"', html).group(1)


def _answers(value="4") -> dict:
    return {item.key: value for item in WORKERS.items}


def test_the_office_publishes_and_gets_links_qr_codes_and_a_list_to_hand_out(office, settings):
    r = _publish(office)
    assert r.status_code == 200 and "已发布 4 份问卷" in r.text
    js = _surveys(settings, unit_code="JS", audience="workers")[0]
    page = office.get(f"/rounds/2023/surveys/{js.id}")
    assert f"http://testserver/s/{js.token}" in page.text and "<svg" in page.text and "下载二维码图片" in page.text
    png = office.get(f"/rounds/2023/surveys/{js.id}/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    links = office.get("/rounds/2023/surveys/links.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(links.content)).active
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert [r[:2] for r in rows] == [["上海市", "产业工人"], ["上海市", "工作人员"], ["江苏省", "产业工人"], ["江苏省", "工作人员"]]
    assert f"http://testserver/s/{js.token}" in [r[2] for r in rows]
    assert 'href="/rounds/2023/surveys"' in office.get("/rounds/2023").text
    overview = office.get("/rounds/2023/surveys")
    assert "江苏省" in overview.text and "进行中" in overview.text and "至少需 100 份" in overview.text
    assert "JS" not in re.sub(r'(value|href|action)="[^"]*"', "", overview.text)  # no unit code in what a person reads


def test_survey_pages_are_for_the_office_only(office, settings, make_user, login):
    _publish(office)
    js = _surveys(settings, unit_code="JS", audience="workers")[0]
    make_user("prov", "province", unit="JS")
    make_user("rev", "reviewer")
    for client in (login("prov"), login("rev")):
        for url in ("/rounds/2023/surveys", f"/rounds/2023/surveys/{js.id}", f"/rounds/2023/surveys/{js.id}/qr.png",
                    "/rounds/2023/surveys/links.xlsx", "/rounds/2023/surveys/template/workers.xlsx"):
            assert client.get(url).status_code == 403, url
        assert client.post("/rounds/2023/surveys/publish", data={"csrf_token": client.csrf, "audience": "workers"}
                           ).status_code == 403


def test_anyone_with_the_link_answers_once_without_an_account(office, settings, app):
    _publish(office)
    token = _token(settings)
    phone = TestClient(app)
    page = phone.get(f"/s/{token}")
    assert page.status_code == 200 and WORKERS.items[0].text in page.text and "江苏省" in page.text
    assert "kaoping_session" not in phone.cookies  # no session is opened for a respondent
    cookie = page.headers["set-cookie"]
    assert f"Path=/s/{token}" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    done = phone.post(f"/s/{token}", data={"page_token": _page_token(page.text), **_answers()})
    assert done.status_code == 200 and "提交成功" in done.text
    assert _responses(settings) == 1
    again = phone.get(f"/s/{token}")
    assert again.status_code == 200 and "已经填写过" in again.text and "page_token" not in again.text
    # the same browser with a page opened before it answered
    other = TestClient(app)
    old_page = other.get(f"/s/{token}")
    other.cookies.update(phone.cookies)
    r = other.post(f"/s/{token}", data={"page_token": _page_token(old_page.text), **_answers()})
    assert r.status_code == 400  # the page belongs to another browser id
    fresh = phone.post(f"/s/{token}", data={"page_token": _page_token(old_page.text), **_answers()})
    assert fresh.status_code in (400, 409) and _responses(settings) == 1


def test_the_page_token_is_the_answers_csrf_protection(office, settings, app):
    _publish(office)
    token, other_token = _token(settings), _token(settings, "SH")
    phone = TestClient(app)
    page = phone.get(f"/s/{token}")
    for data, words in (({}, "页面无效"), ({"page_token": "forged"}, "页面无效"),
                        ({"page_token": _page_token(page.text)[:-2] + "xx"}, "页面无效")):
        r = phone.post(f"/s/{token}", data={**data, **_answers()})
        assert r.status_code == 400 and words in r.text
    other_page = phone.get(f"/s/{other_token}")
    r = phone.post(f"/s/{token}", data={"page_token": _page_token(other_page.text), **_answers()})
    assert r.status_code == 400 and "与问卷不符" in r.text
    no_cookie = TestClient(app)
    r = no_cookie.post(f"/s/{token}", data={"page_token": _page_token(page.text), **_answers()})
    assert r.status_code == 400 and "Cookie" in r.text
    assert _responses(settings) == 0


def test_an_incomplete_answer_comes_back_with_what_was_chosen(office, settings, app):
    _publish(office)
    token = _token(settings)
    phone = TestClient(app)
    page = phone.get(f"/s/{token}")
    answers = _answers("5")
    answers.pop(WORKERS.items[2].key)
    r = phone.post(f"/s/{token}", data={"page_token": _page_token(page.text), **answers})
    assert r.status_code == 400 and "第3题未作答" in r.text
    assert r.text.count("checked") == len(WORKERS.items) - 1
    r = phone.post(f"/s/{token}", data={"page_token": _page_token(r.text), **_answers("5")})
    assert "提交成功" in r.text and _responses(settings) == 1


def test_a_script_filling_the_honeypot_is_thanked_and_ignored(office, settings, app):
    _publish(office)
    token = _token(settings)
    bot = TestClient(app)
    page = bot.get(f"/s/{token}")
    r = bot.post(f"/s/{token}", data={"page_token": _page_token(page.text), "website": "http://spam", **_answers()})
    assert r.status_code == 200 and "提交成功" in r.text and _responses(settings) == 0


def test_closed_unknown_and_broken_links_get_a_clear_chinese_page(office, settings, app):
    _publish(office)
    js = _surveys(settings, unit_code="JS", audience="workers")[0]
    phone = TestClient(app)
    page = phone.get(f"/s/{js.token}")
    r = office.post(f"/rounds/2023/surveys/{js.id}/status", data={"csrf_token": office.csrf, "action": "close"},
                    follow_redirects=True)
    assert "问卷已关闭" in r.text
    for response in (phone.get(f"/s/{js.token}"),
                     phone.post(f"/s/{js.token}", data={"page_token": _page_token(page.text), **_answers()})):
        assert response.status_code == 410 and "本问卷已关闭" in response.text and "Traceback" not in response.text
    for url in ("/s/" + "x" * 32, "/s/short", "/s/" + "é" * 30, "/s/%00" + "a" * 30):
        r = phone.get(url)
        assert r.status_code == 404 and "找不到这份问卷" in r.text, url
    r = phone.post("/s/" + "x" * 32, data={"page_token": "x"})
    assert r.status_code == 404 and "找不到这份问卷" in r.text
    sh = _surveys(settings, unit_code="SH", audience="workers")[0]
    with Session(get_engine(settings.database_url)) as session:
        session.exec(select(Round)).one().status = "closed"
        session.commit()
    r = phone.get(f"/s/{sh.token}")
    assert r.status_code == 410 and "2023年度评价已结束" in r.text


def test_only_the_answer_route_is_open_without_a_session_and_its_body_is_small(office, settings, app):
    _publish(office)
    token = _token(settings)
    anonymous = TestClient(app)
    for url in ("/rounds/2023/surveys/publish", "/rounds/2023/statistics/import", f"/s/{token}/extra", "/s/x"):
        r = anonymous.post(url, data={"audience": "workers"})
        assert r.status_code in (401, 403, 404, 405) and r.status_code != 200, url
        assert _surveys(settings, unit_code="GD") == []
    r = anonymous.post(f"/s/{token}", content=b"a=" + b"1" * 20_000,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "超过上限" in r.text


def test_responses_gathered_elsewhere_are_imported_or_every_bad_cell_is_listed(office, settings):
    template = office.get("/rounds/2023/surveys/template/workers.xlsx")
    assert template.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(template.content))
    ws = wb["问卷录入"]
    for c, value in enumerate(["JS", "江苏省"] + [4] * len(WORKERS.items), 1):
        ws.cell(row=3, column=c, value=value)
    for c, value in enumerate(["XX", ""] + ["很好"] + [4] * (len(WORKERS.items) - 1), 1):
        ws.cell(row=4, column=c, value=value)
    bad = io.BytesIO()
    wb.save(bad)
    r = office.post("/rounds/2023/surveys/import", data={"csrf_token": office.csrf, "audience": "workers"},
                    files={"file": ("问卷.xlsx", bad.getvalue())})
    assert r.status_code == 422 and "未导入任何数据" in r.text
    assert re.search(r"<td>问卷录入</td><td>4</td><td>A</td><td>未知单位“XX”", r.text)
    assert _responses(settings) == 0
    ws.delete_rows(4)
    good = io.BytesIO()
    wb.save(good)
    r = office.post("/rounds/2023/surveys/import", data={"csrf_token": office.csrf, "audience": "workers"},
                    files={"file": ("问卷.xlsx", good.getvalue())}, follow_redirects=True)
    assert "已导入“产业工人”问卷 1 份" in r.text and _responses(settings) == 1
    csv = office.get("/rounds/2023/surveys/template/staff.csv")
    assert csv.headers["content-type"].startswith("text/csv") and "工作人员" in csv.content.decode("utf-8-sig")


def test_stuffing_with_fresh_cookie_jars_is_held_and_the_office_decides_on_the_survey_page(office, settings, app):
    from rounds import surveys as S
    _publish(office)
    token = _token(settings)
    for i in range(S.BURST_COUNT + 4):  # the same address, a new browser each time, identical perfect answers
        jar = TestClient(app)
        page = jar.get(f"/s/{token}")
        r = jar.post(f"/s/{token}", data={"page_token": _page_token(page.text), **_answers("5")})
        assert r.status_code == 200 and "提交成功" in r.text  # the respondent is told nothing else
    with Session(get_engine(settings.database_url)) as session:
        statuses = sorted(r.status for r in session.exec(select(SurveyResponse)))
    assert statuses.count("counted") <= S.IDENTICAL_PER_ADDRESS_DAY and statuses.count("held") >= S.BURST_COUNT
    js = _surveys(settings, unit_code="JS", audience="workers")[0]
    overview = office.get("/rounds/2023/surveys").text
    assert f"待核 {statuses.count('held')} 份" in overview
    page = office.get(f"/rounds/2023/surveys/{js.id}").text
    assert "网络 1" in page and S.HOLD_REASONS["identical"] in page and "全部计入" in page
    network = re.search(r'name="network" value="([^"]+)"', page).group(1)
    assert network not in re.sub(r'value="[^"]*"', "", page)  # the address hash is a form value, never shown
    r = office.post(f"/rounds/2023/surveys/{js.id}/held",
                            data={"csrf_token": office.csrf, "network": network, "decision": "discard"},
                            follow_redirects=True)
    assert f"已将 {statuses.count('held')} 份待核答卷舍弃" in r.text
    assert f"已舍弃 {statuses.count('held')} 份" in office.get("/rounds/2023/surveys").text
    audit = office.get("/admin/audit").text
    assert "核定问卷答卷" in audit


def test_only_the_office_reviews_held_answers(office, settings, make_user, login):
    _publish(office)
    js = _surveys(settings, unit_code="JS", audience="workers")[0]
    make_user("prov", "province", unit="JS")
    prov = login("prov")
    r = prov.post(f"/rounds/2023/surveys/{js.id}/held", data={"csrf_token": prov.csrf, "network": "x",
                                                              "decision": "accept"})
    assert r.status_code == 403
