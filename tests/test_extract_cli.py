"""`kaoping extract`: JSON lines per file, archive members, failures with exit code 2."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from review_ui.cli import main
from shared_data import shared

PASSWORD_PDF = ("corpora", "pdf-samples", "005-libreoffice-writer-password", "libreoffice-writer-password.pdf")
NOTICE = "关于开展产改评价工作的通知\n产改字（2022）1号\n各省总工会：\n现将有关事项通知如下。\n协调小组办公室\n2022年3月5日\n"


def _run(*args: str):
    return CliRunner().invoke(main, ["extract", *args])


def test_json_output_one_object_per_file_and_archive_member(tmp_path):
    txt = tmp_path / "通知.txt"
    txt.write_bytes(NOTICE.encode("gbk"))
    archive = tmp_path / "材料.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("说明.txt", "产改工作说明。".encode())
    archive.write_bytes(buf.getvalue())

    result = _run(str(txt), str(archive), "--json")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["file"] for r in records] == [str(txt), f"{archive}!说明.txt"]
    first = records[0]
    assert first["format"] == "txt"
    assert first["pages"][0]["no"] == 1 and first["pages"][0]["text"] == first["text"]
    assert first["metadata"]["doc_number"] == "产改字〔2022〕1号"
    assert first["metadata"]["date"] == "2022-03-05"
    assert set(first["metadata"]) >= {"title", "doc_number", "issuer", "date", "kind", "unit_code", "confidence"}
    assert first["ocr"] == [] and first["warnings"] == []
    assert "产改" in result.output  # ensure_ascii=False: Chinese is printed as is


def test_failed_file_is_reported_in_chinese_and_others_still_run(tmp_path):
    good = tmp_path / "a.txt"
    good.write_text(NOTICE, encoding="utf-8")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    result = _run(str(shared(*PASSWORD_PDF)), str(empty), str(good), "--json")
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.output.splitlines()]
    assert records[0]["code"] == "encrypted" and "加密" in records[0]["error"]
    assert records[1]["code"] == "empty"
    assert records[2]["format"] == "txt"


def test_human_summary_shows_metadata_in_chinese(tmp_path):
    good = tmp_path / "a.txt"
    good.write_text(NOTICE, encoding="utf-8")
    result = _run(str(good))
    assert result.exit_code == 0
    assert "文号：产改字〔2022〕1号" in result.output
    assert "全部成功" in result.output
