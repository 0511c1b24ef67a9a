"""Writes: upsert, delete, schema version, resumable rebuild, locking, CLI."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from whoosh.index import LockError

import index.evidence_index as evidence_index
import index.writer as writer_mod
from index import EvidenceIndex
from index.schema import VERSION_FILE
from test_index_fixtures import PASSAGES, build


def passage(i: int, unit="JS", text=None) -> dict:
    return dict(passage_id=f"p{i}", document_id=f"d{i // 3}", version_id=f"v{i // 3}", unit=unit,
                year=2022, kind="report", indicators=["4"], page=i % 3 + 1,
                text=text or f"第{i}段：产业工人队伍建设改革稳步推进，编号{i}。")


def test_add_is_an_upsert_by_passage_id(tmp_path):
    ix = EvidenceIndex(tmp_path / "ix")
    ix.add([passage(1, text="旧文本：劳动竞赛")])
    ix.add([passage(1, text="新文本：首席技师")])
    assert ix.doc_count() == 1
    assert ix.search("劳动竞赛").total == 0
    assert ix.search("首席技师").total == 1


def test_delete_document_and_version(tmp_path):
    ix = build(EvidenceIndex(tmp_path / "ix"))
    assert ix.delete_document("d-js") == 2
    assert ix.search("江苏").total == 0
    assert ix.doc_count() == len(PASSAGES) - 2
    assert ix.delete_version("v-sh") == 1
    assert {h.passage_id for h in ix.search("上海").hits} == {"sh2"}


def test_schema_version_change_reports_needs_rebuild(tmp_path, monkeypatch):
    ix = build(EvidenceIndex(tmp_path / "ix"))
    assert ix.status()["needs_rebuild"] is False
    monkeypatch.setattr(evidence_index, "schema_version", lambda: "kaoping-analysis-999+other")
    fresh = EvidenceIndex(tmp_path / "ix")
    status = fresh.status()
    assert status["exists"] and status["needs_rebuild"]
    r = fresh.search("改革")
    assert r.hits == [] and "重建" in r.query_error
    with pytest.raises(evidence_index.IndexNeedsRebuild):
        fresh.add([passage(1)])


def test_an_index_of_an_older_layout_is_reported_and_rebuilt_not_opened(tmp_path, monkeypatch):
    # an older version's schema names classes this code no longer has: the TOC cannot
    # even be unpickled, so nothing may open it before the rebuild replaces it
    import sys
    import types

    from whoosh import fields
    from whoosh import index as windex
    old = types.ModuleType("kaoping_old_layout")

    class GoneField(fields.TEXT):
        pass

    GoneField.__module__, GoneField.__qualname__ = old.__name__, "GoneField"
    old.GoneField = GoneField
    monkeypatch.setitem(sys.modules, old.__name__, old)
    (tmp_path / "ix").mkdir()
    windex.create_in(str(tmp_path / "ix"), fields.Schema(passage_id=fields.ID(stored=True), body=GoneField()))
    (tmp_path / "ix" / VERSION_FILE).write_text(json.dumps({"schema_version": "kaoping-analysis-4+old"}))
    monkeypatch.delitem(sys.modules, old.__name__)

    ix = EvidenceIndex(tmp_path / "ix")
    status = ix.status()
    assert status["exists"] and status["needs_rebuild"] and status["doc_count"] == 0
    assert "重建" in ix.search("改革").query_error
    assert ix.rebuild([passage(i) for i in range(3)]) == 3
    assert ix.search("产业工人").total == 3 and not ix.status()["needs_rebuild"]


def test_missing_version_file_means_rebuild(tmp_path):
    ix = build(EvidenceIndex(tmp_path / "ix"))
    (tmp_path / "ix" / VERSION_FILE).unlink()
    assert EvidenceIndex(tmp_path / "ix").status()["needs_rebuild"]


def test_rebuild_then_rebuild_resumes_from_checkpoint(tmp_path):
    records = [passage(i) for i in range(23)]
    ix = EvidenceIndex(tmp_path / "ix")

    def crashing(limit):
        for n, r in enumerate(records):
            if n == limit:
                raise KeyboardInterrupt("simulated crash")
            yield r

    with pytest.raises(KeyboardInterrupt):
        ix.rebuild(crashing(12), chunk=5)
    state = ix.status()
    assert state["rebuild_in_progress"]["done"] == 10  # two chunks committed
    assert state["needs_rebuild"]                       # incomplete index is not current

    fed = []

    def counting():
        for r in records:
            fed.append(r["passage_id"])
            yield r

    seen_progress = []
    ix2 = EvidenceIndex(tmp_path / "ix")
    assert ix2.rebuild(counting(), chunk=5, progress=lambda d, t: seen_progress.append(d)) == 23
    status = ix2.status()
    assert status["doc_count"] == 23 and not status["needs_rebuild"] and status["rebuild_in_progress"] is None
    assert ix2.search("编号").total == 23                 # nothing lost, nothing doubled
    assert ix2.search('"编号10。"').total == 1
    assert seen_progress[-1] == 23


def test_rebuild_without_resume_starts_over(tmp_path):
    ix = EvidenceIndex(tmp_path / "ix")
    ix.add([passage(100, text="旧索引中的段落：厂务公开")])
    ix.rebuild(iter([passage(i) for i in range(4)]), chunk=2, resume=False)
    assert ix.doc_count() == 4 and ix.search("厂务公开").total == 0


def test_writer_retries_while_another_process_holds_the_lock(tmp_path, monkeypatch):
    ix = EvidenceIndex(tmp_path / "ix")
    ix.add([passage(1)])
    real_writer = type(ix._open()).writer
    calls = {"n": 0}

    def flaky_writer(self, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise LockError("held elsewhere")
        return real_writer(self, **kwargs)

    monkeypatch.setattr(type(ix._open()), "writer", flaky_writer)
    monkeypatch.setattr(writer_mod.time, "sleep", lambda s: None)
    ix.add([passage(2)])
    assert calls["n"] == 3 and ix.doc_count() == 2


def test_writer_gives_up_with_a_chinese_message(tmp_path, monkeypatch):
    ix = EvidenceIndex(tmp_path / "ix")
    ix.add([passage(1)])

    def locked(self, **kwargs):
        raise LockError("held elsewhere")

    monkeypatch.setattr(type(ix._open()), "writer", locked)
    monkeypatch.setattr(writer_mod.time, "sleep", lambda s: None)
    with pytest.raises(writer_mod.IndexBusyError, match="其他进程"):
        ix.add([passage(2)])


def test_search_sees_commits_from_another_index_object(tmp_path):
    reader = build(EvidenceIndex(tmp_path / "ix"))
    assert reader.search("厂务公开").total == 0
    EvidenceIndex(tmp_path / "ix").add([passage(7, text="推行厂务公开制度")])
    assert reader.search("厂务公开").total == 1


# ---------------------------------------------------------------- CLI

def _cli():
    from review_ui.commands.search import search
    return search


def test_cli_missing_index_exits_2_with_chinese_message(tmp_path):
    result = CliRunner().invoke(_cli(), ["改革"], obj={"data_dir": str(tmp_path / "data")})
    assert result.exit_code == 2
    assert "索引不存在" in result.output


def test_cli_json_output(tmp_path):
    from evidence.config import Settings
    data = tmp_path / "data"
    build(EvidenceIndex(Settings.load(data).index_dir))
    result = CliRunner().invoke(_cli(), ["劳模工匠学院", "--unit", "SH", "--json"], obj={"data_dir": str(data)})
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["total"] == 1 and out["facets"]["unit"] == {"SH": 1}
    [hit] = out["hits"]
    assert hit["evidence_id"] == "d-sh2" and hit["passage_id"] == "sh2" and hit["page"] == 3
    assert "<mark>劳模工匠学院</mark>" in hit["snippet"]


def test_cli_text_output_lists_hits(tmp_path):
    from evidence.config import Settings
    data = tmp_path / "data"
    build(EvidenceIndex(Settings.load(data).index_dir))
    result = CliRunner().invoke(_cli(), ['"首席技师"', "--limit", "5"], obj={"data_dir": str(data)})
    assert result.exit_code == 0 and "共 1 条结果" in result.output and "【首席技师】" in result.output


def test_reindex_command_rebuilds_the_data_directory_on_worker_processes(settings, add_evidence):
    from review_ui.cli import main
    from index.feed import open_index
    add_evidence("JS", "竞赛.txt", "江苏省总工会组织开展职工劳动竞赛，首席技师带徒传技。")
    add_evidence("SH", "学院.txt", "上海市建设劳模工匠学院，推进产业工人队伍建设改革。")
    for path in settings.index_dir.iterdir():  # lose the index: only the database is left
        path.unlink()
    result = CliRunner().invoke(main, ["--data-dir", str(settings.data_dir), "reindex", "--procs", "2"])
    assert result.exit_code == 0, result.output
    assert "索引已重建" in result.output
    ix = open_index(settings)
    assert ix.search('"劳动竞赛"').total == 1 and ix.search("工匠学院").total == 1
    assert ix.status()["rebuild_in_progress"] is None and not ix.status()["needs_rebuild"]
