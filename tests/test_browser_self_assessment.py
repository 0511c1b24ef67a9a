"""In Chromium at 1366×768, from a fresh demo: the province fills its self-assessment (autosave, a value
refused beside its field, the passage picker, a save lost to the network and brought back, the
confirmation, the lock), a reviewer scores an item with the rubric, the province's claim and the
evidence on one screen, and the office reads and prints a unit's self-assessment. Every page is checked
for English words, unit codes and raw ids (test_browser_roles.readable_problems); screenshots go to
tests/artifacts/self_assessment/.
"""
from __future__ import annotations

import pytest
from sqlmodel import select

from browser_support import Steps, browser, live_server
from evidence.config import Settings
from evidence.db import session_scope
from evidence.models import Document, Passage, SelfAssessment, SelfAssessmentItem, User
from review_ui.commands.core import initialise
from review_ui.demo import DEMO_PASSWORD, demo_file_names, demo_years, load_demo
from test_browser_roles import USERNAMES, VIEWPORT, Walk

_, THIS_YEAR = demo_years()
NARRATIVE = "省委书记主持召开专题会议研究产改工作，分管领导定期调度。"
OFFLINE_WORDS = "（断网时补充的说明）"
SH_NARRATIVE = "市委主要负责同志听取产改工作汇报并作出批示。"


def _submit_for_sh(settings) -> None:
    """上海's self-assessment of the open round, submitted: indicator 4 claimed at level 4 with a linked passage."""
    from rounds import workflow as R
    with session_scope(settings.database_url) as session:
        sh = session.exec(select(User).where(User.username == "sh")).one()
        passage = session.exec(select(Passage).join(Document, Document.current_version_id == Passage.version_id)
                               .where(Document.unit_code == "SH", Document.year == THIS_YEAR)).first()
        R.save_self_assessment(session, sh, THIS_YEAR, category="良好", report="上海市年度自评报告（演示）。",
                               levels={4: 4}, narratives={4: SH_NARRATIVE}, values={}, links=[(4, passage.id)])
        R.submit_self_assessment(session, sh, THIS_YEAR)
        session.commit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("self_assessment")
    settings = Settings.load(root / "data")
    initialise(settings)
    load_demo(settings)
    _submit_for_sh(settings)
    with live_server(settings) as url:
        yield {"url": url, "settings": settings, "files": demo_file_names(THIS_YEAR) + USERNAMES}


def walk(site, b, username: str) -> Walk:
    return Walk(b, site["url"], username, Steps(f"self_assessment/{username}"), site["files"])


