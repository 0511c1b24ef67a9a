"""A reviewer restricted to some units never sees another unit's passages, by any route."""
from __future__ import annotations

import pytest

from index import EvidenceIndex
from test_index_fixtures import build


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    return build(EvidenceIndex(tmp_path_factory.mktemp("perm") / "index"))


JS_ONLY = ["JS"]


@pytest.mark.parametrize("query,kwargs", [
    ("改革", {}),
    ("unit:SH", {}),
    ("单位:SH 改革", {}),
    ("改革 OR unit:SH", {}),
    ("unit:SH OR unit:JS", {}),
    ("NOT unit:JS", {}),
    ("改革", {"unit": "SH"}),
    ("上海", {}),
    ("year:2020..2021", {}),
])
def test_js_reviewer_never_sees_sh(ix, query, kwargs):
    r = ix.search(query, allowed_units=JS_ONLY, **kwargs)
    assert all(h.unit == "JS" for h in r.hits)
    assert set(r.facets.get("unit", {})) <= {"JS"}
    unrestricted = ix.search(query, **kwargs)
    js_total = sum(1 for h in unrestricted.hits if h.unit == "JS")
    assert r.total == js_total  # the filter is in the query: totals and facets agree


def test_sh_is_visible_without_restriction(ix):
    assert {h.unit for h in ix.search("改革").hits} == {"JS", "SH"}


def test_unit_query_outside_allowed_units_returns_nothing(ix):
    r = ix.search("unit:SH", allowed_units=JS_ONLY)
    assert r.total == 0 and r.hits == [] and r.facets["unit"] == {}


def test_empty_allowed_units_means_nothing(ix):
    r = ix.search("改革", allowed_units=[])
    assert r.total == 0 and r.hits == []
    assert ix.more_like_this("js1", allowed_units=[]) == []


def test_more_like_this_respects_allowed_units(ix):
    similar = ix.more_like_this("js1")
    assert "SH" in {h.unit for h in similar}  # js1's words do occur in SH passages
    assert all(h.document_id != "d-js" for h in similar)
    restricted = ix.more_like_this("js1", allowed_units=["JS", "ZJ"])
    assert all(h.unit in {"JS", "ZJ"} for h in restricted)


def test_more_like_this_of_a_hidden_passage_reveals_nothing(ix):
    assert ix.more_like_this("sh1", allowed_units=JS_ONLY) == []
    assert ix.more_like_this("no-such-passage") == []
