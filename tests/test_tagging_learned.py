"""The learned model: learning from reviewers, portable storage, honest retraining."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from tagging import Tagger, tag_text
from tagging.evaluate import EvalItem, cross_validate
from tagging.learned import SHIPPED_PATH, load_model, model_path, save_model
from tagging.retrain import last_outcome, retrain
from tagging.training import fit_model, fitter

NEW_PHRASE = "蓝领公寓"  # housing for workers: no rule mentions it


def housing(i: int) -> str:
    return f"第{i}批{NEW_PHRASE}建成投用，新增房源{100 + i}套，面向园区产业工人低价出租，解决一线职工住房难题。"


def other(i: int) -> str:
    texts = ["举办全省职业技能大赛，参赛选手{}人。", "新建基层工会组织{}个，发展会员。",
             "开展普法宣传进企业活动{}场。", "命名劳模创新工作室{}家。"]
    return texts[i % len(texts)].format(10 + i)


def feedback(n_pos: int, n_neg: int):
    records = [(housing(i), 58, True) for i in range(n_pos)]
    records += [(other(i), 58, False) for i in range(n_neg)]
    records += [(other(i), 47 if i % 4 == 0 else 63, True) for i in range(n_neg)]
    return records


@pytest.fixture(scope="module")
def taught():
    return fit_model([], feedback(20, 20), year=2023)


def test_without_feedback_the_new_phrase_is_not_suggested():
    assert 58 not in {s.no for s in Tagger().tag_text(housing(99)).indicators}


def test_reviewers_feedback_teaches_a_phrase_the_rules_do_not_know(taught):
    result = Tagger(model=taught).tag_text(housing(99))
    found = next(s for s in result.indicators if s.no == 58)
    assert "规则未命中" in found.reason and "学习模型" in found.reason
    assert found.passages and found.passages[0].text == housing(99)
    # the reason names the words that carried the decision, quoted from the passage
    quoted = [q for q in found.reason.split("“")[1:]]
    assert quoted and all(q.split("”")[0] in housing(99) for q in quoted)
    assert taught.version in result.version and "2023" in result.version


def test_every_suggestion_of_a_model_carries_a_passage(taught):
    for text in (housing(5), other(2), "市总工会召开产改工作推进会。\n\n" + housing(7)):
        for s in Tagger(model=taught).tag_text(text).ranked():
            assert s.passages and s.passages[0].text in text and s.reason


def test_save_and_load_round_trip_keeps_predictions_and_version(tmp_path, taught):
    path = save_model(taught, model_path(tmp_path, 2023))
    loaded = load_model(path)
    assert loaded is not None and loaded.version == taught.version
    texts = [housing(50), other(3)]
    assert np.allclose(loaded.text.scores(texts), taught.text.scores(texts))
    assert [(s.no, s.score) for s in Tagger(model=loaded).tag_text(housing(9)).ranked()] == \
        [(s.no, s.score) for s in Tagger(model=taught).tag_text(housing(9)).ranked()]


def test_a_saved_model_is_plain_arrays_readable_without_pickle(tmp_path, taught):
    path = save_model(taught, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:   # would raise if any array needed pickle
        assert all(data[k].dtype != object for k in data.files)
        header = json.loads(str(data["header"]))
    assert header["format"] == "lr3" and "documents" in header["meta"]


def test_different_training_gives_a_different_version(taught):
    assert fit_model([], feedback(12, 20), year=2023).version != taught.version


@pytest.mark.parametrize("content", [
    b"PK\x03\x04 not really a zip",
    pickle.dumps({"format": "lr3", "model": None}),
    b"",
])
def test_a_damaged_or_foreign_file_is_ignored_not_a_crash(tmp_path, content):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    assert load_model(path) is None


def test_a_model_of_another_format_or_features_is_ignored(tmp_path, taught):
    path = save_model(taught, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for change in ({"format": "lr2"}, {"features": ["rule_doc"]}):
        header = json.loads(str(arrays["header"]))
        header.update(change)
        other_path = tmp_path / f"other-{len(change)}-{list(change)[0]}.npz"
        with other_path.open("wb") as fh:
            np.savez(fh, **{**arrays, "header": np.array(json.dumps(header))})
        assert load_model(other_path) is None


def test_the_shipped_model_loads_and_was_trained_on_documents_not_feedback():
    model = load_model(SHIPPED_PATH)
    assert model is not None
    assert model.meta["n_documents"] >= 100 and model.meta["n_feedback"] == 0
    assert len(model.trained_on) == model.meta["n_documents"]


def test_default_tagger_uses_the_years_model_and_falls_back_to_the_shipped_one(tmp_path, monkeypatch, taught):
    from tagging import tagger as tagger_module
    monkeypatch.setenv("KAOPING_TAGGER_MODELS", str(tmp_path))
    monkeypatch.setattr(tagger_module, "_default", {})
    save_model(taught, model_path(tmp_path, 2023))
    with_model = tag_text(housing(7), year=2023)
    assert 58 in {s.no for s in with_model.indicators} and taught.version in with_model.version
    shipped = load_model(SHIPPED_PATH)
    assert shipped.version in tag_text(housing(7), year=2022).version
    model_path(tmp_path, 2024).write_bytes(b"PK\x03\x04 damaged")
    assert shipped.version in tag_text(housing(7), year=2024).version


def test_a_retrained_model_replaces_the_cached_one(tmp_path, monkeypatch, taught):
    import os
    from tagging import tagger as tagger_module
    monkeypatch.setattr(tagger_module, "_default", {})
    path = save_model(taught, model_path(tmp_path, 2025))
    assert tagger_module.default_tagger(2025, tmp_path).model.version == taught.version
    second = fit_model([], feedback(12, 20), year=2025)
    save_model(second, path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert tagger_module.default_tagger(2025, tmp_path).model.version == second.version


def test_cross_validation_trains_each_fold_without_its_own_documents():
    items = [EvalItem(f"d{i}", f"市总工会召开第{i}次产改工作推进会。\n\n" + housing(i), [14, 58], why={58: NEW_PHRASE})
             for i in range(6)] + [EvalItem(f"n{i}", other(i), [47] if i % 4 == 0 else []) for i in range(6)]
    seen = []

    def fit(train):
        seen.append({it.id for it in train})
        return fitter()(train)

    report = cross_validate(items, folds=3, seed=1, fit=fit)
    assert report.n_items == 12 and len(seen) == 3
    assert all(len(s) == 8 for s in seen)
    assert "lr3" in report.tagger_version


def test_retraining_replaces_the_model_only_when_cross_validation_says_it_is_better(tmp_path):
    first = retrain(2026, tmp_path, feedback(12, 12), folds=3)
    assert first.after.f1 > first.before.f1 and first.replaced
    assert model_path(tmp_path, 2026).exists()
    assert last_outcome(tmp_path, 2026)["replaced"] is True
    again = retrain(2026, tmp_path, feedback(12, 12), folds=3)   # nothing new: no better
    assert not again.replaced and again.n_new_feedback == 0
    assert "保留原模型" in again.message
    assert load_model(model_path(tmp_path, 2026)).version == first.version_after


def test_retraining_with_nothing_to_learn_from_says_so(tmp_path):
    with pytest.raises(ValueError, match="无法训练"):
        retrain(2026, tmp_path, [])


def test_model_files_hold_no_document_text(tmp_path, taught):
    path = save_model(taught, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:
        header = str(data["header"])
        numeric = all(data[k].dtype.kind in "fiu" for k in data.files if k != "header")
    assert numeric and NEW_PHRASE not in header and "公寓" not in header
