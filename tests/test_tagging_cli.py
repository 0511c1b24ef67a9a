"""`kaoping tag` and `kaoping tag-eval`."""
from __future__ import annotations

import json

from click.testing import CliRunner

from review_ui.cli import main

MEETING = ("全省产业工人队伍建设改革推进会召开\n\n"
           "6月15日，全省产业工人队伍建设改革推进会在某市召开，省、市、县三级产改领导机构负责同志共300余人参加会议。"
           "省委书记主持召开省委常委会会议，专题研究产业工人队伍建设改革工作。\n")
UNRELATED = "关于做好春耕生产工作的通知\n\n各县农业农村局：请组织农技人员深入田间开展技术指导，确保粮食面积稳定。\n"


def test_tag_json_gives_one_line_per_file_with_suggestions_and_candidates(tmp_path):
    a, b = tmp_path / "会议.txt", tmp_path / "春耕.txt"
    a.write_text(MEETING, encoding="utf-8")
    b.write_text(UNRELATED, encoding="utf-8")
    result = CliRunner().invoke(main, ["tag", str(a), str(b), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["file"] for r in rows] == [str(a), str(b)]
    nos = [s["no"] for s in rows[0]["indicators"]]
    assert 14 in nos and 4 in nos
    first = rows[0]["indicators"][0]
    assert set(first) == {"no", "name", "score", "reason", "passages"}
    assert first["name"] and first["passages"][0]["text"] in MEETING
    # offsets index the canonical extracted text, the one reviewers' highlights use
    from ingest.extract import extract_file
    canonical = extract_file(a).text
    p = first["passages"][0]
    assert canonical[p["start"]:p["end"]] == p["text"]
    assert len(rows[0]["candidates"]) <= 8
    assert rows[1]["indicators"] == []


def test_tag_plain_output_is_chinese(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text(UNRELATED, encoding="utf-8")
    result = CliRunner().invoke(main, ["tag", str(a)])
    assert result.exit_code == 0
    assert "未发现达到阈值的指标证据" in result.output


def test_tag_eval_reports_figures_for_a_given_set(tmp_path):
    eval_set = tmp_path / "set.yaml"
    eval_set.write_text(
        "- {id: a, labels: [14, 4], kind: document, note: x, text: '" + MEETING.replace("\n", " ") + "'}\n"
        "- {id: b, labels: [], kind: unrelated, note: y, text: '" + UNRELATED.replace("\n", " ") + "'}\n",
        encoding="utf-8")
    result = CliRunner().invoke(main, ["tag-eval", "--set", str(eval_set), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["全部"]
    assert report["n_items"] == 2
    assert report["micro"]["recall"] == 1.0
    assert report["top5_recall"] == 1.0
    assert report["unrelated_docs"] == 1 and report["unrelated_suggestions"] == 0
    assert "14" in report["per_indicator"]

    plain = CliRunner().invoke(main, ["tag-eval", "--set", str(eval_set)])
    assert "微平均" in plain.output and "前五召回率" in plain.output


def test_tag_reads_word_files_through_ingest(tmp_path):
    import docx
    path = tmp_path / "纪要.docx"
    document = docx.Document()
    for line in MEETING.strip().split("\n\n"):
        document.add_paragraph(line)
    document.save(path)
    result = CliRunner().invoke(main, ["tag", str(path), "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    assert 14 in [s["no"] for s in row["indicators"]]


def test_tag_reports_an_unreadable_file_and_goes_on(tmp_path):
    bad, good = tmp_path / "坏.pdf", tmp_path / "好.txt"
    bad.write_bytes(b"%PDF-1.4 not really a pdf")
    good.write_text(MEETING, encoding="utf-8")
    result = CliRunner().invoke(main, ["tag", str(bad), str(good), "--json"])
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert rows[0]["file"] == str(bad) and rows[0]["error"]
    assert 14 in [s["no"] for s in rows[1]["indicators"]]
    assert result.exit_code == 2  # like extract and ingest: a batch with a failed file
