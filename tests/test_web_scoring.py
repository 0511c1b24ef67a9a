"""The scoring screens through the ASGI app: lists, rating, stale edits, independence, permissions, tags, search."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from review import assign as A
from evidence.db import session_scope
from evidence.models import Document, EvidenceLink, Passage, Rating, TagDecision, User
from review.ratings import system_for_year

YEAR = 2023
UNIT = "GD"
INDICATOR = 1
GD_TEXT = """广东省产业工人队伍建设改革工作总结

一、顶层设计
省“十四五”规划纲要设专门段落部署产业工人队伍建设改革，明确目标任务和牵头责任单位。

二、专项方案
省委办公厅、省政府办公厅印发产改实施方案，任务分解到责任单位并有时间表。
"""
ZJ_TEXT = "浙江省“十四五”规划纲要写入产业工人队伍建设改革任务。"
SCREEN = f"/scoring/{YEAR}/{UNIT}/{INDICATOR}"


@pytest.fixture
def site(settings, make_user, add_evidence, login):
    make_user("office1", "office")
    make_user("r1", "reviewer", home="BJ")
    make_user("r2", "reviewer", home="SH")
    make_user("r3", "reviewer", home=UNIT)
    make_user("gdp", "province", unit=UNIT)
    gd_doc = add_evidence(UNIT, "总结.txt", GD_TEXT)
    zj_doc = add_evidence("ZJ", "规划.txt", ZJ_TEXT)
    with session_scope(settings.database_url) as s:
        users = {u.username: u for u in s.exec(select(User))}
        rated = {i.no for i in system_for_year(YEAR).rated_indicators()}
        for name in ("r1", "r2"):
            A.assign(s, users["office1"], YEAR, users[name], UNIT, [INDICATOR], rated)
        s.commit()

        def passages(doc_id):
            doc = s.get(Document, doc_id)
            return list(s.exec(select(Passage).where(Passage.version_id == doc.current_version_id)
                               .order_by(Passage.seq)))
        gd, zj = passages(gd_doc), passages(zj_doc)
    return {"gd": gd, "zj": zj, "login": login, "db": settings.database_url, "gd_doc": gd_doc}


def key(p: Passage) -> str:
    return f"{p.id}:{p.start}:{p.end}"


def post(client, path, **data):
    return client.post(path, data={"csrf_token": client.csrf, **data}, follow_redirects=False)


def revision_in(html: str) -> str:
    return re.search(r'name="base_revision" value="(\d+)"', html).group(1)


def test_reviewer_list_and_screen_show_rubric_and_suggested_evidence(site):
    r1 = site["login"]("r1")
    listing = r1.get(f"/scoring?year={YEAR}")
    assert listing.status_code == 200
    assert "纳入当地国民经济和社会发展规划" in listing.text and "未开始" in listing.text
    page = r1.get(SCREEN)
    assert page.status_code == 200
    assert "纳入当地国民经济和社会发展“十四五”规划" in page.text  # meaning
    assert "规划纲要正文写入产改任务" in page.text  # a rubric descriptor
    assert f'value="{key(site["gd"][0])}"' in page.text  # the tagger's passage can be linked
    assert "系统建议" in page.text and "十四五" in page.text
    assert re.findall(r'name="level" value="(\d+)"', page.text) == ["4", "3", "2", "1"]


def test_draft_submit_and_stale_revision_through_the_app(site):
    r1 = site["login"]("r1")
    saved = post(r1, f"{SCREEN}/save", level="3", rationale="初稿", base_revision="0")
    assert saved.status_code == 303
    page = r1.get(SCREEN)
    assert "初稿" in page.text and revision_in(page.text) == "1"
    assert "草稿" in r1.get(f"/scoring?year={YEAR}").text

    refused = post(r1, f"{SCREEN}/submit", level="3", rationale="理由", base_revision="1")
    assert refused.status_code == 400 and "请至少引用一处有效的证据段落" in refused.text
    assert "理由" in refused.text  # the typed rationale is not lost
    out_of_rubric = post(r1, f"{SCREEN}/save", level="9", rationale="x", base_revision="1")
    assert out_of_rubric.status_code == 400 and "不在该指标的评分标准中" in out_of_rubric.text

    first = post(r1, f"{SCREEN}/save", level="4", rationale="第一个窗口", base_revision="1")
    assert first.status_code == 303
    stale = post(r1, f"{SCREEN}/save", level="1", rationale="第二个窗口", base_revision="1")
    assert stale.status_code == 409 and "该评分已被修改，请刷新后再改" in stale.text
    assert "第二个窗口" in stale.text and "当前已保存的是第 2 版" in stale.text
    with session_scope(site["db"]) as s:
        rating = s.exec(select(Rating)).one()
        assert (rating.level_value, rating.rationale, rating.revision) == (4, "第一个窗口", 2)

    done = r1.post(f"{SCREEN}/submit", data={"csrf_token": r1.csrf, "level": "4", "rationale": "规划纲要有专门段落",
                                            "base_revision": "2", "link": [key(site["gd"][0])]},
                   follow_redirects=False)
    assert done.status_code == 303
    with session_scope(site["db"]) as s:
        rating = s.exec(select(Rating)).one()
        links = s.exec(select(EvidenceLink).where(EvidenceLink.owner_id == rating.id)).all()
        assert rating.status == "submitted" and len(links) == 1 and links[0].quote == site["gd"][0].text
    page = r1.get(SCREEN)
    assert "已提交" in page.text and "修改记录（3）" in page.text


def test_independence_until_own_submission_then_disagreement(site):
    r1, r2 = site["login"]("r1"), site["login"]("r2")
    r1.post(f"{SCREEN}/submit", data={"csrf_token": r1.csrf, "level": "4", "rationale": "甲专家的理由",
                                      "base_revision": "0", "link": [key(site["gd"][0])]})
    before = r2.get(SCREEN)
    assert "甲专家的理由" not in before.text and "提交自己的评分后才能看到" in before.text
    assert 'class="badge badge-disputed"' not in r2.get(f"/scoring?year={YEAR}").text
    r2.post(f"{SCREEN}/submit", data={"csrf_token": r2.csrf, "level": "2", "rationale": "乙专家的理由",
                                      "base_revision": "0", "link": [key(site["gd"][1])]})
    after = r2.get(SCREEN)
    assert "甲专家的理由" in after.text and "乙专家的理由" in after.text
    assert "有分歧" in after.text and "档次极差 2" in after.text
    assert 'class="badge badge-disputed">有分歧' in r2.get(f"/scoring?year={YEAR}").text


def test_office_sees_all_and_records_consensus(site):
    r1 = site["login"]("r1")
    r1.post(f"{SCREEN}/submit", data={"csrf_token": r1.csrf, "level": "4", "rationale": "甲专家的理由",
                                      "base_revision": "0", "link": [key(site["gd"][0])]})
    office = site["login"]("office1")
    screen = office.get(SCREEN).text
    assert "甲专家的理由" in screen and "r1（已提交）" in screen and "r2（未开始）" in screen
    assert "纳入当地国民经济和社会发展规划" in office.get(f"/scoring?year={YEAR}").text
    r = office.post(f"{SCREEN}/submit", data={"csrf_token": office.csrf, "level": "3", "rationale": "合议结论",
                                              "base_revision": "0", "link": [key(site["gd"][0])]},
                    follow_redirects=False)
    assert r.status_code == 303
    with session_scope(site["db"]) as s:
        kinds = sorted((x.kind, x.level_value) for x in s.exec(select(Rating)))
    assert kinds == [("consensus", 3), ("independent", 4)]
    assert "已合议" in r1.get(f"/scoring?year={YEAR}").text


def test_permissions_province_unassigned_conflicted_and_foreign_passage(site):
    province = site["login"]("gdp")
    assert province.get(f"/scoring?year={YEAR}").status_code == 403
    assert province.get(SCREEN).status_code == 403
    r3 = site["login"]("r3")  # GD is r3's own province
    assert r3.get(SCREEN).status_code == 403
    assert post(r3, f"{SCREEN}/save", level="3", rationale="x", base_revision="0").status_code == 403
    r1 = site["login"]("r1")
    assert r1.get(f"/scoring/{YEAR}/{UNIT}/2").status_code == 403  # not assigned this indicator
    assert r1.get(f"/scoring/{YEAR}/ZJ/{INDICATOR}").status_code == 403
    foreign = r1.post(f"{SCREEN}/save", data={"csrf_token": r1.csrf, "level": "3", "rationale": "保留的理由",
                                              "base_revision": "0", "link": [key(site["zj"][0])]},
                      follow_redirects=False)
    assert foreign.status_code == 403 and "只能引用本单位本年度" in foreign.text
    assert "保留的理由" in foreign.text and key(site["zj"][0]) not in foreign.text
    with session_scope(site["db"]) as s:
        assert s.exec(select(Rating)).all() == [] and s.exec(select(EvidenceLink)).all() == []


def test_a_refused_save_does_not_show_another_units_passage(site):
    r1 = site["login"]("r1")
    zj = site["zj"][0]
    for bad in ({"level": "abc"}, {"level": "9"}, {"level": "3", "base_revision": "7"}):
        data = {"csrf_token": r1.csrf, "rationale": "理由", "base_revision": "0", "link": [key(zj)], **bad}
        r = r1.post(f"{SCREEN}/save", data=data, follow_redirects=False)
        assert r.status_code >= 400
        assert zj.text not in r.text and key(zj) not in r.text, bad


def test_tag_decision_in_place_and_search_restricted_to_the_unit(site):
    r1 = site["login"]("r1")
    p0 = site["gd"][0]
    r = r1.post(f"{SCREEN}/tags", data={"passage_id": str(p0.id), "decision": "confirm"},
                headers={"HX-Request": "true", "X-CSRF-Token": r1.csrf})
    assert r.status_code == 200 and "标注已确认" in r.text
    with session_scope(site["db"]) as s:
        decision = s.exec(select(TagDecision)).one()
        assert (decision.passage_id, decision.indicator_no, decision.decision) == (p0.id, INDICATOR, "confirm")
    foreign = r1.post(f"{SCREEN}/tags", data={"passage_id": str(site["zj"][0].id), "decision": "reject"},
                      headers={"HX-Request": "true", "X-CSRF-Token": r1.csrf})
    assert foreign.status_code == 403

    found = r1.get(f"{SCREEN}/search", params={"q": "十四五"}, headers={"HX-Request": "true"})
    assert found.status_code == 200
    assert f'value="{key(p0)}"' in found.text
    assert str(site["zj"][0].id) + ":" not in found.text  # ZJ's passage with the same words stays hidden


def test_in_browser_a_reviewer_quotes_part_of_a_passage_and_submits(site, settings):
    """scoring.js turns a text selection into offsets the server accepts; the stored quote is exactly the selection."""
    from browser_support import Steps, browser, live_server

    from conftest import PASSWORD
    target = site["gd"][0]
    with live_server(settings) as base, browser() as b:
        page = b.new_page()
        steps = Steps("scoring")
        page.goto(f"{base}/login?next={SCREEN}")
        page.fill("input[name=username]", "r1")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}{SCREEN}")
        page.check("input[name=level][value='3']")
        page.fill("textarea[name=rationale]", "纲要有专门段落")
        quoted = "设专门段落部署"
        offset = target.text.index(quoted)
        # Select the words inside the passage's text node, as a reviewer would with the mouse.
        page.evaluate("""([pid, from, to]) => {
            const el = document.querySelector(`.passage-text[data-passage-id="${pid}"]`);
            const range = document.createRange();
            range.setStart(el.firstChild, from); range.setEnd(el.firstChild, to);
            const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
            el.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
        }""", [target.id, offset, offset + len(quoted)])
        page.click("button.quote-button")
        steps.shot(page, "quoted")
        page.click("button[formaction$='/submit']")
        page.wait_for_url(f"**{SCREEN}?saved=submitted")
        steps.shot(page, "submitted")
        assert "评分已提交" in page.content()
    with session_scope(site["db"]) as s:
        link = s.exec(select(EvidenceLink)).one()
        assert link.quote == quoted and link.passage_id == target.id
        assert link.start == target.start + offset and link.page_no == target.page_no
