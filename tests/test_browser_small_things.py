"""Small things a real browser shows: the app's own icon (vendored, no 404), the self-assessment's progress
staying in sight while its long form scrolls (also one column, at 125 % zoom), and the collection editor
asking before its unsaved changes are left behind — only then."""
from __future__ import annotations

import pytest

from browser_support import browser, live_server, logged_in_page
from conftest import PASSWORD
from round_support import add_round


def test_the_icon_is_served_from_the_apps_own_files(client):
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in icon.content and b"http://www.w3.org/2000/svg" in icon.content and b"href" not in icon.content
    legacy = client.get("/favicon.ico", follow_redirects=False)
    assert legacy.status_code == 301 and legacy.headers["location"] == "/static/favicon.svg"
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text


@pytest.fixture
def site(settings, make_user):
    add_round(settings, 2023)
    make_user("js", "province", unit="JS")
    make_user("office", "office")
    with live_server(settings) as url, browser() as b:
        yield url, b


def logged_in(b, url, username, width=1366):
    page = logged_in_page(b, url, username, PASSWORD, width)
    missing = []  # from here on: what the pages asked for and did not get
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    return page, missing


@pytest.mark.parametrize("width", [1366, 1024])  # 1024: a 1366 screen at 125 % zoom, one column
def test_the_self_assessment_progress_stays_in_sight_while_the_form_scrolls(site, width):
    url, b = site
    page, missing = logged_in(b, url, "js", width)
    page.goto(f"{url}/self-assessment?year=2023")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollHeight") > 3 * 768
    for y in (1500, 4000):
        page.evaluate(f"window.scrollTo(0, {y})")
        box = page.evaluate("""() => { const r = document.querySelector('#sa-progress').getBoundingClientRect();
                                       return {top: r.top, bottom: r.bottom, height: innerHeight}; }""")
        assert 0 <= box["top"] and box["bottom"] <= box["height"], (y, box)
        assert page.is_visible("button:has-text('保存草稿')")
    assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0
    assert not [u for u in missing if "favicon" in u]


def test_the_collection_editor_asks_before_leaving_only_with_unsaved_changes(site):
    url, b = site
    page, _ = logged_in(b, url, "office")
    page.goto(f"{url}/collections")
    page.fill("input[name=title]", "工匠学院案例汇编")
    page.fill("input[name=year]", "2023")
    page.click("form[action='/collections'] button[type=submit]")
    page.wait_for_url(f"{url}/collections/*")
    editor = page.url
    asked = []
    page.on("dialog", lambda d: (asked.append(d.type), d.dismiss()))

    page.click("a.brand")  # nothing typed: leaves without a question
    page.wait_for_url(f"{url}/")
    assert asked == []

    page.goto(editor)
    page.click("#editor textarea[name=preface]")
    page.keyboard.type("本汇编收录各地工匠学院建设的经验。")
    page.click("a.brand")  # typed and not saved: the browser asks, and staying keeps the text
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"] and page.url == editor
    assert page.input_value("#editor textarea[name=preface]") == "本汇编收录各地工匠学院建设的经验。"

    page.click("#editor .save-bar button[type=submit]")  # saved: leaving asks nothing
    page.wait_for_load_state("networkidle")
    page.click("a.brand")
    page.wait_for_url(f"{url}/")
    assert asked == ["beforeunload"]
