"""The 工作台 of every role, the audit log as people read it, the viewer as a reading tool and
unit names typed into search: what a person sees, checked through the ASGI client."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from evidence import audit
from evidence.db import get_engine
from evidence.models import Assignment, AuditEvent, Rating, Round, User

TEXT = ("江苏省总工会关于建设工匠学院的通知\n\n苏工发〔2023〕12号\n\n"
        "为深化产业工人队伍建设改革，省总工会决定在全省建设工匠学院，开展职业技能竞赛和技能培训。")


def session_for(settings) -> Session:
    return Session(get_engine(settings.database_url), expire_on_commit=False)


def add_round(settings, days: int = 5):
    soon = date.today() + timedelta(days=days)
    with session_for(settings) as session:
        session.add(Round(year=2023, indicator_version="2022.1", self_assessment_due=soon, spotcheck_due=soon,
                          review_due=soon + timedelta(days=30), upload_due=soon))
        session.commit()


def test_province_home_counts_link_to_the_lists_they_count_and_remind_of_a_close_deadline(
        settings, make_user, login, add_evidence):
    add_round(settings, days=5)
    make_user("js", "province", unit="JS")
    add_evidence("JS", "通知.txt", TEXT)
    page = login("js").get("/").text
    assert 'href="/evidence?year=2023"' in page and "已入库 1 份" in page
    assert 'href="/self-assessment"' in page and "还剩 5 天" in page
    assert "提醒：" in page and "还剩 5 天截止" in page  # the self-assessment is not submitted yet
    assert "江苏省" in page and ">JS<" not in page


def test_a_failed_file_is_not_counted_as_uploaded_evidence(settings, make_user, login, add_evidence):
    add_round(settings, days=5)
    make_user("js", "province", unit="JS")
    add_evidence("JS", "损坏.pdf", b"%PDF-1.4 broken")
    home = login("js").get("/").text
    upload = re.search(r'<li class="task([^"]*)">\s*<a href="/evidence\?year=2023">(.*?)</a>', home, re.S)
    assert "done" not in upload.group(1) and re.search(r"task-count\">0", upload.group(2))
    assert "尚无入库的证据" in upload.group(2) and "另有 1 份处理失败" in upload.group(2)
    assert "待完成" in upload.group(2) and "处理失败、需重新上传或重试的文件" in home
    add_evidence("JS", "通知.txt", TEXT)
    home = login("js").get("/").text
    upload = re.search(r'<li class="task([^"]*)">\s*<a href="/evidence\?year=2023">(.*?)</a>', home, re.S)
    assert "done" in upload.group(1) and "已入库 1 份" in upload.group(2)


def test_reviewer_home_counts_items_to_score(settings, make_user, login):
    add_round(settings, days=40)
    reviewer = make_user("expert", "reviewer")
    with session_for(settings) as session:
        for no in (4, 7):
            session.add(Assignment(year=2023, reviewer_id=reviewer.id, unit_code="JS", indicator_no=no))
        session.commit()
    page = login("expert").get("/").text
    card = re.search(r'<a href="/scoring\?year=2023&amp;status=todo">(.*?)</a>', page, re.S)
    assert card and "待评分" in card.group(1) and re.search(r"2\s*<small>项", card.group(1))
    listing = login("expert").get("/scoring?year=2023&status=todo").text
    assert listing.count("/scoring/2023/JS/") == 2


def cards(page: str) -> list[tuple[str, str, int, str]]:
    """(address, what, count, badge) of every card on a 工作台."""
    found = []
    for href, body in re.findall(r'<li class="task[^"]*">\s*<a href="([^"]+)">(.*?)</a>', page, re.S):
        what = re.search(r'task-what">(.*?)<', body).group(1)
        count = re.search(r'task-count">(\d+)', body)
        badge = re.search(r'task-state">(.*?)<', body)
        found.append((href.replace("&amp;", "&"), what, int(count.group(1)) if count else -1,
                      badge.group(1) if badge else ""))
    return found


def rows_listed(client, href: str) -> int:
    page = client.get(href).text
    return len(re.findall(r'<tr class="status-', page))


def test_every_scoring_count_on_a_home_page_is_the_number_of_rows_its_link_lists(settings, make_user, login):
    """One rule for an item's status: after a disputed submission and after the office's consensus,
    each card's count is what its list shows, and 已提交 counts every submitted item."""
    add_round(settings, days=40)
    reviewer = make_user("expert", "reviewer")
    other = make_user("other", "reviewer")
    make_user("office", "office")
    expert = login("expert")
    first = cards(expert.get("/").text)
    assert [c for c in first if c[1] == "已提交"] == []  # nothing submitted: no 已提交 card claiming 已完成
    with session_for(settings) as session:
        for no in (4, 7, 11, 13):
            session.add(Assignment(year=2023, reviewer_id=reviewer.id, unit_code="JS", indicator_no=no))
        for no, mine, theirs in ((4, 1, 4), (7, 3, 3)):  # 4: disputed; 7: agreed
            for who, level in ((reviewer, mine), (other, theirs)):
                session.add(Rating(year=2023, unit_code="JS", indicator_no=no, indicator_version="2022.1",
                                   reviewer_id=who.id, level_value=level, status="submitted"))
        session.add(Rating(year=2023, unit_code="JS", indicator_no=11, indicator_version="2022.1",
                           reviewer_id=reviewer.id, level_value=2, status="draft"))
        session.commit()
    home = cards(expert.get("/").text)
    by_what = {c[1]: c for c in home}
    assert by_what["待评分"][2] == 1 and by_what["草稿未提交"][2] == 1 and by_what["已提交"][2] == 2
    assert by_what["有分歧、等待合议"][2] == 1 and by_what["已提交"][3] == ""  # a record, not a task
    for href, what, count, _ in home:
        assert rows_listed(expert, href) == count, what
    with session_for(settings) as session:  # the office records the consensus of the disputed item
        office = session.exec(select(User).where(User.username == "office")).one()
        session.add(Rating(year=2023, unit_code="JS", indicator_no=4, indicator_version="2022.1", reviewer_id=office.id,
                           kind="consensus", level_value=2, status="submitted"))
        session.commit()
    home = cards(expert.get("/").text)
    assert {c[1]: c[2] for c in home}["已提交"] == 2 and "有分歧、等待合议" not in {c[1] for c in home}
    for href, what, count, _ in home:
        assert rows_listed(expert, href) == count, what
    office_client = login("office")
    for href, what, count, _ in cards(office_client.get("/").text):
        if href.startswith("/scoring"):
            assert rows_listed(office_client, href) == count, what


