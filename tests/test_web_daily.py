"""Daily work without dead ends: upload refusals that say why on the file's own row, the right
deadline quoted, duplicate notices that link, error pages with a way back, cache-safe htmx
fragments and search filters that survive a new query."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st
from sqlmodel import Session, select

from evidence.db import get_engine
from evidence.models import Document, Round
from review.evidence_policy import human_size

TEXT = ("江苏省总工会关于建设工匠学院的通知\n\n苏工发〔2023〕12号\n\n"
        "为深化产业工人队伍建设改革，省总工会决定在全省建设工匠学院，开展职业技能竞赛和技能培训，"
        "推动产业工人技能提升。各市总工会要加强组织领导，落实经费保障。")


@pytest.fixture
def province(make_user, login):
    make_user("js", "province", unit="JS")
    return login("js")


def add_round(settings, **dues):
    past = date.today() - timedelta(days=3)
    values = {"self_assessment_due": past, "spotcheck_due": past, "review_due": past, **dues}
    with Session(get_engine(settings.database_url)) as session:
        session.add(Round(year=2023, indicator_version="2023", **values))
        session.commit()


def json_upload(client, name="通知.txt", content=TEXT.encode("utf-8")):
    return client.post("/evidence/upload", data={"year": "2023"},
                       headers={"X-CSRF-Token": client.csrf, "Accept": "application/json"},
                       files=[("files", (name, content, "text/plain"))])


def test_a_refused_upload_answers_the_script_with_its_chinese_reason(settings, province):
    add_round(settings)
    response = json_upload(province)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    reason = response.json()["error"]
    assert "已过" in reason and "不能再上传" in reason
    with Session(get_engine(settings.database_url)) as session:
        assert session.exec(select(Document)).all() == []


def test_without_an_evidence_deadline_the_refusal_names_the_self_assessment_deadline(settings, province):
    add_round(settings)
    past = date.today() - timedelta(days=3)
    reason = json_upload(province).json()["error"]
    assert f"自评截止日期（{past.year}年{past.month}月{past.day}日）" in reason
    assert "证据提交截止日期" not in reason


def test_an_evidence_deadline_is_quoted_as_such(settings, province):
    earlier = date.today() - timedelta(days=10)
    add_round(settings, self_assessment_due=date.today() + timedelta(days=5), upload_due=earlier)
    reason = json_upload(province).json()["error"]
    assert f"证据提交截止日期（{earlier.year}年{earlier.month}月{earlier.day}日）" in reason


def test_the_browser_form_gets_the_same_reason_on_the_error_page(settings, province):
    add_round(settings)
    page = province.post("/evidence/upload", data={"csrf_token": province.csrf, "year": "2023"},
                         files=[("files", ("通知.txt", TEXT.encode("utf-8"), "text/plain"))])
    assert page.status_code == 400 and 'role="alert"' in page.text and "不能再上传" in page.text


def test_a_duplicate_links_to_the_document_already_stored(settings, province):
    from ingest.queue import drain
    first = json_upload(province).json()["results"][0]["document_id"]
    drain(settings)
    [again] = json_upload(province, name="通知-副本.txt").json()["results"]
    assert again["duplicate_of"] == first and not again["document_id"]
    html = province.post("/evidence/upload", data={"csrf_token": province.csrf, "year": "2023"},
                         files=[("files", ("再一份.txt", TEXT.encode("utf-8"), "text/plain"))]).text
    assert f'href="/evidence/{first}"' in html and "查看已有文件" in html


def test_state_rows_carry_what_the_upload_rows_need_to_reach_their_final_state(settings, province):
    from ingest.queue import drain
    doc_id = json_upload(province).json()["results"][0]["document_id"]
    queued = province.get(f"/evidence/states?ids={doc_id}").text
    assert f'data-document-id="{doc_id}"' in queued and 'data-final="no"' in queued
    drain(settings)
    done = province.get(f"/evidence/states?ids={doc_id}").text
    assert 'data-final="yes"' in done and 'data-label="已入库' in done and "every 2s" not in done


def test_error_pages_have_a_working_way_back(province):
    page = province.get("/evidence/999999", headers={"Referer": "http://testserver/evidence?year=2023"})
    assert page.status_code == 404
    assert "javascript:" not in page.text
    assert 'href="/evidence?year=2023"' in page.text and "返回上一页" in page.text
    elsewhere = province.get("/evidence/999999", headers={"Referer": "https://evil.example/phish"})
    assert "evil.example" not in elsewhere.text and 'href="/"' in elsewhere.text


def test_an_unknown_address_or_asset_is_a_chinese_page_not_json(province):
    for path in ("/no-such-page", "/static/no-such-file.js"):
        page = province.get(path)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "页面或记录不存在" in page.text and "Not Found" not in page.text


def test_every_page_varies_on_hx_request(office_client):
    for url in ("/search?q=工匠", "/evidence", "/"):
        assert "HX-Request" in office_client.get(url).headers.get("vary", ""), url


def test_a_filter_is_kept_when_the_query_changes_and_shown_by_name(office_client, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", TEXT)
    partial = office_client.get("/search", params={"q": "工匠学院", "unit": "JS"},
                                headers={"HX-Request": "true", "HX-Target": "search-results"}).text
    # the hidden input is swapped in with the results but belongs to the (unswapped) query form
    assert re.search(r'<input type="hidden" form="search-form" name="unit" value="JS">', partial)
    chip = re.search(r'<span class="chip">(.*?)<a', partial, re.S).group(1)
    assert "江苏" in chip and "JS" not in chip
    page = office_client.get("/search", params={"q": "工匠学院", "unit": "JS"}).text
    assert 'id="search-form"' in page


@pytest.fixture
def office_client(make_user, login):
    make_user("office", "office")
    return login("office")


def test_the_demo_round_is_open_for_uploads_on_the_day_it_is_loaded(settings):
    from datetime import date

    from evidence.models import User
    from review.evidence_policy import upload_refusal
    from review_ui.commands.core import initialise
    from review_ui.demo import demo_years, open_deadlines
    from rounds.workflow import create_round
    initialise(settings)
    this = demo_years()[1]
    with Session(get_engine(settings.database_url)) as session:
        create_round(session, this, None, **open_deadlines(this, date.today()))
        session.commit()
        assert upload_refusal(session, User(username="js", role="province", unit_code="JS", password_hash="x"),
                              this) == ""


@given(st.integers(min_value=0, max_value=2 ** 50))
def test_sizes_read_the_chinese_way(n):
    text = human_size(n)
    number, unit = text.split(" ")
    assert unit in ("字节", "KB", "MB", "GB")
    assert not number.endswith(".0")
    assert float(number) >= 0


def test_a_locked_database_is_a_chinese_503_with_retry_advice(settings, make_user, login, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import review_ui.routes.home as home
    make_user("office", "office")
    office = login("office")

    def locked(*args, **kwargs):
        raise OperationalError("UPDATE …", {}, Exception("database is locked"))
    monkeypatch.setattr(home, "worklist", locked)
    r = office.get("/")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert "系统正忙" in r.text and "重试" in r.text and "database is locked" not in r.text
