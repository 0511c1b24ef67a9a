"""Who may see and change which evidence, through every URL and parameter; CSRF; escaping."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from evidence.db import get_engine
from evidence.models import Assignment, AuditEvent, Conflict, Document, DocumentVersion, Passage, TagDecision

JS_TEXT = "江苏省总工会开展职业技能竞赛，建设工匠学院，全年培训产业工人十二万人次，推动技能提升。"
SH_TEXT = "上海市总工会召开职工代表大会，审议通过集体合同，保障产业工人民主权利，推行厂务公开。"
ZJ_TEXT = "浙江省总工会推进新就业形态劳动者入会，建立服务站点，维护快递骑手合法权益。"


def session_for(settings) -> Session:
    return Session(get_engine(settings.database_url), expire_on_commit=False)


def first_passage(settings, doc_id: int) -> Passage:
    with session_for(settings) as session:
        return session.exec(select(Passage).join(DocumentVersion, DocumentVersion.id == Passage.version_id)
                            .where(DocumentVersion.document_id == doc_id)).first()


@pytest.fixture
def docs(add_evidence):
    return {"JS": add_evidence("JS", "江苏竞赛.txt", JS_TEXT), "SH": add_evidence("SH", "上海职代会.txt", SH_TEXT),
            "ZJ": add_evidence("ZJ", "浙江骑手.txt", ZJ_TEXT)}


@pytest.fixture
def province(make_user, login):
    make_user("js", "province", unit="JS")
    return login("js")


def test_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(settings, province, docs):
    url = f"/evidence/{docs['JS']}/withdraw"
    missing = province.post(url, data={"reason": "测试"})
    wrong = province.post(url, data={"reason": "测试", "csrf_token": "forged"})
    wrong_header = province.post(url, data={"reason": "测试"}, headers={"X-CSRF-Token": "forged"})
    upload = province.post("/evidence/upload", data={"year": "2023"},
                           files=[("files", ("x.txt", "工匠".encode(), "text/plain"))])
    for response in (missing, wrong, wrong_header, upload):
        assert response.status_code == 403
        assert "CSRF" in response.text
    with session_for(settings) as session:
        assert session.get(Document, docs["JS"]).status == "active"
        assert len(session.exec(select(Document)).all()) == 3
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "withdraw")).first() is None


def test_province_user_cannot_reach_another_units_document_by_any_url(settings, province, docs):
    other = docs["SH"]
    for url in (f"/evidence/{other}", f"/evidence/{other}/download", f"/evidence/{other}?page=1&passage=1",
                f"/search/similar/{first_passage(settings, other).id}"):
        response = province.get(url)
        assert response.status_code == 404, url
        assert "无权查看" in response.text
        assert SH_TEXT[:10] not in response.text
    assert province.get("/search", params={"unit": "SH"}).status_code == 403
    assert province.get("/evidence", params={"unit": "SH"}).status_code == 403
    for q in ("unit:SH 职工代表大会", "职工代表大会", "上海职代会"):
        page = province.get("/search", params={"q": q}).text
        assert "上海职代会.txt" not in page, q
    own = province.get("/search", params={"q": "工匠学院"}).text
    assert "江苏竞赛.txt" in own  # the same route does work for the own unit
    assert "上海职代会.txt" not in province.get("/evidence").text
    assert "上海职代会.txt" not in province.get(f"/evidence/states?ids={other}").text


def test_province_user_cannot_change_another_units_document(settings, province, docs):
    other = docs["SH"]
    passage = first_passage(settings, other)
    csrf = {"csrf_token": province.csrf}
    responses = [
        province.post(f"/evidence/{other}/tags", data={**csrf, "indicator_no": "1", "decision": "confirm",
                                                       "passage_id": str(passage.id)}),
        province.post(f"/evidence/{other}/withdraw", data={**csrf, "reason": "恶意撤回"}),
        province.post(f"/evidence/{other}/retry", data=csrf),
    ]
    assert [r.status_code for r in responses] == [403, 404, 404]
    assert all("无权" in r.text or "只有" in r.text for r in responses)
    with session_for(settings) as session:
        assert session.get(Document, other).status == "active"
        assert session.exec(select(TagDecision)).all() == []
    # even on its own unit's document a province user may not decide tags
    own = province.post(f"/evidence/{docs['JS']}/tags", data={**csrf, "indicator_no": "1", "decision": "confirm"})
    assert own.status_code == 403


def test_reviewer_sees_only_assigned_units_minus_conflicts(settings, make_user, login, docs):
    reviewer = make_user("expert", "reviewer", home="SH")  # home province: a conflict
    with session_for(settings) as session:
        for unit in ("JS", "SH"):
            session.add(Assignment(year=2023, reviewer_id=reviewer.id, unit_code=unit, indicator_no=12))
        session.commit()
        assert session.exec(select(Conflict).where(Conflict.user_id == reviewer.id)).one().unit_code == "SH"
    client = login("expert")
    assert client.get(f"/evidence/{docs['JS']}").status_code == 200
    for unit in ("SH", "ZJ"):  # conflicted, unassigned
        assert client.get(f"/evidence/{docs[unit]}").status_code == 404
        assert client.get(f"/evidence/{docs[unit]}/download").status_code == 404
        assert client.get("/search", params={"unit": unit}).status_code == 403
        tag = client.post(f"/evidence/{docs[unit]}/tags", data={"csrf_token": client.csrf, "indicator_no": "12",
                                                                "decision": "confirm"})
        assert tag.status_code == 404
    listing = client.get("/evidence").text
    assert "江苏竞赛.txt" in listing and "上海职代会.txt" not in listing and "浙江骑手.txt" not in listing
    for q in ("职工代表大会", "快递骑手"):
        assert "没有找到" in client.get("/search", params={"q": q}).text
    with session_for(settings) as session:
        assert session.exec(select(TagDecision)).all() == []


def test_reviewer_without_assignments_sees_nothing(make_user, login, docs):
    make_user("idle", "reviewer")
    client = login("idle")
    assert "江苏竞赛.txt" not in client.get("/evidence").text
    page = client.get("/search", params={"q": "工匠学院"}).text
    assert "江苏竞赛.txt" not in page and "没有分配给您的单位" in page


def test_markup_in_text_and_file_name_is_shown_escaped(settings, province, add_evidence, make_user, login):
    doc_id = add_evidence("JS", "<img src=x onerror=alert(1)>.txt",
                          "工匠学院建设情况。<script>alert(1)</script> 全省培训产业工人十二万人次。")
    office = (make_user("office", "office"), login("office"))[1]
    passage = first_passage(settings, doc_id)
    pages = {
        "list": province.get("/evidence").text,
        "office list": office.get("/evidence").text,
        "viewer": province.get(f"/evidence/{doc_id}?passage={passage.id}").text,
        "search": province.get("/search", params={"q": "工匠学院"}).text,
    }
    for name, html in pages.items():
        assert "<script>alert(1)</script>" not in html, name
        assert "<img src=x onerror" not in html, name
        assert "&lt;img src=x onerror=alert(1)&gt;.txt" in html, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["viewer"]


def test_absurd_ids_and_numbers_are_answered_without_a_server_error(province, docs):
    huge = "9" * 30
    for url in (f"/evidence/{huge}", f"/evidence/{docs['JS']}?page={huge}&passage={huge}",
                f"/evidence?page={huge}&year=abc", f"/evidence/states?ids={huge},x", f"/search/similar/{huge}",
                f"/search?q=工匠&page={huge}"):
        assert province.get(url).status_code in (200, 404), url
