"""The bulk segment writer must write what Whoosh's own writer writes."""
from __future__ import annotations

import random

import pytest
from whoosh import index as windex
from whoosh.writing import SegmentWriter

from index import EvidenceIndex
from index.schema import build_schema, to_fields
from index.whoosh_format import BulkSegmentWriter, bulk_codec

SENTENCES = ["产业工人队伍建设改革稳步推进。", "劳模工匠学院建成12所，培训首席技师。", "职工董事、职工监事制度落实。",
             "新就业形态劳动者入会。", "厂务公开民主管理深入开展，覆盖职工3000人。", "技能人才评价改革试点。",
             "《关于深化产改的实施意见》（苏产改〔2023〕1号）印发。", "ABC公司开展劳动竞赛 100 场次。", "竞"]


def records(n: int) -> list[dict]:
    rng = random.Random(3)
    out = []
    for i in range(n):
        text = "".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 12)))
        out.append(dict(passage_id=f"p{i:04d}", document_id=f"d{i // 4}", version_id=f"v{i // 4}",
                        unit=rng.choice(["JS", "ZJ", "SH"]), year=rng.choice([2021, 2022, 2023]),
                        kind=rng.choice(["policy", "report"]), indicators=[str(rng.randint(1, 9))],
                        confirmed=[] if i % 3 else ["4"], doc_number=f"苏产改〔2023〕{i % 7}号",
                        issuer="江苏省总工会", title=f"材料{i}", date=f"2023-0{i % 9 + 1}-01",
                        filename=f"f{i}.pdf", page=i % 5 + 1, text=text))
    return out


def write(path, writer_class, recs):
    path.mkdir()
    ix = windex.create_in(str(path), build_schema())
    writer = writer_class(ix, codec=bulk_codec())
    for r in recs:
        writer.add_document(**to_fields(r))
    writer.commit(merge=False)
    return windex.open_dir(str(path))


def dump(ix) -> dict:
    """Every term's statistics and postings, field lengths and stored fields."""
    out = {}
    with ix.reader() as reader:
        for fieldname, text in reader.all_terms():
            ti = reader.term_info(fieldname, text)
            m = reader.postings(fieldname, text)
            postings = []
            while m.is_active():
                # no value: None from a block, b"" from postings inlined in the term info
                postings.append((m.id(), m.weight(), m.value() or None))
                m.next()
            out[(fieldname, text)] = (ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length(),
                                      ti.max_weight(), ti.min_id(), ti.max_id(), postings)
        for docnum in range(reader.doc_count_all()):
            out[docnum] = (reader.stored_fields(docnum),
                           {f: reader.doc_field_length(docnum, f) for f in ("words", "grams", "title")})
    return out


def test_bulk_writer_writes_the_same_postings_as_whoosh(tmp_path):
    # > 512 documents share terms, so multi-block posting lists are covered
    recs = records(1200)
    expected = dump(write(tmp_path / "whoosh", SegmentWriter, recs))
    got = dump(write(tmp_path / "bulk", BulkSegmentWriter, recs))
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], key


def test_bulk_writer_refuses_merges(tmp_path):
    ix = EvidenceIndex(tmp_path / "ix")
    ix.rebuild(records(20), chunk=10)
    with pytest.raises(RuntimeError):
        writer = BulkSegmentWriter(ix._open())
        try:
            writer.add_document(**to_fields(records(1)[0]))
            writer.commit(optimize=True)
        finally:
            if not writer.is_closed:
                writer.cancel()
    assert ix.search("竞").total > 0  # earlier segments untouched


def test_incremental_adds_merge_bulk_segments_correctly(tmp_path):
    # add() uses Whoosh's writer and merge policy, which reads bulk segments back
    ix = EvidenceIndex(tmp_path / "ix")
    first, more = records(60), records(75)[60:]
    ix.rebuild(first, chunk=10)
    for r in more:
        ix.add([r])
    recs = first + more
    for word in ["竞", "职工监事", "首席技师", "abc"]:
        assert ix.search(word, per_page=100).total == sum(word in r["text"].lower() for r in recs), word
    assert ix.search('"产业工人队伍建设改革"', per_page=100).total == sum("产业工人队伍建设改革" in r["text"] for r in recs)
