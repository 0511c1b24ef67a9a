"""The whole year in a real browser: upload → self-assessment → spot-check → search → scoring →
disagreement → consensus → progress and audit → categories → 专报 → case collection.

Each step saves a screenshot under tests/artifacts/journey/ for people to look at.
"""
from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import docx
import pytest
from sqlmodel import select

from evidence.accounts import create_user
from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import Assignment, CategoryDecision, EvidenceLink, Passage, Rating, Round
from review_ui.commands.core import initialise

from browser_support import Steps, browser, live_server
from conftest import PASSWORD

MINUTES = [
    "江苏省推进产业工人队伍建设改革协调小组会议纪要",
    "苏产改〔2023〕2号",
    "2023年3月15日，省委书记主持召开省委常委会会议，专题研究全省产业工人队伍建设改革工作，"
    "听取省总工会关于产改工作进展情况的汇报，对下一阶段重点任务作出部署。",
    "会议由省委副书记、省产改协调小组组长主持，27家成员单位负责同志参加，审议通过了年度工作要点。",
    "江苏省推进产业工人队伍建设改革协调小组办公室",
    "2023年3月20日",
]
CRAFT = [
    "江苏省总工会命名首批省级工匠学院",
    "4月26日，江苏省总工会召开全省劳模工匠人才培养工作推进会，为首批12家省级工匠学院授牌。"
    "全省已建成劳模和工匠人才创新工作室1860家，组建创新工作室联盟45个。",
]


def _docx(path: Path, paragraphs: list[str]) -> Path:
    d = docx.Document()
    for text in paragraphs:
        d.add_paragraph(text)
    d.save(path)
    return path


def _pdf_from(docx_path: Path, out_dir: Path) -> Path:
    profile = out_dir / "lo-profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out_dir), str(docx_path)], check=True, capture_output=True, timeout=180)
    return out_dir / (docx_path.stem + ".pdf")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("journey")
    settings = Settings.load(root / "data")
    initialise(settings)
    with session_scope(settings.database_url) as session:
        users = {name: create_user(session, name, PASSWORD, role, unit_code=unit, home_unit_code=home,
                                   display_name=label)
                 for name, role, unit, home, label in [
                     ("office", "office", None, None, "办公室"), ("js", "province", "JS", None, "江苏填报"),
                     ("rev1", "reviewer", None, "ZJ", "专家甲"), ("rev2", "reviewer", None, "GD", "专家乙")]}
        session.add(Round(year=2023, indicator_version="2022.1", self_assessment_due=date(2099, 2, 28),
                          spotcheck_due=date(2099, 3, 31), review_due=date(2099, 7, 31),
                          category_thresholds={"优秀": 90, "良好": 75, "一般": 60}))
        for reviewer in ("rev1", "rev2"):
            session.add(Assignment(year=2023, reviewer_id=users[reviewer].id, unit_code="JS", indicator_no=4))
        session.commit()
    files = root / "files"
    files.mkdir()
    word = _docx(files / "工匠学院授牌.docx", CRAFT)
    pdf = _pdf_from(_docx(files / "协调小组会议纪要.docx", MINUTES), files)
    with live_server(settings) as url:
        yield {"url": url, "settings": settings, "files": [pdf, word], "root": root}


def _login(b, url: str, username: str):
    context = b.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return page


def _wait_indexed(page, url: str, expected: int, timeout_s: float = 240):
    import time
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.goto(f"{url}/evidence")
        if page.locator("text=已入库").count() >= expected:
            return
        if page.locator(".state-failed").count():
            raise AssertionError("a document failed: " + page.inner_text("main"))
        page.wait_for_timeout(1000)
    raise AssertionError("documents were not indexed in time:\n" + page.inner_text("main"))


