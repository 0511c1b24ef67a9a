"""Progress table and the assignment pages through the ASGI app."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Assignment, Conflict, Document, Passage, User
from review.ratings import system_for_year

YEAR = 2023
GD_TEXT = "广东省“十四五”规划纲要设专门段落部署产业工人队伍建设改革，明确目标任务和牵头责任单位。"


@pytest.fixture
def site(settings, make_user, login):
    make_user("office1", "office")
    make_user("r1", "reviewer", home="BJ")
    make_user("r2", "reviewer", home="SH")
    make_user("gdp", "province", unit="GD")
    return {"login": login, "db": settings.database_url}


def post(client, path, data):
    return client.post(path, data={"csrf_token": client.csrf, **data}, follow_redirects=False)


def ids(db) -> dict[str, int]:
    with session_scope(db) as s:
        return {u.username: u.id for u in s.exec(select(User))}


def cell(html: str, unit: str, level1: int) -> str:
    match = re.search(rf'unit={unit}(?:&amp;|&)level1={level1}">(.*?)</a>', html, re.S)
    assert match, f"no progress cell for {unit}/{level1}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_assign_by_hand_refuses_home_unit_and_spread_applies_after_preview(site):
    office = site["login"]("office1")
    uid = ids(site["db"])
    refused = post(office, "/admin/assignments", {"year": YEAR, "reviewer_id": uid["r1"], "unit": "BJ",
                                                  "indicators": "1"})
    assert refused.status_code == 400 and "回避" in refused.text
    ok = post(office, "/admin/assignments", {"year": YEAR, "reviewer_id": uid["r1"], "unit": "GD",
                                             "indicators": "1,2"})
    assert ok.status_code == 303

    spread = {"year": YEAR, "units": ["BJ", "SH", "GD"], "indicators": "1-4", "per_item": "1", "cap": "50"}
    preview = office.post("/admin/assignments/preview", data={"csrf_token": office.csrf, **spread})
    assert preview.status_code == 200 and "预览" in preview.text
    with session_scope(site["db"]) as s:
        assert len(s.exec(select(Assignment)).all()) == 2  # a preview changes nothing
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', preview.text).group(1)
    applied = office.post("/admin/assignments/apply", data={"csrf_token": office.csrf, "fingerprint": fingerprint,
                                                            **spread}, follow_redirects=False)
    assert applied.status_code == 303
    rated = {i.no for i in system_for_year(YEAR).rated_indicators()}
    with session_scope(site["db"]) as s:
        rows = s.exec(select(Assignment)).all()
        covered = {(a.unit_code, a.indicator_no) for a in rows}
        assert covered == {(u, n) for u in ("BJ", "SH", "GD") for n in range(1, 5) if n in rated}
        assert not any(a.reviewer_id == uid["r1"] and a.unit_code == "BJ" for a in rows)
        assert not any(a.reviewer_id == uid["r2"] and a.unit_code == "SH" for a in rows)
    replay = office.post("/admin/assignments/apply", data={"csrf_token": office.csrf, "fingerprint": fingerprint,
                                                           **spread}, follow_redirects=False)
    assert replay.status_code == 409 and "重新预览" in replay.text


def test_reviewer_declares_conflict_and_loses_the_units_assignments(site):
    office = site["login"]("office1")
    uid = ids(site["db"])
    post(office, "/admin/assignments", {"year": YEAR, "reviewer_id": uid["r2"], "unit": "GD", "indicators": "1"})
    r2 = site["login"]("r2")
    assert r2.get(f"/scoring/{YEAR}/GD/1").status_code == 200
    declared = post(r2, "/conflicts", {"unit": "GD", "reason": "曾在该省任职"})
    assert declared.status_code == 303
    assert "并取消了其在该单位的 1 项评审任务" in r2.get("/conflicts").text
    assert r2.get(f"/scoring/{YEAR}/GD/1").status_code == 403
    with session_scope(site["db"]) as s:
        assert s.exec(select(Assignment)).all() == []
        assert s.exec(select(Conflict).where(Conflict.unit_code == "GD")).one().kind == "declared"
    assert r2.get("/admin/assignments").status_code == 403


def test_assignment_refusals_name_the_unit_keep_the_form_and_refuse_unreadable_numbers(site):
    office = site["login"]("office1")
    uid = ids(site["db"])
    refused = post(office, "/admin/assignments", {"year": YEAR, "reviewer_id": uid["r1"], "unit": "BJ",
                                                  "indicators": "1,2"})
    assert refused.status_code == 400 and "与北京市存在回避关系" in refused.text and "BJ 存在" not in refused.text
    # what was typed is still there to correct
    assert f'<option value="{uid["r1"]}" selected' in refused.text and '<option value="BJ" selected' in refused.text
    assert 'name="indicators" value="1,2"' in refused.text
    bad = post(office, "/admin/assignments", {"year": YEAR, "reviewer_id": uid["r1"], "unit": "GD",
                                              "indicators": "4,abc"})
    assert bad.status_code == 400 and "指标编号“abc”看不懂" in bad.text and 'value="4,abc"' in bad.text
    preview = post(office, "/admin/assignments/preview", {"year": YEAR, "units": ["GD"], "indicators": "1,x-3"})
    assert preview.status_code == 400 and "“x-3”看不懂" in preview.text
    with session_scope(site["db"]) as s:
        assert s.exec(select(Assignment)).all() == []  # nothing half-assigned from "4,abc"


def test_a_conflict_that_cancels_tasks_is_confirmed_first_and_says_how_many(site):
    office = site["login"]("office1")
    uid = ids(site["db"])
    post(office, "/admin/assignments", {"year": YEAR, "reviewer_id": uid["r2"], "unit": "GD", "indicators": "1,2"})
    form = {"year": YEAR, "reviewer_id": uid["r2"], "unit": "GD", "reason": "亲属在该省任职"}
    asked = post(office, "/admin/conflicts", form)
    assert asked.status_code == 200 and "2 项评审任务" in asked.text and "确认登记回避" in asked.text
    with session_scope(site["db"]) as s:
        assert len(s.exec(select(Assignment)).all()) == 2 and s.exec(select(Conflict).where(
            Conflict.unit_code == "GD")).first() is None  # asking changed nothing
    done = post(office, "/admin/conflicts", {**form, "confirm": "1"})
    assert done.status_code == 303
    page = office.get(done.headers["location"]).text
    assert "已登记" in page and "广东省的回避，并取消了其在该单位的 2 项评审任务" in page
    with session_scope(site["db"]) as s:
        assert s.exec(select(Assignment)).all() == []
    # with no task to cancel, no question is asked
    assert post(office, "/admin/conflicts", {**form, "unit": "JS"}).status_code == 303


def test_progress_counts_per_unit_and_first_level_indicator(site, add_evidence):
    office = site["login"]("office1")
    uid = ids(site["db"])
    post(office, "/admin/assignments", {"year": YEAR, "reviewer_id": uid["r1"], "unit": "GD", "indicators": "1,2"})
    post(office, "/admin/assignments", {"year": YEAR, "reviewer_id": uid["r2"], "unit": "GD", "indicators": "1"})
    doc_id = add_evidence("GD", "规划.txt", GD_TEXT)
    with session_scope(site["db"]) as s:
        doc = s.get(Document, doc_id)
        p = s.exec(select(Passage).where(Passage.version_id == doc.current_version_id)).first()
        link = f"{p.id}:{p.start}:{p.end}"
    r1, r2 = site["login"]("r1"), site["login"]("r2")
    r1.post(f"/scoring/{YEAR}/GD/1/submit", data={"csrf_token": r1.csrf, "level": "4", "rationale": "甲",
                                                  "base_revision": "0", "link": [link]})
    r2.post(f"/scoring/{YEAR}/GD/1/submit", data={"csrf_token": r2.csrf, "level": "2", "rationale": "乙",
                                                  "base_revision": "0", "link": [link]})
    r1.post(f"/scoring/{YEAR}/GD/2/save", data={"csrf_token": r1.csrf, "level": "3", "rationale": "草稿",
                                                "base_revision": "0"})
    system = system_for_year(YEAR)
    in_l1 = sum(1 for i in system.rated_indicators() if i.level1_no == 1)

    page = office.get(f"/progress?year={YEAR}")
    assert page.status_code == 200
    gd = cell(page.text, "GD", 1)
    assert gd.startswith(f"1/{in_l1}") and "草 1" in gd and "歧 1" in gd
    # Evidence exists for indicator 1 (tagged and linked) but not for the others in 组织领导.
    assert f"缺证 {in_l1 - 1}" in gd
    hi = cell(page.text, "HI", 1)
    assert hi.startswith(f"0/{in_l1}") and "草" not in hi and f"缺证 {in_l1}" in hi

    listing = office.get(f"/scoring?year={YEAR}&unit=GD&level1=1")
    assert listing.text.count("<tr class=\"status-") == in_l1
    assert 'badge-disputed">有分歧' in listing.text and 'badge-draft">草稿' in listing.text

    assert site["login"]("r1").get(f"/progress?year={YEAR}").status_code == 403
    assert site["login"]("gdp").get(f"/progress?year={YEAR}").status_code == 403


def test_in_browser_office_previews_and_applies_a_spread_then_reads_progress(site, settings):
    from browser_support import Steps, browser, live_server
    from conftest import PASSWORD
    with live_server(settings) as base, browser() as b:
        page = b.new_page()
        steps = Steps("assignments")
        page.goto(f"{base}/login?next=/admin/assignments")
        page.fill("input[name=username]", "office1")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/admin/assignments?year={YEAR}")
        page.fill("form[action='/admin/assignments/preview'] input[name=indicators]", "1-6")
        page.click("form[action='/admin/assignments/preview'] button[type=submit]")
        assert "预览：将新增" in page.content()
        steps.shot(page, "preview")
        page.click("form[action='/admin/assignments/apply'] button[type=submit]")
        assert "已按预览结果完成分配" in page.content()
        steps.shot(page, "applied")
        page.goto(f"{base}/progress?year={YEAR}")
        steps.shot(page, "progress")
        assert "组织领导" in page.content()
    with session_scope(site["db"]) as s:
        assert len(s.exec(select(Assignment)).all()) > 0
