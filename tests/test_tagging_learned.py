"""Learning from reviewer feedback and blending the model with the rules."""
from __future__ import annotations

import pickle

import pytest

from tagging import Tagger, tag_text
from tagging.learned import BLEND_CAP, load_model, model_path, save_model, train

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


def test_without_feedback_the_new_phrase_is_not_suggested():
    assert 58 not in {s.no for s in tag_text(housing(99)).indicators}


def test_enough_feedback_teaches_a_phrase_the_rules_do_not_know():
    model = train(feedback(40, 40), year=2023)
    assert model.blend_weight(58) == pytest.approx(min(BLEND_CAP, 120 / 160))
    result = Tagger(model=model).tag_text(housing(99))
    top = next(s for s in result.indicators if s.no == 58)
    assert "评审反馈" in top.reason


def test_little_feedback_leaves_the_rules_in_charge():
    records = [(f"某企业{i}号车间开展普法宣传。", 7, False) for i in range(3)]
    records += [(housing(i), 7, True) for i in range(3)]
    model = train(records, year=2023)
    assert 0 < model.blend_weight(7) < 0.2
    text = "省委成立推进产业工人队伍建设改革协调小组，由省委副书记任组长，34家单位为成员单位。"
    assert 7 in {s.no for s in Tagger(model=model).tag_text(text).indicators}


def test_indicators_without_both_kinds_of_examples_get_no_classifier():
    model = train([(housing(i), 58, True) for i in range(5)], year=2023)
    assert model.classifiers == {} and model.blend_weight(58) == 0.0


def test_save_and_load_round_trip_keeps_predictions_and_version(tmp_path):
    model = train(feedback(10, 10), year=2024)
    path = save_model(model, tmp_path)
    assert path == model_path(tmp_path, 2024) and path.exists()
    loaded = load_model(tmp_path, 2024)
    assert loaded.version == model.version and "2024" in loaded.version
    texts = [housing(50), other(3)]
    assert (loaded.passage_scores(texts)[58] == model.passage_scores(texts)[58]).all()
    assert load_model(tmp_path, 2019) is None


def test_different_feedback_gives_a_different_version():
    assert train(feedback(10, 10), 2024).version != train(feedback(12, 10), 2024).version


def test_a_model_file_of_another_format_is_ignored(tmp_path):
    model_path(tmp_path, 2023).write_bytes(pickle.dumps({"format": "old", "model": None}))
    assert load_model(tmp_path, 2023) is None


def test_default_tagger_uses_the_years_model_from_the_model_directory(tmp_path, monkeypatch):
    from tagging import tagger as tagger_module
    save_model(train(feedback(40, 40), year=2023), tmp_path)
    monkeypatch.setenv("KAOPING_TAGGER_MODELS", str(tmp_path))
    monkeypatch.setattr(tagger_module, "_default", {})
    with_model = tag_text(housing(7), year=2023)
    assert 58 in {s.no for s in with_model.indicators}
    assert "2023" in with_model.version
    assert 58 not in {s.no for s in tag_text(housing(7), year=2022).indicators}


def test_a_retrained_model_replaces_the_cached_one(tmp_path, monkeypatch):
    import os
    from tagging import tagger as tagger_module
    from tagging.learned import retrain
    monkeypatch.setattr(tagger_module, "_default", {})
    first = retrain(feedback(10, 10), 2025, tmp_path)
    assert tagger_module.default_tagger(2025, tmp_path).model.version == first.version
    second = retrain(feedback(40, 40), 2025, tmp_path)
    path = model_path(tmp_path, 2025)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert tagger_module.default_tagger(2025, tmp_path).model.version == second.version


def test_many_rejections_suppress_a_rule_false_positive():
    def passing(i):
        return f"第{i}次会议要求，职工要增强知识产权保护意识，自觉抵制侵权盗版行为。"

    def patent(i):
        return f"依托劳模创新工作室，一线职工全年获得国家专利授权{100 + i}件，其中发明专利{10 + i}件。"

    text = passing(999)
    assert 52 in {s.no for s in tag_text(text).indicators}
    records = [(passing(i), 52, False) for i in range(40)] + [(patent(i), 52, True) for i in range(40)]
    model = train(records, year=2023)
    assert 52 not in {s.no for s in Tagger(model=model).tag_text(text).indicators}
    assert 52 in {s.no for s in Tagger(model=model).tag_text(patent(999)).indicators}


def test_a_saved_model_is_plain_arrays_readable_without_pickle(tmp_path):
    import numpy as np
    path = save_model(train(feedback(10, 10), year=2024), tmp_path)
    assert path.suffix == ".npz"
    with np.load(path, allow_pickle=False) as data:   # would raise if any array needed pickle
        assert "header" in data and "idf" in data
        assert all(data[k].dtype != object for k in data.files)


def test_a_damaged_model_file_is_ignored_not_a_crash(tmp_path):
    model_path(tmp_path, 2024).write_bytes(b"PK\x03\x04 not really a zip")
    assert load_model(tmp_path, 2024) is None