def test_an_empty_filtered_list_says_what_there_is(settings, make_user, login):
    add_round(settings, days=40)
    reviewer = make_user("expert", "reviewer")
    with session_for(settings) as session:
        session.add(Assignment(year=2023, reviewer_id=reviewer.id, unit_code="JS", indicator_no=4))
        session.commit()
    page = login("expert").get("/scoring?year=2023&status=consensus").text
    assert "没有符合筛选条件的评审项（共 1 项）" in page and "还没有分配给您" not in page
    assert "显示 0 项，共 1 项" in page


def test_office_home_counts_disputes_awaiting_consensus(settings, make_user, login):
    add_round(settings, days=40)
    office = make_user("office", "office")
    with session_for(settings) as session:
        for name, level in (("r1", 1), ("r2", 4)):
            u = User(username=name, role="reviewer", password_hash="x")
            session.add(u)
            session.flush()
            session.add(Rating(year=2023, unit_code="JS", indicator_no=4, indicator_version="2022.1",
                               reviewer_id=u.id, level_value=level, status="submitted"))
        session.commit()
    page = login("office").get("/").text
    card = re.search(r'<a href="/scoring\?year=2023&amp;status=disputed">(.*?)</a>', page, re.S)
    assert card and re.search(r"1\s*<small>项", card.group(1)) and "待完成" in card.group(1)


