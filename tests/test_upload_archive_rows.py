"""A ZIP upload answers one row per member, each with its own outcome and reason, under the
archive's own row, which says how many of its files were taken, refused or already there."""
from __future__ import annotations

import io
import re
import zipfile

import pytest

TEXT = "江苏省产业工人队伍建设改革工作总结。全省共举办职业技能竞赛一百二十场，参赛职工三万五千人次。"


def archive_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


MEMBERS = {
    "一、工作总结.txt": TEXT.encode(),
    "二、培训情况.txt": ("全省开展产业工人技能培训，培训职工五万人次。" * 3).encode(),
    "三、截断的报告.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 8,
    "工具/setup.exe": b"MZ" + b"\x00" * 200,
    "空文件.txt": b"",
    "图标.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
}


@pytest.fixture
def province(make_user, login):
    make_user("js", "province", unit="JS")
    return login("js")


def post(client, data: bytes, *, json: bool):
    headers = {"X-CSRF-Token": client.csrf, "Accept": "application/json"} if json else {}
    fields = {"year": "2023"} if json else {"year": "2023", "csrf_token": client.csrf}
    return client.post("/evidence/upload", data=fields, headers=headers,
                       files=[("files", ("材料包.zip", data, "application/zip"))])


def test_each_member_answers_on_its_own_line_under_the_archives_count(settings, province, add_evidence):
    add_evidence("JS", "已有的总结.txt", MEMBERS["二、培训情况.txt"])  # one member is already there
    answer = post(province, archive_bytes(MEMBERS), json=True)
    assert answer.status_code == 200
    results = answer.json()["results"]
    archive, members = results[0], results[1:]
    assert archive["filename"] == "材料包.zip" and archive["archive"] is None
    assert (archive["members"], archive["taken"]) == (6, 2)
    assert archive["notices"] == ["压缩包含 6 个文件：已接收 2 个，1 个与已上传的文件相同（未重复保存），未保存 3 个（详见各文件一行）。"]
    by_name = {m["filename"]: m for m in members}
    assert set(by_name) == {"一、工作总结.txt", "二、培训情况.txt", "三、截断的报告.pdf", "setup.exe", "空文件.txt", "图标.svg"}
    assert all(m["archive"] == "材料包.zip" for m in members)
    assert by_name["一、工作总结.txt"]["document_id"] and by_name["三、截断的报告.pdf"]["document_id"]
    assert by_name["二、培训情况.txt"]["duplicate_of"] and "已上传的“已有的总结.txt”" in by_name["二、培训情况.txt"]["notices"][0]
    assert "可执行文件" in by_name["setup.exe"]["error"]
    assert "文件为空" in by_name["空文件.txt"]["error"]
    assert "不支持此类文件（.svg）" in by_name["图标.svg"]["error"]


def test_without_javascript_the_page_has_a_row_per_member_and_their_states_follow(settings, province):
    from ingest.queue import drain
    page = post(province, archive_bytes(MEMBERS), json=False)
    assert page.status_code == 200
    table = page.text.split('<section class="upload-results">')[1].split("</section>")[0]
    rows = re.findall(r"<tr class=\"(archive-row|member-row)\">(.*?)</tr>", table, re.S)
    assert [kind for kind, _ in rows] == ["archive-row"] + ["member-row"] * 6
    archive_row = rows[0][1]
    assert "材料包.zip" in archive_row and "已接收 3 个" in archive_row and "未保存 3 个" in archive_row
    cells = {re.sub(r"<[^>]+>|└", "", row.split("</td>")[0]).strip(): row for _, row in rows[1:]}
    assert "未保存" in cells["setup.exe"] and "不允许上传可执行文件" in cells["setup.exe"]
    assert "已保存" in cells["三、截断的报告.pdf"]
    # Each stored member is followed in 处理进度 with its own state and reason, and names its archive.
    drain(settings)
    ids = re.search(r'hx-get="/evidence/states\?ids=([0-9,]+)"', page.text).group(1)
    states = province.get("/evidence/states", params={"ids": ids}).text
    rows = re.findall(r"<tr data-document-id=.*?</tr>", states, re.S)
    assert len(rows) == 3 and all("来自压缩包 材料包.zip" in row for row in rows)
    broken = next(row for row in rows if "三、截断的报告.pdf" in row)
    assert 'data-state="failed"' in broken and "PDF 文件已损坏或不完整" in broken
    assert sum('data-state="indexed"' in row for row in rows) == 2
