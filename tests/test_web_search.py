"""The search screen: highlighted hits that deep-link into the viewer, facets, paging,
htmx partial swaps, similar passages, and graceful answers to bad queries or no index."""
from __future__ import annotations

import re

import pytest

JS_TEXT = ("江苏省总工会关于建设工匠学院的通知。为深化产业工人队伍建设改革，全省建设工匠学院，"
           "开展职业技能竞赛，推动技能提升。")
SH_TEXT = "上海市总工会建设工匠学院，开展职业技能竞赛和劳模工匠进校园活动，推动产业工人技能提升。"


@pytest.fixture
def office(make_user, login):
    make_user("office", "office")
    return login("office")


def test_hits_are_highlighted_and_link_to_the_passage(office, add_evidence):
    doc_id = add_evidence("JS", "江苏工匠学院.txt", JS_TEXT)
    page = office.get("/search", params={"q": "工匠学院"}).text
    assert "江苏工匠学院.txt" in page
    assert "<mark>" in page
    # the link may carry the search words (q=…) so the viewer can mark them
    link = re.search(r'href="/evidence/(\d+)\?page=(\d+)&(?:amp;)?passage=(\d+)(?:&(?:amp;)?q=[^"#]*)?#p-(\d+)"', page)
    assert link and int(link.group(1)) == doc_id and link.group(3) == link.group(4)
    viewer = office.get(f"/evidence/{doc_id}?page={link.group(2)}&passage={link.group(3)}").text
    assert f'class="passage target" id="p-{link.group(3)}"' in viewer


def test_facets_filter_by_unit_and_the_filter_is_kept_when_paging(office, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", JS_TEXT)
    add_evidence("SH", "上海工匠学院.txt", SH_TEXT)
    both = office.get("/search", params={"q": "工匠学院"}).text
    assert "江苏工匠学院.txt" in both and "上海工匠学院.txt" in both
    assert re.search(r'href="/search\?q=[^"]*unit=SH', both)  # a clickable facet
    only_sh = office.get("/search", params={"q": "工匠学院", "unit": "SH"}).text
    assert "上海工匠学院.txt" in only_sh and "江苏工匠学院.txt" not in only_sh


def test_htmx_request_gets_only_the_results_partial(office, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", JS_TEXT)
    partial = office.get("/search", params={"q": "工匠学院"},
                         headers={"HX-Request": "true", "HX-Target": "search-results"}).text
    assert partial.lstrip().startswith('<div id="search-results"')
    assert "<html" not in partial and "江苏工匠学院.txt" in partial


def test_malformed_query_shows_the_index_message(office, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", JS_TEXT)
    response = office.get("/search", params={"q": '"工匠学院'})
    assert response.status_code == 200
    assert "引号未配对" in response.text


def test_missing_index_is_a_notice_not_an_error(office):
    response = office.get("/search", params={"q": "工匠学院"})
    assert response.status_code == 200
    assert "检索索引尚未建立" in response.text


def test_similar_passages_come_from_other_documents(office, add_evidence, settings):
    from sqlmodel import Session, select

    from evidence.db import get_engine
    from evidence.models import DocumentVersion, Passage
    js = add_evidence("JS", "江苏工匠学院.txt", JS_TEXT)
    add_evidence("SH", "上海工匠学院.txt", SH_TEXT)
    with Session(get_engine(settings.database_url)) as session:
        passage = session.exec(select(Passage).join(DocumentVersion, DocumentVersion.id == Passage.version_id)
                               .where(DocumentVersion.document_id == js)).first()
    page = office.get(f"/search/similar/{passage.id}").text
    hits = page.split("</blockquote>", 1)[1]  # after the source passage
    assert "上海工匠学院.txt" in hits
    assert f'href="/evidence/{js}?' not in hits  # the source document itself is not "similar"


def test_province_search_is_always_limited_to_its_unit(make_user, login, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", JS_TEXT)
    add_evidence("SH", "上海工匠学院.txt", SH_TEXT)
    make_user("sh", "province", unit="SH")
    client = login("sh")
    page = client.get("/search", params={"q": "工匠学院"}).text
    assert "上海工匠学院.txt" in page and "江苏工匠学院.txt" not in page
    assert client.get("/search", params={"q": "工匠学院", "unit": "JS"}).status_code == 403