def test_audit_log_shows_names_chinese_actions_and_beijing_time(settings, make_user, login):
    office = make_user("office", "office")
    target = make_user("zj", "province", unit="ZJ")
    at = datetime(2024, 3, 1, 23, 30, tzinfo=timezone.utc)  # 2024-03-02 07:30 in Beijing
    with session_for(settings) as session:
        event = audit.record(session, "user_add", user=office, object_type="user", object_id=target.id,
                             detail={"username": "zj", "role": "province", "unit": "ZJ", "home_unit": None})
        event.at = at
        session.commit()
    page = login("office").get("/admin/audit?action=user_add").text
    row = re.search(r"<tr>\s*<td class=\"nowrap\">2024-03-02 07:30:00</td>(.*?)</tr>", page, re.S)
    assert row, "the event is shown in Beijing time"
    cells = row.group(1)
    assert "新增用户" in cells and "省级填报人员" in cells and "浙江" in cells
    assert "{" not in cells and "user_add" not in cells and "province" not in cells and "用户 " not in cells
    assert "北京时间" in page and "UTC" not in page


def test_find_in_document_lists_pages_and_marks_the_words(settings, make_user, login, add_evidence):
    make_user("js", "province", unit="JS")
    doc_id = add_evidence("JS", "通知.txt", TEXT)
    client = login("js")
    page = client.get(f"/evidence/{doc_id}", params={"find": "工匠学院"}).text
    assert "“工匠学院”出现在" in page and "第 1 页（" in page
    assert "<mark>工匠学院</mark>" in page
    missing = client.get(f"/evidence/{doc_id}", params={"find": "<b>无此词</b>"}).text
    assert "本文件中没有找到" in missing and "<b>无此词</b>" not in missing  # escaped
    opened = client.get(f"/evidence/{doc_id}", params={"q": "技能竞赛 单位:江苏 -培训"}).text
    assert "<mark>技能竞赛</mark>" in opened and "<mark>培训</mark>" not in opened


def test_viewer_history_shows_upload_and_withdrawal(settings, make_user, login, add_evidence):
    user = make_user("js", "province", unit="JS")
    doc_id = add_evidence("JS", "通知.txt", TEXT, user=user)
    client = login("js")
    client.post(f"/evidence/{doc_id}/withdraw", data={"csrf_token": client.csrf, "reason": "年度选错"})
    history = client.get(f"/evidence/{doc_id}").text.split("文件记录", 1)[1]
    assert "上传" in history and "第 1 版" in history and "撤回" in history and "年度选错" in history


def test_passages_carry_no_template_whitespace(settings, make_user, login, add_evidence):
    make_user("js", "province", unit="JS")
    doc_id = add_evidence("JS", "通知.txt", TEXT)
    page = login("js").get(f"/evidence/{doc_id}").text
    assert re.search(r'<div class="passage-text">[^\s<]', page)
    css = (__import__("pathlib").Path(__file__).parent.parent / "review_ui/static/kaoping.css").read_text()
    rule = re.search(r"^\.passage \{([^}]*)\}", css, re.M).group(1)
    assert "pre-wrap" not in rule


@pytest.fixture
def office_client(make_user, login):
    make_user("office", "office")
    return login("office")


