"""Nothing is lost quietly: odd encodings are read, damaged files refused with a reason, and a
decoding that had to guess or replace, a page that lost its text, a table read as navigation each
leave a warning the uploader sees."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.clean import clean_pages
from ingest.extract import ExtractionError, build_extraction, extract_file
from ingest.extract.types import RawDocument
from ingest.metadata import read_metadata

ZH = "关于推进产业工人队伍建设改革的实施意见。各市总工会：为深入贯彻落实中央精神，现提出如下意见。" * 20


def _extract(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return extract_file(path, filename=name)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_chinese_utf16_without_a_byte_order_mark_is_read(tmp_path, encoding):
    extraction = _extract(tmp_path, "意见.txt", ZH.encode(encoding))
    assert extraction.format == "txt" and extraction.text.replace("\n", "") == ZH


def test_gbk_with_stray_bytes_keeps_the_rest_and_says_where(tmp_path):
    data = ZH.encode("gbk")[:300] + b"\x80\xff\xfe" + ZH.encode("gbk")[300:]
    extraction = _extract(tmp_path, "意见.txt", data)
    assert extraction.text.count("\ufffd") == 3
    assert extraction.text.replace("\ufffd", "").replace("\n", "") == ZH  # not a character garbled after them
    assert any("3 处" in w for w in extraction.warnings)


def test_an_ole_header_followed_by_noise_is_refused_not_read_as_mojibake(tmp_path):
    with pytest.raises(ExtractionError) as caught:
        _extract(tmp_path, "报告.doc", bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(5000))
    assert caught.value.code == "corrupt" and "损坏" in caught.value.reason


def test_an_unclosed_title_does_not_swallow_the_page(tmp_path):
    html = f"<html><head><title>关于产业工人</head><body><p>{ZH}</p></body></html>"
    extraction = _extract(tmp_path, "页面.html", html.encode())
    assert ZH[:40] in extraction.text and len(extraction.text) > len(ZH) * 0.9
    assert any("标题标签没有闭合" in w for w in extraction.warnings)


def test_a_huge_title_is_bounded_and_kept_in_the_text(tmp_path):
    noise = "产改工匠劳模" * 4000
    html = f"<html><head><title>{noise}</title></head><body><p>{ZH}</p></body></html>"
    extraction = _extract(tmp_path, "页面.html", html.encode())
    assert len(extraction.metadata.title) <= 200 and noise in extraction.text.replace("\n", "")
    assert any("标题过长" in w for w in extraction.warnings)


def test_a_table_header_is_not_merged_into_the_title():
    text = "关于开展产改重点工作的通知\n序号 | 单位 | 措施 | 时间\n1 | 省总工会 | 成立产改协调小组 | 2023年\n各市总工会：现将有关事项通知如下。"
    assert read_metadata(text).title == "关于开展产改重点工作的通知"


def test_february_31st_is_no_date():
    assert read_metadata("通知\n\n2023年2月31日").date is None
    assert read_metadata("通知\n\n2024年2月29日").date == "2024-02-29"
    assert read_metadata("通知\n\n二〇二三年二月三十日").date is None


def test_body_lines_carrying_their_page_number_survive_the_furniture_pass():
    pages = [f"江苏省总工会文件 {i}\n第{i}段：本市第{i}批工匠认定情况说明如下\n" + "正文内容，" * 30 + f"\n截至第{i}页共认定{i * 7}人。\n- {i} -"
             for i in range(1, 31)]
    out = clean_pages(pages, layout_lines=True)
    for i, page in enumerate(out, start=1):
        assert f"第{i}段：本市第{i}批工匠认定情况说明如下" in page, page[:80]
        assert f"截至第{i}页共认定{i * 7}人。" in page
        assert "江苏省总工会文件" not in page and f"- {i} -" not in page


def test_figures_on_their_own_line_at_a_page_edge_are_not_page_numbers():
    pages = [f"正文第{i}部分的说明文字。\n表{i} 培训人次\n合计\n{1000 + i * 37}\n{i}" for i in range(1, 11)]
    out = clean_pages(pages, layout_lines=True)
    for i, page in enumerate(out, start=1):
        assert str(1000 + i * 37) in page, page
        assert not page.rstrip().endswith(f"\n{i}")
    single = clean_pages(["正文第一段。\n表1 数据\n合计\n2023"], layout_lines=True)[0]
    assert single.endswith("2023")


def test_table_rows_skipped_as_navigation_leave_a_warning():
    from ingest.stages import navigation_warnings
    rows = "\n".join(["省总工会 | 协调小组 | 牵头 | 已完成", "人社厅 | 技能评价 | 配合 | 推进中",
                      "教育厅 | 职业院校 | 配合 | 推进中", "财政厅 | 经费保障 | 配合 | 已完成"])
    extraction = build_extraction(RawDocument(format="docx", pages=["产改任务分工表\n" + rows]))
    warnings = navigation_warnings(extraction)
    assert warnings and "4 行表格内容" in warnings[0]
    html = build_extraction(RawDocument(format="html", pages=["首页 | 工会要闻 | 劳模风采 | 技能竞赛\n" * 4]))
    assert navigation_warnings(html) == []  # a web page's menu is just a menu


def test_the_uploader_sees_the_warning_on_the_document(settings, make_user, login, add_evidence):
    make_user("js", "province", unit="JS")
    data = ZH.encode("gbk")[:300] + b"\x80\xff\xfe" + ZH.encode("gbk")[300:]
    doc_id = add_evidence("JS", "意见.txt", data)
    panel = login("js").get(f"/evidence/states?ids={doc_id}").text
    assert "3 处无法按 GB18030 编码读取的字节" in panel
    assert "3 处无法按 GB18030" in login("js").get(f"/evidence/{doc_id}").text
