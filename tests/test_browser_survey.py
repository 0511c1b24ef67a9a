"""A respondent answers a satisfaction survey on a phone-sized screen (390×844), without an account.

Screenshots of each step land in tests/artifacts/survey-phone/ for people to look at."""
from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from conftest import PASSWORD
from evidence.accounts import create_user
from evidence.config import Settings
from evidence.db import get_engine, session_scope
from evidence.models import Survey, SurveyResponse
from review_ui.commands.core import initialise
from rounds import surveys as S
from rounds import workflow as R
from rubrics.questionnaires import questionnaire

from browser_support import Steps, browser, live_server

PHONE = {"width": 390, "height": 844}


def test_a_respondent_answers_on_a_phone_once(tmp_path):
    settings = Settings.load(tmp_path / "data")
    initialise(settings)
    with session_scope(settings.database_url) as session:
        office = create_user(session, "office", PASSWORD, "office")
        R.create_round(session, 2023, office, self_assessment_due=date(2099, 2, 28))
        session.flush()
        survey = S.publish(session, office, 2023, units=["JS"], audiences=["workers"]).created[0]
        session.commit()
        token = survey.token
    q = questionnaire("workers")
    steps = Steps("survey-phone")
    with live_server(settings) as url, browser() as b:
        context = b.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{url}/s/{token}")
        assert page.locator("h1").inner_text() == q.title
        # fits the phone: nothing wider than the screen, every choice a thumb-sized target
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        first = page.locator("fieldset.item").first.locator("label").first.bounding_box()
        assert first["height"] >= 44 and first["x"] >= 0 and first["x"] + first["width"] <= PHONE["width"]
        steps.shot(page, "问卷")
        page.click("button[type=submit]")  # nothing chosen: the browser itself asks for the first item
        assert page.url.endswith(f"/s/{token}") and page.locator("text=提交成功").count() == 0
        for n, item in enumerate(q.items):
            page.locator(f"fieldset#q{n + 1} label").nth(3 if n % 3 else 4).click()  # 比较满意 / 非常满意
        steps.shot(page, "已作答")
        page.click("button[type=submit]")
        page.wait_for_selector("text=提交成功")
        steps.shot(page, "提交成功")
        page.goto(f"{url}/s/{token}")
        assert "已经填写过" in page.locator("h1").inner_text()
        closed = context.new_page()
        response = closed.goto(f"{url}/s/{'x' * 32}")
        assert response.status == 404 and "找不到这份问卷" in closed.inner_text("main")
        steps.shot(closed, "链接无效")
        context.close()
    with Session(get_engine(settings.database_url)) as session:
        rows = session.exec(select(SurveyResponse)).all()
        assert len(rows) == 1 and rows[0].survey_id == session.exec(select(Survey)).one().id
        expected = sum(75 if n % 3 else 100 for n in range(len(q.items))) / len(q.items)
        assert abs(rows[0].score - expected) < 1e-9
