"""Caches across searcher generations: after a commit only the new segment is read, answers stay exact."""
from __future__ import annotations

import index.executor as executor
import index.facets as facets
from index import EvidenceIndex


def passage(i: int, unit: str = "JS", year: int = 2022, kind: str = "report", text: str | None = None) -> dict:
    return dict(passage_id=f"p{i}", document_id=f"d{i}", version_id=f"v{i}", unit=unit, year=year, kind=kind,
                indicators=[str(i % 5 + 1)], page=1, text=text or f"第{i}段：产业工人技能竞赛持续开展，首席技师{i}。")


def corpus(n: int = 40) -> list[dict]:
    units, kinds = ["JS", "GD", "SH"], ["report", "policy"]
    return [passage(i, units[i % 3], 2020 + i % 4, kinds[i % 2]) for i in range(n)]


def count_block_reads(monkeypatch) -> list:
    calls = []
    real = executor.segment_term_postings

    def spy(leaf, field, text):
        calls.append((leaf, field, text))
        return real(leaf, field, text)

    monkeypatch.setattr(executor, "segment_term_postings", spy)
    return calls


def test_after_a_commit_only_the_new_segment_is_decoded(tmp_path, monkeypatch):
    ix = EvidenceIndex(tmp_path / "ix")
    ix.rebuild(corpus(), chunk=1000)  # one segment, large enough that the next commit does not merge it
    assert ix.search("技能竞赛").total == 40
    reads = count_block_reads(monkeypatch)
    ix.add([passage(100, text="新上传：技能竞赛决赛举行。")])
    result = ix.search("技能竞赛")
    assert result.total == 41
    segments = len(list(ix._get_searcher().reader().leaf_readers()))
    assert segments == 2, "the commit merged segments; the test needs the old one kept"
    terms = len(reads)
    assert terms > 0
    reads.clear()
    ix.add([passage(101, text="又一条：技能竞赛颁奖。")])
    ix.search("技能竞赛")
    # the two grams of 技能竞赛 (…) are decoded in the newest segment only, not again in the old ones
    assert 0 < len(reads) <= terms


def test_facets_and_totals_after_adds_and_deletes_equal_a_fresh_open(tmp_path):
    ix = EvidenceIndex(tmp_path / "ix")
    ix.rebuild(corpus(), chunk=15)
    ix.search("产业工人")
    ix.add([passage(200, "GD", 2024, "policy"), passage(201, "BJ", 2025, "report")])
    ix.delete_document("d3")
    ix.delete_document("d4")
    cached = ix.search("产业工人")
    facets._SEGMENTS.clear()
    executor._SEGMENT_POSTINGS.clear()
    executor._SEGMENT_BYTES[0] = 0
    fresh = EvidenceIndex(tmp_path / "ix").search("产业工人")
    assert cached.total == fresh.total == 40
    assert cached.facets == fresh.facets
    assert cached.facets["unit"]["BJ"] == 1 and "d3" not in {h.document_id for h in cached.hits}
    assert [h.passage_id for h in cached.hits] == [h.passage_id for h in fresh.hits]


def test_searches_run_in_parallel_with_commits_and_stay_exact(tmp_path):
    import threading
    ix = EvidenceIndex(tmp_path / "ix")
    ix.rebuild(corpus(60), chunk=20)
    expected = {q: ix.search(q, per_page=5).total for q in ["技能竞赛", '"首席技师"', "产业工人 NOT 第1段", "竞"]}
    errors, stop = [], threading.Event()

    def searching(seed: int):
        queries = list(expected)
        i = seed
        while not stop.is_set():
            q = queries[i % len(queries)]
            r = ix.search(q, per_page=5, allowed_units=["JS", "GD", "SH"])
            if r.query_error or r.total != expected[q] or len(r.hits) != min(5, expected[q]):
                errors.append((q, r.total, r.query_error))
            i += 1

    threads = [threading.Thread(target=searching, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for n in range(8):  # commits meanwhile: each replaces the searcher under running searches
        ix.add([passage(500 + n, unit="BJ", text=f"新上传{n}：档案数字化。")])
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert ix.search("档案数字化").total == 8
    assert ix._in_use == {} and ix._retired == []  # every replaced searcher closed
