"""Batches never stop at one bad file: hostile text files through `extract`, `tag` and `ingest` give one
row each, a Chinese reason for each failure, no traceback, and an exit status that says so."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
PLAIN = "关于推进产业工人队伍建设改革的实施意见。各市总工会：为深入贯彻落实中央精神，现提出如下意见。"


def hostile_files(folder: Path) -> dict[str, bytes]:
    files = {
        "raw-html.txt": ("<p> 工匠学院建设</p>\n<p>&nbsp; 为推进产改，省总工会成立产改协调小组。</p>\nABC <br>").encode(),
        "leading-space.txt": (" 工匠" + PLAIN).encode(),
        "ideographic-space.txt": ("\u3000产改" + PLAIN).encode(),
        "controls.txt": ("\x00\x07\x1b工匠\u200b\u0301\U0001F600 \ufeff" + PLAIN).encode(),
        "traditional-pinyin.txt": "產業工人隊伍建設改革（chǎn yè gōng rén）取得實效，成立協調小組（xié tiáo）。".encode(),
        "one-char.txt": "工".encode(),
        "punctuation.txt": ("。，、；：！？" * 100).encode(),
        "angle-title.txt": "＜产业工人队伍建设改革实施方案＞\n‹关于成立协调小组的通知›".encode(),
        "table-row.txt": "1 | 省总工会 | 成立产改协调小组 | 2023年".encode(),
        "one-megabyte-line.txt": ("产改工匠劳模职工技能培训学院协调组织领导机制创新，。abc " * 24000).encode(),
        "utf16-no-bom.txt": PLAIN.encode("utf-16-le") * 3,
        "utf16-lone-surrogate.txt": "工匠".encode("utf-16-le") + b"\x00\xd8" + PLAIN.encode("utf-16-le"),
        "gbk-stray.txt": PLAIN.encode("gbk") * 3 + b"\x80\xff\xfe" + PLAIN.encode("gbk"),
        "huge-title.html": f"<html><head><title>{'产改工匠劳模' * 3500}</title></head><body><p>{PLAIN}</p></body></html>".encode(),
        "unclosed-title.html": f"<html><head><title>关于产业工人</head><body><p>{PLAIN}</p></body></html>".encode(),
        "noise.doc": bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(4000),
        "noise.pdf": b"%PDF-1.7\n" + os.urandom(3000),
        "binary.txt": os.urandom(3000),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def kaoping(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "review_ui.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile")
    hostile_files(path)
    return path


def _rows(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("command", ["extract", "tag"])
def test_extract_and_tag_give_one_row_per_file_and_no_traceback(folder, command):
    paths = sorted(str(p) for p in folder.iterdir())
    result = kaoping(command, *paths, "--json")
    assert "Traceback" not in result.stdout + result.stderr
    rows = _rows(result.stdout)
    assert [r["file"] for r in rows] == paths
    failed = [r for r in rows if "error" in r]
    assert {Path(r["file"]).name for r in failed} == {"noise.doc", "noise.pdf", "binary.txt"}, failed
    for row in failed:
        assert CJK.search(row["error"]) and "内部错误" not in row["error"], row
    assert result.returncode == 2


def test_ingest_reports_each_file_and_goes_on(folder, settings):
    result = kaoping("--data-dir", str(settings.data_dir), "ingest", str(folder), "--unit", "JS", "--year", "2023",
                     env_extra={"KAOPING_DATABASE_URL": settings.database_url})
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "内部错误" not in output, output
    count = len(list(folder.iterdir()))
    assert f"入库 {count - 3} 个" in result.stdout and "失败 3 个" in result.stdout, result.stdout
    for name in ("noise.doc", "noise.pdf", "binary.txt"):
        line = next(ln for ln in result.stdout.splitlines() if name in ln)
        assert CJK.search(line.split(name, 1)[1]), line
    assert result.returncode == 2