def _in_view(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"]


def _stored_item(settings, no: int) -> SelfAssessmentItem | None:
    with session_scope(settings.database_url) as session:
        sa = session.exec(select(SelfAssessment).where(SelfAssessment.unit_code == "JS",
                                                       SelfAssessment.year == THIS_YEAR)).first()
        if sa is None:
            return None
        return session.exec(select(SelfAssessmentItem).where(SelfAssessmentItem.self_assessment_id == sa.id,
                                                             SelfAssessmentItem.indicator_no == no)).first()


def test_province_fills_links_confirms_and_locks(site):
    settings = site["settings"]
    with browser() as b:
        w = walk(site, b, "js")
        page = w.page
        page.on("dialog", lambda dialog: dialog.accept())  # leaving with unsaved changes asks first
        w.visit("/self-assessment", "自评表")
        assert "已填 0 / 85 项" in page.inner_text("#sa-progress")
        assert _in_view(page, "button[value=save]") and _in_view(page, "button[value=review]")

        # autosave: the time it saved, the progress, the database
        page.click("#ind-4 > summary")
        page.check("input[name=level_4][value='4']")
        page.fill("textarea[name=narrative_4]", NARRATIVE)
        page.wait_for_selector("#autosave-status.saved", timeout=15000)
        assert "已自动保存" in page.inner_text("#autosave-status")
        assert "已填 1 / 85 项" in page.inner_text("#sa-progress")
        assert _stored_item(settings, 4).narrative == NARRATIVE
        page.mouse.wheel(0, 2000)  # the actions stay on screen while the form scrolls
        assert _in_view(page, "button[value=save]")
        w.check("自动保存")

        # a value the rule refuses: said beside the field, nothing typed lost, nothing stored
        share = "input[name=value_54_share_of_workers]"
        page.click("#ind-54 > summary")
        page.fill(share, "130")
        page.wait_for_selector("#autosave-status.failed", timeout=15000)
        error = page.locator('#ind-54 .field-error[data-for="value_54_share_of_workers"]')
        assert "比例，不能超过100%" in error.inner_text()
        assert page.input_value(share) == "130" and page.input_value("textarea[name=narrative_4]") == NARRATIVE
        w.check("数值有误")
        assert _stored_item(settings, 54) is None
        page.fill(share, "35.5")
        page.wait_for_selector("#autosave-status.saved", timeout=15000)
        assert error.inner_text() == "" and _stored_item(settings, 54).values["share_of_workers"]["value"] == 35.5

        # the passage picker: the unit's own evidence, searched; one click links
        page.click("#ind-4 a.pick")
        page.wait_for_selector("#picker-results .choice", timeout=15000)
        assert "4. 领导重视" in page.inner_text("#picker-results")
        page.fill("#picker-q", "工匠学院")
        page.wait_for_selector("#picker-results mark", timeout=15000)
        results = page.inner_text("#picker-results")
        assert "工匠学院" in results and "第 1 页" in results and "上海" not in results
        w.check("选择证据")
        page.click("#picker-results .choice button >> nth=0")
        page.wait_for_selector("#links-4 li", timeout=15000)
        assert "已关联证据 1 处" in page.inner_text("#links-4")
        assert page.inner_text("#picker-results .choice button >> nth=0") == "已关联"

        # the network drops while typing: the page keeps the text, a reload brings it back and saves it
        w.context.set_offline(True)
        page.locator("textarea[name=narrative_4]").press_sequentially(OFFLINE_WORDS)
        page.wait_for_selector("#autosave-status.failed", timeout=15000)
        assert "网络中断" in page.inner_text("#autosave-status")
        assert page.input_value("textarea[name=narrative_4]") == NARRATIVE + OFFLINE_WORDS
        w.context.set_offline(False)
        page.reload()
        page.wait_for_selector("#autosave-status.saved", timeout=15000)
        assert page.input_value("textarea[name=narrative_4]") == NARRATIVE + OFFLINE_WORDS
        assert _stored_item(settings, 4).narrative == NARRATIVE + OFFLINE_WORDS
        w.check("断网后恢复")

        # the login ends in another tab while typing: the page says so (no English, no token talk),
        # keeps the text, refuses to post the form away, and saves once a new login exists
        other = w.context.new_page()
        other.goto(f"{site['url']}/")
        other.click("form.logout button")
        other.wait_for_url("**/login")
        page.locator("textarea[name=narrative_4]").press_sequentially("（退出后补充）")
        page.wait_for_selector("#autosave-status.failed", timeout=15000)
        ended = page.inner_text("#autosave-status")
        assert "登录已结束" in ended and "CSRF" not in ended and "。。" not in ended
        assert page.locator("#autosave-status a[href*='/login']").count() == 1
        page.click("button[value=save]")
        assert "/self-assessment" in page.url and page.input_value("textarea[name=narrative_4]").endswith("（退出后补充）")
        w.check("登录已结束")
        other.goto(site["url"] + page.locator("#autosave-status a").get_attribute("href"))
        other.fill("input[name=username]", "js")
        other.fill("input[name=password]", DEMO_PASSWORD)
        other.click("button[type=submit]")
        other.wait_for_url("**/session/renewed")
        assert "请回到原来的标签页" in other.inner_text("main")
        other.close()
        page.bring_to_front()
        page.evaluate("window.dispatchEvent(new Event('focus'))")
        page.wait_for_selector("#autosave-status.saved", timeout=30000)
        assert _stored_item(settings, 4).narrative.endswith("（退出后补充）")

        # the progress links to the first empty indicator of a section, and opens it
        page.click("#sa-progress a.next-open >> nth=2")
        opened = page.url.split("#")[1]
        assert page.locator(f"#{opened}").get_attribute("open") is not None and _in_view(page, f"#{opened} > summary")

        # 提交并锁定… asks first, then locks
        page.select_option("select[name=self_category]", "良好")
        page.fill("textarea[name=report]", "江苏省年度推进产改工作自评报告。")
        page.wait_for_selector("#autosave-status.saved", timeout=15000)
        page.click("button[value=review]")
        page.wait_for_url("**/confirm")
        assert "确认提交并锁定" in page.inner_text("main") and "已填 1 / 85 项" in page.inner_text("main")  # 54 still lacks its second value
        w.check("确认提交")
        page.click("#confirm-submit")
        page.wait_for_url("**/self-assessment?year=*")
        assert "自评已提交并锁定" in page.inner_text("main")
        assert page.locator("textarea[name=report]").is_disabled()  # inside the locked fieldset
        assert page.locator("button[value=save]").count() == 0
        w.check("已锁定")
        w.done()


def test_reviewer_scores_with_rubric_claim_and_evidence_on_one_screen(site):
    with browser() as b:
        w = walk(site, b, "reviewer1")
        page = w.page
        w.visit(f"/scoring/{THIS_YEAR}/SH/4", "评分界面")
        # one screen at 1366×768: the page does not scroll, its panels do
        assert page.evaluate("document.scrollingElement.scrollHeight") <= VIEWPORT["height"]
        for selector in (".rubric-level", "button.save-draft", "button[formaction$='/submit']", "#shortcuts",
                         ".claimed h2", ".evidence h2"):
            assert _in_view(page, selector), selector
        assert page.locator("#shortcuts").is_visible() and "快捷键" not in page.title()
        claimed = page.inner_text(".claimed")
        assert "自评等级：4 · 好" in claimed and SH_NARRATIVE in claimed
        # keyboard: a digit picks the level; the linked passage opens in the viewer
        page.keyboard.press("3")
        assert page.is_checked("input[name=level][value='3']")
        with w.context.expect_page() as opened:
            page.click(".claimed-links a >> nth=0")
        viewer = opened.value
        viewer.wait_for_load_state()
        assert "/evidence/" in viewer.url and "上海" in viewer.inner_text("main")
        viewer.close()
        page.fill("textarea[name=rationale]", "会议纪要佐证领导重视，批示明确。")
        page.check(".claimed-links input[name=link] >> nth=0")
        page.keyboard.press("Control+s")
        page.wait_for_url("**?saved=draft")
        assert "草稿已保存" in page.inner_text("main")
        assert page.evaluate("document.scrollingElement.scrollHeight") <= VIEWPORT["height"]
        w.check("草稿已保存")
        w.done()


def test_office_reads_and_prints_a_units_self_assessment(site):
    with browser() as b:
        w = walk(site, b, "office")
        page = w.page
        w.visit(f"/rounds/{THIS_YEAR}", "年度总览")
        page.click(f"a[href='/rounds/{THIS_YEAR}/self/SH']")
        w.check("上海自评")
        text = page.inner_text("main")
        assert SH_NARRATIVE in text and "好（4）" in text and "演示数据" in text
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible() and not page.locator(".reading-actions").is_visible()
        w.steps.shot(page, "打印预览")
        w.done()