def test_a_unit_is_found_by_its_chinese_name_in_the_query_and_the_filter(office_client, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", TEXT)
    for params in ({"q": "工匠学院 unit:江苏"}, {"q": "工匠学院 单位:江苏省"}, {"q": "工匠学院", "unit": "江苏"}):
        assert "江苏工匠学院.txt" in office_client.get("/search", params=params).text, params


def test_a_unit_filter_that_matches_nothing_says_so(office_client, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", TEXT)
    empty = office_client.get("/search", params={"q": "工匠学院 unit:浙江"}).text
    assert "江苏工匠学院.txt" not in empty and "在所选条件（单位：浙江）下还没有可检索的证据" in empty
    assert "不限条件时有 1 条结果" in empty
    unknown = office_client.get("/search", params={"q": "工匠学院 单位:火星"}).text
    assert "没有名为“火星”的单位" in unknown
    chip = office_client.get("/search", params={"q": "工匠学院", "unit": "ZJ"}).text
    assert "在所选条件（单位：浙江）下还没有可检索的证据" in chip


def test_nothing_found_tells_a_unit_without_evidence_from_words_not_in_its_evidence(office_client, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", TEXT)
    add_evidence("SH", "上海职代会.txt", "上海市总工会关于职工代表大会制度建设的通知。\n\n各区县总工会要推进厂务公开。")
    words = office_client.get("/search", params={"q": "工匠", "unit": "SH"}).text
    assert "所选条件（单位：上海）下有 " in words and "但其中没有与“工匠”匹配的段落" in words
    assert "还没有可检索的证据" not in words and "不限条件时有 1 条结果" in words
    assert 'action="/search/saved"' not in words  # nothing to save


def test_a_condition_typed_into_the_words_becomes_a_chip(office_client, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", TEXT)
    typed = office_client.get("/search", params={"q": "工匠学院 单位:江苏"}, follow_redirects=False)
    assert typed.status_code == 303
    assert typed.headers["location"] == "/search?q=%E5%B7%A5%E5%8C%A0%E5%AD%A6%E9%99%A2&unit=JS&sort=relevance"
    page = office_client.get(typed.headers["location"]).text
    assert 'class="chip">单位：江苏' in page and 'value="工匠学院"' in page
    by_htmx = office_client.get("/search", params={"q": "工匠学院 单位:江苏 年度:2023"},
                                headers={"HX-Request": "true", "HX-Target": "search-results"})
    assert by_htmx.status_code == 200 and "unit=JS" in by_htmx.headers["HX-Push-Url"]
    assert "year=2023" in by_htmx.headers["HX-Push-Url"] and 'hx-swap-oob="true"' in by_htmx.text
    for kept in ("工匠 OR 单位:江苏", "工匠 -单位:江苏", "工匠 单位:火星"):  # left to the query language
        assert office_client.get("/search", params={"q": kept}, follow_redirects=False).status_code == 200


def test_a_hit_opened_from_search_leads_back_to_the_search(office_client, add_evidence):
    add_evidence("JS", "江苏工匠学院.txt", TEXT)
    results = office_client.get("/search", params={"q": "工匠学院", "unit": "JS"}).text
    href = re.search(r'<h3><a href="([^"]+)"', results).group(1).replace("&amp;", "&")
    assert "back=/search%3Fq%3D" in href
    viewer = office_client.get(href).text
    assert "← 返回检索结果" in viewer and 'href="/search?q=%E5%B7%A5%E5%8C%A0%E5%AD%A6%E9%99%A2&amp;unit=JS' in viewer
    doc = re.search(r"/evidence/(\d+)\?", href).group(1)
    assert "返回检索结果" not in office_client.get(f"/evidence/{doc}?back=https://evil.example/").text


def test_office_home_shows_the_ingest_queue_and_warns_when_nothing_drains_it(settings, make_user, login):
    import io

    from evidence.models import Job
    from ingest.submit import submit
    make_user("office", "office")
    with session_for(settings) as session:
        for i in range(2):
            submit(session, settings, io.BytesIO(f"省总工会成立产改协调小组{i}。".encode()), f"a{i}.txt",
                   unit_code="JS", year=2023)
        session.commit()
    page = login("office").get("/").text
    section = re.search(r'<section class="queue-health".*?</section>', page, re.S).group(0)
    assert re.search(r"排队等待 <strong>2</strong> 个", section) and "不到 1 分钟" in section
    assert "入库处理可能已停止" not in section
    with session_for(settings) as session:  # an hour later, still nobody has taken them
        for job in session.exec(select(Job)):
            job.created_at = datetime.now(timezone.utc) - timedelta(hours=1)
            session.add(job)
        session.commit()
    page = login("office").get("/").text
    assert "入库处理可能已停止" in page and "系统管理员" in page
    make_user("js", "province", unit="JS")
    assert "入库处理可能已停止" not in login("js").get("/").text  # the office's concern only


def test_an_empty_queue_and_a_round_without_a_spotcheck_list_read_as_such(settings, make_user, login):
    add_round(settings, days=40)
    make_user("office", "office")
    office = login("office")
    home = office.get("/").text
    assert "目前没有排队的文件" in home and "已等待 无" not in home
    dashboard = office.get("/rounds/2023").text
    row = re.search(r"<tr><td>抽查单位评分完成</td>(.*?)</tr>", dashboard, re.S).group(1)
    assert "0/0" not in row and "待抽查名单确定后计数" in row and "未开始" in row and "进行中" not in row
