"""What a person reads has no codes, raw ids or English: validation errors name fields in Chinese,
the audit log names objects, unit lists follow the national order, upload lists carry no ids."""
from __future__ import annotations

import re

import pytest

from rubrics.units import load_units

TEXT = "江苏省总工会关于建设工匠学院的通知\n\n苏工发〔2023〕12号\n\n为深化产业工人队伍建设改革，省总工会决定在全省建设工匠学院。"
NATIONAL = [u.name for u in load_units()]


@pytest.fixture
def office(make_user, login):
    make_user("office", "office")
    return login("office")


def test_a_validation_error_names_the_field_in_chinese(office, add_evidence):
    doc = add_evidence("JS", "通知.txt", TEXT)
    page = office.post(f"/evidence/{doc}/tags", data={"csrf_token": office.csrf, "decision": "confirm"})
    assert page.status_code == 422 and "指标编号" in page.text
    assert "indicator_no" not in page.text
    garbled = office.post("/admin/users/abc/active", data={"csrf_token": office.csrf, "active": "1"})
    assert garbled.status_code == 422 and "用户" in garbled.text and "user_id" not in garbled.text


def test_the_audit_log_names_the_document_instead_of_its_number(office, make_user, login, add_evidence):
    make_user("js", "province", unit="JS")
    js = login("js")
    doc = add_evidence("JS", "工匠学院通知.txt", TEXT)
    js.post(f"/evidence/{doc}/withdraw", data={"csrf_token": js.csrf, "reason": "重复上传"})
    page = office.get("/admin/audit", params={"action": "withdraw"}).text
    assert "证据：“工匠学院通知.txt”" in page and f'href="/evidence/{doc}"' in page
    assert not re.search(r"编号 ?\d", page)


def test_unit_lists_on_the_assignment_and_conflict_pages_follow_the_national_order(office, make_user, login):
    page = office.get("/admin/assignments").text
    select = page.split('name="unit" required>')[1].split("</select>")[0]
    assert re.findall(r">([^<]+)</option>", select)[1:] == NATIONAL
    make_user("rev", "reviewer", home="ZJ")
    own = login("rev").get("/conflicts").text
    select = own.split('name="unit" required>')[1].split("</select>")[0]
    assert re.findall(r">([^<]+)</option>", select)[1:] == NATIONAL


def test_evidence_lists_show_no_document_ids(office, add_evidence):
    doc = add_evidence("JS", "通知.txt", TEXT)
    listing = office.get("/evidence").text
    table = listing.split('<table class="evidence-table">')[1].split("</table>")[0]
    cells = re.sub(r"<[^>]+>", "|", table)
    assert not re.search(rf"\|\s*{doc}\s*\|", cells) and "<th>编号</th>" not in table


def test_the_audit_log_names_collections_and_people_and_links_them(office, make_user):
    make_user("zj", "province", unit="ZJ")
    r = office.post("/collections", data={"csrf_token": office.csrf, "title": "经验汇编", "year": "2023"},
                    follow_redirects=False)
    cid = r.headers["location"].rsplit("/", 1)[1]
    page = office.get("/admin/audit").text
    assert f'<a href="/collections/{cid}">案例汇编：《经验汇编》</a>' in page
    assert "用户：office" in page  # a login names the person
    assert not re.search(r"编号 ?\d", page)


def test_an_unknown_address_keeps_the_menu_and_the_users_name(office, client):
    page = office.get("/no/such/page")
    assert page.status_code == 404 and "页面或记录不存在" in page.text
    assert 'action="/logout"' in page.text and 'href="/admin/users"' in page.text and 'class="who"' in page.text
    anonymous = client.get("/no/such/page")
    assert anonymous.status_code == 404 and 'action="/logout"' not in anonymous.text
