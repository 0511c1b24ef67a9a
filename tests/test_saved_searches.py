"""Saved searches: a user's own, named, with their filters; listed on the search page and the 工作台,
opened with one click, deleted by their owner only."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import AuditEvent, SavedSearch

TEXT = ("江苏省总工会关于建设工匠学院的通知\n\n苏工发〔2023〕12号\n\n"
        "为深化产业工人队伍建设改革，省总工会决定在全省建设工匠学院，开展职业技能竞赛和技能培训。")


@pytest.fixture
def office(make_user, login, add_evidence):
    add_evidence("JS", "通知.txt", TEXT)
    make_user("office", "office")
    make_user("other", "office")
    return login("office")


def save(client, name, **params):
    return client.post("/search/saved", data={"csrf_token": client.csrf, "name": name, **params})


def test_a_saved_search_keeps_its_filters_and_opens_from_the_search_page_and_the_home_page(settings, office):
    page = save(office, "江苏工匠", q="工匠学院", unit="江苏", year="2023")
    assert page.status_code == 200 and "已保存检索“江苏工匠”" in page.text
    assert "共 1 条结果" in page.text  # the redirect runs the saved search
    with session_scope(settings.database_url) as session:
        saved = session.exec(select(SavedSearch)).one()
        assert saved.params == {"q": "工匠学院", "unit": "JS", "year": "2023"}
    for path in ("/search", "/"):
        listing = office.get(path).text
        assert "江苏工匠" in listing and "单位：江苏" in listing and "单位：JS" not in listing
    href = office.get("/").text.split('title="检索词：工匠学院')[0].rsplit('href="', 1)[1].split('"')[0]
    assert parse_qs(urlsplit(href.replace("&amp;", "&")).query) == {"q": ["工匠学院"], "unit": ["JS"], "year": ["2023"]}
    assert "共 1 条结果" in office.get(href.replace("&amp;", "&")).text


def test_saved_searches_are_private_to_their_owner(settings, office, login):
    save(office, "我的", q="工匠")
    other = login("other")
    assert "我的" not in other.get("/search").text.split("我的检索")[1].split("</section>")[0]
    with session_scope(settings.database_url) as session:
        saved_id = session.exec(select(SavedSearch)).one().id
    refused = other.post(f"/search/saved/{saved_id}/delete", data={"csrf_token": other.csrf})
    assert "不存在或已删除" in refused.text
    with session_scope(settings.database_url) as session:
        assert session.get(SavedSearch, saved_id) is not None
    done = office.post(f"/search/saved/{saved_id}/delete", data={"csrf_token": office.csrf, "next": "/"})
    assert done.url.path == "/" and "已删除保存的检索“我的”" in done.text
    with session_scope(settings.database_url) as session:
        assert session.get(SavedSearch, saved_id) is None
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.object_type == "saved_search"))]
    assert actions == ["saved_search", "saved_search_delete"]


@pytest.mark.parametrize("name, params, reason", [
    ("", {"q": "工匠"}, "请给这次检索起个名字"),
    ("空的", {}, "请先输入检索词或选择筛选条件"),
    ("长" * 61, {"q": "工匠"}, "名称最多 60 个字"),
])
def test_what_cannot_be_saved_says_why(office, name, params, reason):
    page = save(office, name, **params)
    assert reason in page.text


def test_a_name_is_used_once_per_user(office, login):
    save(office, "工匠", q="工匠")
    assert "已有名为“工匠”的检索" in save(office, "工匠", q="技能").text
    other = login("other")
    assert "已保存检索“工匠”" in save(other, "工匠", q="技能").text  # another user's names are theirs
