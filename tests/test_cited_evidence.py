"""Cited passages are named by their document's title and page, everywhere they are listed: the scoring
screen's 已引用的证据 (each citation once, with the one checkbox), other reviewers' citations, the unit's
own links, the self-assessment form and its reading. The unit's reported values fit the scoring screen's
narrow middle panel at 1366 px, however long their source."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from browser_support import browser, live_server, logged_in_page
from conftest import PASSWORD
from evidence.db import session_scope
from evidence.models import Document, Passage, SelfAssessment, SelfAssessmentItem, StatisticValue, User
from review import assign as A
from review.ratings import system_for_year
from round_support import add_round

YEAR = 2023
TITLE = "江苏省推进产业工人队伍建设改革协调小组会议纪要"
TEXT = (f"{TITLE}\n\n苏产改〔2023〕2号\n\n2023年3月15日，省委常委会会议专题研究全省产业工人队伍建设改革工作，"
        "出台涉及产改的地方性政策文件十二件，对下一阶段重点任务作出部署。\n\n"
        "会议要求，协调小组办公室要发挥统筹协调作用，建立成员单位联络员会议制度，每季度召开一次工作推进会。")
SCREEN = f"/scoring/{YEAR}/JS/3"


@pytest.fixture
def item(settings, make_user, login, add_evidence):
    add_round(settings, YEAR)
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    make_user("r1", "reviewer", home="BJ")
    make_user("r2", "reviewer", home="SH")
    doc = add_evidence("JS", "纪要-扫描件-最终版.txt", TEXT)
    with session_scope(settings.database_url) as s:
        users = {u.username: u for u in s.exec(select(User))}
        rated = {i.no for i in system_for_year(YEAR).rated_indicators()}
        for name in ("r1", "r2"):
            A.assign(s, users["office"], YEAR, users[name], "JS", [3], rated)
        passages = s.exec(select(Passage).join(Document, Document.current_version_id == Passage.version_id)
                          .where(Document.id == doc).order_by(Passage.seq)).all()
        s.commit()
        keys = [f"{p.id}:{p.start}:{p.end}" for p in passages]
    return {"doc": doc, "keys": keys, "passages": passages, "login": login, "settings": settings}


def save(client, keys, submit=False, revision="0"):
    return client.post(f"{SCREEN}/{'submit' if submit else 'save'}", data={
        "csrf_token": client.csrf, "level": "3", "rationale": "依据协调小组会议纪要", "base_revision": revision,
        "link": keys}, follow_redirects=False)


def test_the_cited_list_names_each_document_and_page_once_and_holds_the_one_checkbox(item):
    r1 = item["login"]("r1")
    assert save(r1, item["keys"][:2] + item["keys"][:1]).status_code == 303  # one passage ticked twice
    page = r1.get(SCREEN).text
    cited = page.split('id="extra-links"')[1].split("</ul>")[0]
    rows = re.findall(r"<li>(.*?)</li>", cited, re.S)
    assert len(rows) == 2
    for row, passage in zip(rows, item["passages"][:2]):
        place = re.sub(r"<[^>]+>", "", row).split("：“")[0].strip()
        assert place == f"{TITLE} 第 {passage.page_no} 页"  # the document and page, not a passage number
    for key in item["keys"][:2]:  # one checkbox per citation on the whole screen; elsewhere it says 已引用
        assert page.count(f'name="link" value="{key}"') == 1, key
    assert "已引用" in page.split('aria-label="证据"')[1]


def test_other_reviewers_and_the_units_links_name_their_documents(item):
    r1, r2 = item["login"]("r1"), item["login"]("r2")
    assert save(r1, item["keys"][:1], submit=True).status_code == 303
    assert save(r2, item["keys"][1:2], submit=True).status_code == 303
    others = r2.get(SCREEN).text.split("各评审专家的评分")[1].split("</table>")[0]
    assert f'<cite class="doc-title">{TITLE}</cite> 第 1 页' in others


def test_the_self_assessment_names_the_documents_of_its_links(item):
    js = item["login"]("js")
    passage = item["passages"][0]
    linked = js.post(f"/self-assessment/{YEAR}/links", data={"csrf_token": js.csrf, "no": "3", "passage": str(passage.id)},
                     headers={"HX-Request": "true"})
    assert f'<cite class="doc-title">{TITLE}</cite> 第 {passage.page_no} 页' in linked.text
    form = js.get(f"/self-assessment?year={YEAR}").text
    assert f'<cite class="doc-title">{TITLE}</cite> 第 {passage.page_no} 页' in form
    reading = js.get(f"/rounds/{YEAR}/self/JS").text
    assert f'<cite class="doc-title">{TITLE}</cite> 第 {passage.page_no} 页' in reading


def test_in_a_browser_the_units_values_wrap_inside_the_middle_panel_at_1366(item):
    settings = item["settings"]
    with session_scope(settings.database_url) as s:
        sa = SelfAssessment(year=YEAR, unit_code="JS", status="submitted", self_category="良好", report="自评报告",
                            submitted_at=datetime.now(timezone.utc))
        s.add(sa)
        s.flush()
        s.add(SelfAssessmentItem(self_assessment_id=sa.id, indicator_no=3, level_value=3, narrative="说明",
                                 values={"policy_documents": {"value": 123456789.25, "base_value": 98765432.5}}))
        s.add(StatisticValue(year=YEAR, unit_code="JS", indicator_no=3, measure_key="policy_documents",
                             value=123456789.5, source="办公室更正",
                             reason="按省委办公厅、省政府办公厅印发文件目录逐件核对后更正（含转发件、配套细则与实施意见）"))
        s.commit()
    with live_server(settings) as url, browser() as b:
        page = logged_in_page(b, url, "r1", PASSWORD)
        page.goto(f"{url}{SCREEN}")
        widths = page.evaluate("""() => {
            const table = document.querySelector('.claimed table.claimed-values');
            const panel = table.closest('.panel');
            return {table: table.scrollWidth, panel: panel.clientWidth, overflow: panel.scrollWidth - panel.clientWidth,
                    source: table.querySelector('tbody td:last-child').innerText};
        }""")
        assert widths["overflow"] <= 0 and widths["table"] <= widths["panel"], widths
        assert "办公室采用" in widths["source"]
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
