"""Cross-validated measurement of the tagger (tag-eval) on labelled sets."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from review_ui.cli import main
from tagging import Tagger
from tagging.evaluate import EvalItem, cross_validate, folds_of, load_eval_set

DEVSET = Path(__file__).resolve().parents[1] / ".." / "shared" / "devset"
needs_devset = pytest.mark.skipif(not (DEVSET / "labels.json").is_file(),
                                  reason="../shared/devset (the real development set) is absent")

MEETING = ("全省产业工人队伍建设改革推进会召开\n\n6月15日，全省产业工人队伍建设改革推进会在某市召开，"
           "省委书记主持召开省委常委会会议，专题研究产业工人队伍建设改革工作。\n")


def test_folds_are_disjoint_cover_every_document_and_repeat_with_the_seed():
    items = list(range(23))
    folds = folds_of(items, 5, seed=3)
    flat = sorted(i for f in folds for i in f)
    assert flat == items and len(folds) == 5
    assert folds == folds_of(items, 5, seed=3)
    assert folds != folds_of(items, 5, seed=4)


def test_a_fitted_tagger_never_sees_the_documents_it_is_measured_on():
    items = [EvalItem(f"d{i}", MEETING, [14]) for i in range(10)]
    seen: list[set[str]] = []

    def fit(train):
        seen.append({it.id for it in train})
        return Tagger()

    cross_validate(items, folds=5, seed=1, fit=fit)
    assert len(seen) == 5
    for fold, train_ids in zip(folds_of(items, 5, 1), seen):
        assert not train_ids & {items[i].id for i in fold}
        assert len(train_ids) == 8


def test_a_devset_directory_is_read_with_its_why_phrases(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "x1.txt").write_text(MEETING, encoding="utf-8")
    (tmp_path / "corpus" / "x2.txt").write_text("关于春耕生产的通知。", encoding="utf-8")
    (tmp_path / "labels.json").write_text(json.dumps([
        {"id": "x1", "title": "推进会", "indicators": [14, 4], "why": {"14": "推进会在某市召开", "4": "省委书记主持"}},
        {"id": "x2", "title": "春耕", "indicators": [], "why": {}}], ensure_ascii=False), encoding="utf-8")
    items = load_eval_set(tmp_path)
    assert [i.id for i in items] == ["x1", "x2"]
    assert items[0].why[14] == "推进会在某市召开" and items[1].kind == "unrelated"
    result = CliRunner().invoke(main, ["tag-eval", "--set", str(tmp_path), "--folds", "2", "--learned", "cv", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["全部"]
    assert report["folds"] == 2 and report["n_items"] == 2 and "每折只用其余各折训练" in report["method"]
    assert report["per_area"] and all(r["passage"] or r["type"] == "miss" for r in report["errors"])
    assert "rules_only" in json.loads(result.output)["全部"]
    # a set the shipped model never saw is measured with the shipped model as it is
    default = json.loads(CliRunner().invoke(main, ["tag-eval", "--set", str(tmp_path), "--json"]).output)["全部"]
    assert "未用本评测集任何文件训练" in default["method"]


@needs_devset
def test_every_error_on_the_devset_names_document_passage_and_what_fired():
    report = cross_validate(load_eval_set(DEVSET), folds=5)
    assert report.n_items == 120 and report.folds == 5
    assert report.micro["tp"] + report.micro["fn"] == 249
    fps = [e for e in report.errors if e["type"] == "fp"]
    assert len(fps) == report.micro["fp"]
    assert all(e["passage"] and e["fired"] and e["id"] for e in fps)
    misses = [e for e in report.errors if e["type"] == "miss"]
    assert len(misses) == report.micro["fn"] and all(e["gold"] for e in misses)
    assert set(report.per_area) and sum(v["tp"] for v in report.per_area.values()) == report.micro["tp"]


@needs_devset
def test_tag_eval_prints_areas_and_errors_in_chinese():
    result = CliRunner().invoke(main, ["tag-eval", "--set", str(DEVSET), "--errors"])
    assert result.exit_code == 0, result.output
    assert "5 折交叉验证" in result.output and "按一级指标" in result.output and "标注依据" in result.output


def test_the_halves_are_fixed_by_id_and_labels_and_spread_the_distractors():
    from tagging.evaluate import halves_of
    items = [EvalItem(f"d{i:03d}", "x", [] if i % 10 == 0 else [1 + (i * 7) % 88]) for i in range(40)]
    halves = halves_of(items)
    assert set(halves) == {i.id for i in items} and set(halves.values()) == {"A", "B"}
    assert sum(h == "A" for h in halves.values()) == 20
    distractors = [halves[i.id] for i in items if not i.labels]
    assert sorted(distractors) == ["A", "A", "B", "B"]
    # the split depends on the documents, not on their order or the tagger
    assert halves_of(list(reversed(items))) == halves


def test_tag_eval_reports_one_half_only(tmp_path):
    (tmp_path / "corpus").mkdir()
    rows = []
    for i in range(6):
        (tmp_path / "corpus" / f"x{i}.txt").write_text(MEETING if i % 2 else "关于春耕生产的通知。", encoding="utf-8")
        rows.append({"id": f"x{i}", "title": "", "indicators": [14] if i % 2 else [], "why": {}})
    (tmp_path / "labels.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    out = {}
    for half in ("A", "B"):
        result = CliRunner().invoke(main, ["tag-eval", "--set", str(tmp_path), "--folds", "2", "--learned", "none",
                                           "--half", half, "--json"])
        assert result.exit_code == 0, result.output
        out[half] = json.loads(result.output)["全部"]
    assert out["A"]["n_items"] + out["B"]["n_items"] == 6
    assert "只统计 A 半份" in out["A"]["method"]