def test_a_whole_round_in_the_browser(world, tmp_path):
    url, settings = world["url"], world["settings"]
    steps = Steps("journey")
    with browser() as b:
        # 1. Province staff upload a PDF and a DOCX and watch them get indexed.
        js = _login(b, url, "js")
        js.goto(f"{url}/evidence/upload")
        js.set_input_files("#file-input", [str(p) for p in world["files"]])
        js.click("#upload-submit")
        js.wait_for_selector("#upload-progress li.done >> nth=1", timeout=60000)
        steps.shot(js, "province-uploaded")
        _wait_indexed(js, url, 2)
        steps.shot(js, "province-indexed")

        # 2. Self-assessment: a level with its rubric, a category, a report; submit, confirm, and it is locked.
        js.goto(f"{url}/self-assessment")
        js.select_option("select[name=self_category]", "良好")
        js.fill("textarea[name=report]", "我省2023年推进产改工作总结：省委高度重视，协调机制健全。")
        js.click("#ind-4 summary")
        js.check("input[name=level_4][value='4']")
        js.click("button[value=review]")
        js.click("#confirm-submit")
        js.wait_for_selector("text=自评已提交并锁定")
        steps.shot(js, "self-assessment-submitted")

        # 3. The office draws the spot-check list, adds JS by a reasoned override if the draw left it out,
        #    and records the approval.
        office = _login(b, url, "office")
        office.goto(f"{url}/rounds/2023/spotcheck")
        office.fill("input[name=seed]", "2023")
        office.click("text=生成抽查名单")
        office.wait_for_selector("#spotcheck-table")
        selected = lambda: office.locator("#spotcheck-table tr", has_text="江苏省").locator("td").nth(1).inner_text()
        if selected() != "抽查":
            office.fill("input[name=add]", "江苏")  # typed as people name it
            office.fill("input[name=reason]", "江苏省产改试点任务较重，纳入本年度抽查")
            office.click("text=调整名单")
            office.wait_for_selector("text=已调整抽查名单")
        assert selected() == "抽查"
        office.fill("input[name=meeting]", "协调小组第3次会议")
        office.click("text=记录审定")
        office.wait_for_selector("text=抽查名单已审定")
        steps.shot(office, "spotcheck-approved")

        # 4. A reviewer searches, opens the hit at its passage.
        rev1 = _login(b, url, "rev1")
        rev1.goto(f"{url}/search?q=" + "%22专题研究%22")
        rev1.wait_for_selector("article.hit")
        assert "<mark>" in rev1.inner_html("article.hit >> nth=0")
        steps.shot(rev1, "reviewer-search")
        rev1.click("article.hit h3 a >> nth=0")
        rev1.wait_for_selector(".passage.target")
        assert "专题研究" in rev1.inner_text(".passage.target")
        steps.shot(rev1, "reviewer-opens-passage")

        # 5. The reviewer scores indicator 4 with a linked passage and submits.
        _score(rev1, url, level=4, rationale="省委书记主持召开常委会会议专题研究产改，证据充分。")
        steps.shot(rev1, "reviewer1-submitted")

        # 6. A second reviewer disagrees, and after submitting sees the disagreement.
        rev2 = _login(b, url, "rev2")
        rev2.goto(f"{url}/scoring/2023/JS/4")
        assert "专家甲" not in rev2.inner_text("main"), "another reviewer's rating shown before submitting"
        _score(rev2, url, level=2, rationale="仅见会议安排，落实情况证据不足。")
        assert "有分歧" in rev2.inner_text("main")
        steps.shot(rev2, "reviewer2-sees-disagreement")

        # 7. The office sees progress and the audit log, and records the panel's consensus.
        office.goto(f"{url}/progress?year=2023")
        assert "江苏" in office.inner_text("main")
        steps.shot(office, "office-progress")
        office.goto(f"{url}/admin/audit")
        audit_text = office.inner_text("main")
        assert "提交评分" in audit_text and "上传证据" in audit_text
        steps.shot(office, "office-audit")
        _score(office, url, level=3, rationale="合议：会议研究部署到位，落实证据一般。")
        steps.shot(office, "office-consensus")

        # 8. Categories, then the 专报.
        office.goto(f"{url}/rounds/2023")
        office.click("text=计算并认定类别")
        office.wait_for_selector("text=评分尚未完成，暂不认定")  # JS has one rated indicator of many
        assert "江苏" in office.inner_text(".flash.ok") and "JS" not in office.inner_text(".flash.ok")
        office.select_option("select[name=adj_JS]", "良好")
        office.fill("input[name=note]", "抽查评估中领导重视等指标经合议认定，其余指标按自评材料综合认定。")
        office.click("text=计算并认定类别")
        office.wait_for_selector("text=已认定")
        steps.shot(office, "office-categories")
        with office.expect_download() as dl:
            office.click("text=下载专报（DOCX）")
        report = tmp_path / "专报.docx"
        dl.value.save_as(report)
        d = docx.Document(report)
        everything = "\n".join([p.text for p in d.paragraphs] +
                               [c.text for t in d.tables for row in t.rows for c in row.cells])
        assert "江苏省" in everything and "推进产业工人队伍建设改革协调小组" in everything

        # 9. A case collection built from search hits, exported and read back.
        office.goto(f"{url}/collections")
        office.fill("input[name=title]", "2023年产改经验案例汇编")
        office.fill("input[name=year]", "2023")
        office.click("text=创建")
        office.wait_for_url(re.compile(r".*/collections/\d+$"))
        collection_url = office.url
        office.goto(f"{url}/search?q=工匠学院")
        office.wait_for_selector("article.hit")
        office.click("article.hit >> nth=0 >> text=加入汇编")
        office.wait_for_selector("text=已加入")
        office.goto(f"{url}/search?q=" + "%22专题研究%22")
        office.click("article.hit >> nth=0 >> text=加入汇编")
        office.wait_for_selector("text=已加入")
        steps.shot(office, "collection-from-search")
        office.goto(collection_url)
        steps.shot(office, "collection-editor")
        with office.expect_download() as dl:
            office.click("text=导出 Word（DOCX）")
        out = tmp_path / "汇编.docx"
        dl.value.save_as(out)

    with session_scope(settings.database_url) as session:
        ratings = session.exec(select(Rating).where(Rating.status == "submitted")).all()
        assert sorted(r.level_value for r in ratings) == [2, 3, 4]
        for r in ratings:
            links = session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "rating",
                                                            EvidenceLink.owner_id == r.id)).all()
            assert links and all(l.quote and l.page_no >= 1 and l.end > l.start for l in links)
        js_category = session.exec(select(CategoryDecision).where(CategoryDecision.unit_code == "JS")).one()
        assert js_category.category == "良好" and js_category.source == "adjusted"
        excerpts = session.exec(select(EvidenceLink).where(EvidenceLink.owner_kind == "collection_entry")).all()
        sources = [session.get(Passage, l.passage_id).text for l in excerpts]
    paragraphs = [p.text for p in docx.Document(out).paragraphs]
    body = "\n".join(paragraphs)
    assert len(sources) == 2
    for text in sources:
        assert text in body
        last = text.strip().splitlines()[-1]
        at = max(i for i, t in enumerate(paragraphs) if last in t)
        assert any(t.startswith("——摘自") for t in paragraphs[at + 1:at + 3])


def _score(page, url: str, level: int, rationale: str) -> None:
    page.goto(f"{url}/scoring/2023/JS/4")
    page.check(f"input[name=level][value='{level}']")
    page.fill("textarea[name=rationale]", rationale)
    page.locator("input[name=link][form=rating-form]").first.check()
    page.locator("#rating-form button[formaction$='/submit']").click()
    page.wait_for_load_state("networkidle")
    assert "已提交" in page.inner_text("main") or "合议" in page.inner_text("main")
