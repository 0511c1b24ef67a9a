"""The Whoosh internals ``index/whoosh_format.py`` relies on: fails loudly if an upgrade changes them."""
from __future__ import annotations

import io

import pytest
import whoosh
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st
from whoosh.filedb import compound

import index.whoosh_format as wf
from index import EvidenceIndex
from test_index_fixtures import PASSAGES, build


def test_the_whoosh_version_is_the_one_whose_format_we_read(monkeypatch):
    wf.check_version()
    monkeypatch.setattr(whoosh, "versionstring", lambda: "2.7.6")
    with pytest.raises(RuntimeError, match="whoosh_format"):
        wf.check_version()


def _whoosh_postings(leaf, field, text):
    m = leaf.postings(field, text)
    out = []
    while m.is_active():
        out.append((m.id(), m.weight()))
        m.next()
    return out


@pytest.mark.parametrize("bulk", [True, False])
def test_block_reader_returns_what_whoosh_itself_reads(tmp_path, bulk):
    ix = EvidenceIndex(tmp_path / "ix")
    if bulk:
        ix.rebuild(PASSAGES)  # BulkSegmentWriter segments
    else:
        ix.add(PASSAGES)  # Whoosh's own writer
    reader = ix._get_searcher().reader()
    checked = 0
    for leaf, _ in reader.leaf_readers():
        for field in ("words", "grams", "title", "indicators", "unit"):
            for term in list(leaf.lexicon(field)):
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                ids, weights = wf.segment_term_postings(leaf, field, text)
                got = [(int(i), float(w)) for i, w in zip(ids, weights)]
                assert got == [(i, float(w)) for i, w in _whoosh_postings(leaf, field, text)], (field, text)
                checked += 1
    assert checked > 100


def test_posting_weights_are_term_frequencies(tmp_path):
    ix = EvidenceIndex(tmp_path / "ix")
    ix.add([dict(passage_id="p", text="竞赛，劳动竞赛竞赛")])
    leaf, _ = next(iter(ix._get_searcher().reader().leaf_readers()))
    assert wf.segment_term_postings(leaf, "grams", "竞赛")[1].tolist() == [3.0]
    assert wf.segment_term_postings(leaf, "grams", "劳")[1].tolist() == [1.0]
    assert wf.segment_term_postings(leaf, "grams", "赛劳") is None or \
        len(wf.segment_term_postings(leaf, "grams", "赛劳")[0]) == 0  # not across punctuation


def test_segments_are_read_in_place_not_copied(tmp_path):
    ix = build(EvidenceIndex(tmp_path / "ix"))
    assert compound.BufferFile is wf._MappedFile
    assert ix.search("产业工人").total > 0
    leaf, _ = next(iter(ix._get_searcher().reader().leaf_readers()))
    files = [leaf._terms._dbfile, leaf._terms._postfile]  # the W3 terms and postings sub-files
    assert all(isinstance(f, wf._MappedFile) and isinstance(f.file.raw, wf._SliceRaw) for f in files)

ops = st.lists(st.one_of(
    st.tuples(st.just("read"), st.integers(-1, 40)),
    st.tuples(st.just("readline"), st.integers(-1, 40)),
    st.tuples(st.just("seek"), st.integers(0, 80), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("readinto"), st.integers(0, 40)),
), max_size=30)


@hsettings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64), script=ops)
def test_segment_reader_reads_like_bytesio(data, script):
    ours, ref = wf.slice_reader(memoryview(data)), io.BytesIO(data)
    for op in script:
        if op[0] == "seek":
            offset = op[1] if op[2] == 0 else op[1] - 40
            if op[2] != 0 and ref.tell() + offset < 0 or op[2] == 2 and len(data) + offset < 0:
                continue  # BytesIO refuses negative absolute positions
            assert ours.seek(offset, op[2]) == ref.seek(offset, op[2])
        elif op[0] == "readinto":
            a, b = bytearray(op[1]), bytearray(op[1])
            assert ours.readinto(a) == ref.readinto(b) and a == b
        else:
            assert getattr(ours, op[0])(op[1]) == getattr(ref, op[0])(op[1])
        assert ours.tell() == ref.tell()


@pytest.mark.parametrize("bulk", [True, False])
def test_column_reader_returns_what_whoosh_itself_reads(tmp_path, bulk):
    ix = EvidenceIndex(tmp_path / "ix")
    passages = PASSAGES + [dict(passage_id="bare", text="没有年度、类型和指标的段落")]
    ix.rebuild(passages) if bulk else ix.add(passages)
    checked = 0
    for leaf, _ in ix._get_searcher().reader().leaf_readers():
        for name in ("unit", "kind", "year", "date", "indicator_set"):
            codes, labels = wf.column_codes(leaf, name)
            got = [labels[c] for c in codes.tolist()]
            expected = [v.decode() if isinstance(v, bytes) else str(v) for v in leaf.column_reader(name)]
            default = str(leaf.schema[name].from_column_value(leaf.schema[name].column_type._default)) \
                if name == "year" else ""
            assert got == [("" if v == default else v) for v in expected], name
            checked += len(got)
    assert checked == 5 * len(passages)
