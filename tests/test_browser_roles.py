"""Each role's daily journey in a real browser at 1366×768, from a fresh demo, failing on any
English word, unit code or raw id a person would read.

Screenshots of each step (the 工作台 first) go to tests/artifacts/roles/ for people to look at.
"""
from __future__ import annotations

import re
import time

import pytest

from evidence.config import Settings
from review_ui.commands.core import initialise
from review_ui.demo import DEMO_PASSWORD, demo_file_names, demo_years, load_demo

LAST_YEAR, THIS_YEAR = demo_years()  # the demo's closed round and its open one
from rubrics.indicators import load_units

from browser_support import Steps, browser, live_server

VIEWPORT = {"width": 1366, "height": 768}
UPLOADED = "江苏省工匠学院建设情况汇报.txt"
UPLOAD_TEXT = ("江苏省工匠学院建设情况汇报\n\n苏产改办〔2023〕7号\n\n"
               "2023年，全省新建省级工匠学院8家，开展职业技能竞赛210场，培养高技能人才1.2万名。")

# Latin text a person may legitimately read: format and size names, the search syntax's OR, and
# Chinese document-number prefixes never contain Latin letters, so they need no entry.
ALLOWED_WORDS = {"PDF", "Word", "WPS", "Excel", "ZIP", "OCR", "KB", "MB", "GB", "OR", "DOCX", "XLSX"}
RAW_ID = re.compile(r"\b(?:user|collection|document|passage|version)[-_ ]?\d+\b|用户 ?\d+\b|None|null|undefined",
                    re.I)
UNIT_CODES = {u.code for u in load_units()}


def readable_problems(text: str, file_names: tuple[str, ...]) -> list[str]:
    """English words, unit codes and raw ids in the visible text of a page."""
    for name in file_names:  # names the user chose are theirs, whatever their letters
        text = text.replace(name, "")
    problems = [m.group(0) for m in RAW_ID.finditer(text)]
    for word in re.findall(r"[A-Za-z][A-Za-z_]*", text):
        if word in UNIT_CODES:
            problems.append(f"单位代码 {word}")
        elif word not in ALLOWED_WORDS:
            problems.append(word)
    return problems


def test_the_checker_catches_what_it_should():
    assert readable_problems("江苏（JS）", ()) == ["单位代码 JS"]
    assert readable_problems("状态 open", ()) == ["open"]
    assert readable_problems("user 1 上传", ())
    assert readable_problems("苏工发〔2023〕12号 2023 年度 1.5 MB PDF", ()) == []
    assert readable_problems("report-v2.docx 已上传", ("report-v2.docx",)) == []


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("roles")
    settings = Settings.load(root / "data")
    initialise(settings)
    load_demo(settings)
    upload = root / UPLOADED
    upload.write_text(UPLOAD_TEXT, encoding="utf-8")
    with live_server(settings) as url:
        yield {"url": url, "upload": upload, "demo_files": demo_file_names(THIS_YEAR)}


class Walk:
    """One user's browser tab that checks every page it visits."""

    def __init__(self, b, url: str, username: str, steps: Steps, files: tuple[str, ...]):
        self.url, self.steps, self.files = url, steps, files
        self.context = b.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.goto(f"{url}/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{url}/")

    def check(self, label: str) -> None:
        self.page.wait_for_load_state("networkidle")
        self.steps.shot(self.page, label)
        text = self.readable_text()
        problems = readable_problems(text, self.files)
        if problems:
            self.problems.append(f"{label}（{self.page.url}）：页面上有英文、代码或原始编号：{problems}")
        if self.errors:
            self.problems.append(f"{label}：脚本出错 {self.errors}")
            self.errors.clear()
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            self.problems.append(f"{label}：在 1366×768 下出现横向滚动（超出 {overflow}px）")

    def readable_text(self) -> str:
        """The body's visible text without key caps (<kbd>Ctrl</kbd>, <kbd>J</kbd>: the letters printed on the keys)."""
        return self.page.evaluate("""() => {
            const hide = document.createElement("style");
            hide.textContent = "kbd { visibility: hidden !important; }";
            document.head.appendChild(hide);
            const text = document.body.innerText;
            hide.remove();
            return text;
        }""")

    def done(self) -> None:
        """Every page is looked at before failing, so one run lists all that is wrong."""
        assert not self.problems, "\n".join(self.problems)

    def visit(self, path: str, label: str) -> None:
        response = self.page.goto(f"{self.url}{path}")
        assert response.status < 400, f"{label}：{path} 返回 {response.status}"
        self.check(label)

    def follow(self, link_text: str, label: str) -> None:
        self.page.click(f"main a:has-text('{link_text}') >> nth=0")
        self.check(label)


USERNAMES = ("office", "reviewer1", "reviewer2", "js", "sh")  # login names the office chose


def walk(demo, b, username: str) -> Walk:
    files = demo["demo_files"] + (UPLOADED,) + USERNAMES
    return Walk(b, demo["url"], username, Steps(f"roles/{username}"), files)


def test_province_day(demo):
    with browser() as b:
        w = walk(demo, b, "js")
        w.check("工作台")
        page = w.page
        assert page.locator(".task").count() >= 2 and "还剩" in page.inner_text(".tasks")
        w.follow(f"上传 {THIS_YEAR} 年度证据", "我的证据")
        w.visit("/evidence/upload", "上传证据")
        page.set_input_files("#file-input", [str(demo["upload"])])
        page.click("#upload-submit")
        page.wait_for_selector("#upload-progress li.finished", timeout=60000)
        assert "已入库" in page.inner_text("#upload-progress")
        w.check("上传完成")
        page.click(f"#upload-states a:has-text('{UPLOADED}')")
        w.check("查看证据")
        w.visit("/self-assessment", "年度自评")
        w.visit("/search?q=工匠", "检索")
        w.visit("/evidence", "证据列表")
        w.done()


def test_reviewer_day(demo):
    with browser() as b:
        w = walk(demo, b, "reviewer1")
        w.check("工作台")
        w.follow("待评分", "评分任务")
        assert w.page.locator("table.items tbody tr").count() >= 1
        w.page.click("table.items a >> nth=0")
        w.check("评分界面")
        w.visit("/search?q=工匠", "检索")
        w.visit("/conflicts", "申报回避")
        w.done()


def test_office_day(demo):
    with browser() as b:
        w = walk(demo, b, "office")
        w.check("工作台")
        w.follow("处理失败的文件", "处理失败的文件")
        for path, label in (("/evidence", "全部证据"), ("/progress", "评审进度"), ("/rounds", "评价年度"),
                            (f"/rounds/{LAST_YEAR}", "年度总览"), (f"/rounds/{THIS_YEAR}", "年度总览"),
                            (f"/rounds/{LAST_YEAR}/spotcheck", "抽查名单"), (f"/scoring?year={THIS_YEAR}", "评分"), ("/collections", "案例汇编"),
                            ("/admin/users", "用户"), ("/admin/assignments", "评审分配"), ("/admin/audit", "审计日志"),
                            ("/search?q=工匠&unit=JS", "检索")):
            w.visit(path, label)
        w.done()
