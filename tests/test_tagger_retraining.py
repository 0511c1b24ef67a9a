"""The learning loop the office sees: retrain from reviewers' decisions, before/after, replaced only when better."""
from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import AuditEvent, Passage, User
from review.tags import decide
from review_ui.cli import main
from tagging.learned import load_model, model_path
from tagging.retrain import last_outcome

YEAR = 2023
NEW_PHRASE = "蓝领公寓"


def housing(i: int) -> str:
    return f"第{i}批{NEW_PHRASE}建成投用，新增房源{100 + i}套，面向园区产业工人低价出租，解决一线职工住房难题。"


def other(i: int) -> str:
    return ["举办全省职业技能大赛，参赛选手{}人。", "新建基层工会组织{}个，发展会员。",
            "开展普法宣传进企业活动{}场。", "命名劳模创新工作室{}家。"][i % 4].format(10 + i)


@pytest.fixture
def reviewed(settings, make_user, add_evidence, monkeypatch):
    """Reviewers confirmed 58 on housing passages and rejected it elsewhere."""
    monkeypatch.delenv("KAOPING_TAGGER_SET", raising=False)
    make_user("office1", "office")
    make_user("r1", "reviewer")
    docs = [(add_evidence("JS", f"h{i}.txt", housing(i)), True) for i in range(8)]
    docs += [(add_evidence("JS", f"o{i}.txt", other(i)), False) for i in range(8)]
    with session_scope(settings.database_url) as s:
        office = s.exec(select(User).where(User.username == "office1")).one()   # the office sees every unit
        for doc_id, confirm in docs:
            from evidence.models import Document
            version = s.get(Document, doc_id).current_version_id
            passage = s.exec(select(Passage).where(Passage.version_id == version)).first()
            decide(s, office, doc_id, 58, "confirm" if confirm else "reject", passage.id)
        s.commit()
    return settings


def test_train_tagger_prints_before_and_after_and_is_audited(reviewed):
    args = ["--data-dir", str(reviewed.data_dir), "train-tagger", "--year", str(YEAR), "--folds", "2"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "训练前：" in result.output and "训练后：" in result.output and "评审反馈 16 条" in result.output
    outcome = last_outcome(reviewed.models_dir, YEAR)
    assert outcome["n_feedback"] == 16
    assert outcome["replaced"] == model_path(reviewed.models_dir, YEAR).exists()
    if outcome["replaced"]:
        assert outcome["after"]["f1"] > outcome["before"]["f1"]
        assert load_model(model_path(reviewed.models_dir, YEAR)).meta["n_feedback"] == 16
    with session_scope(reviewed.database_url) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "tagger_retrain")).one()
        assert event.detail["year"] == YEAR and event.detail["status"] in ("已替换", "保留原模型")
    # the same decisions again: nothing new to learn, the model stays
    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert "保留原模型" in again.output


def test_train_tagger_without_any_decision_says_why(settings):
    result = CliRunner().invoke(main, ["--data-dir", str(settings.data_dir), "train-tagger", "--year", "2030"])
    assert result.exit_code != 0 and "无法训练" in result.output


def test_the_office_retrains_from_its_page_and_sees_the_figures(reviewed, login):
    office = login("office1")
    page = office.get(f"/admin/tagger?year={YEAR}")
    assert page.status_code == 200 and "确认 8 条、否决 8 条" in page.text and "尚未训练过" in page.text
    assert office.post("/admin/tagger/retrain", data={"year": str(YEAR)}, follow_redirects=False).status_code == 403
    started = office.post("/admin/tagger/retrain", data={"year": str(YEAR), "csrf_token": office.csrf},
                          follow_redirects=False)
    assert started.status_code == 303
    from review_ui.tagger_training import is_running
    for _ in range(600):              # the run happens in the background; wait for it to finish
        if not is_running(reviewed, YEAR):
            break
        time.sleep(0.5)
    page = office.get(f"/admin/tagger?year={YEAR}")
    assert "训练前" in page.text and "训练后" in page.text and "交叉验证" in page.text
    with session_scope(reviewed.database_url) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "tagger_retrain")).one()
        assert event.username == "office1" and event.ip


def test_only_the_office_may_open_or_start_retraining(reviewed, login):
    reviewer = login("r1")
    assert reviewer.get("/admin/tagger").status_code == 403
    assert reviewer.post("/admin/tagger/retrain", data={"year": str(YEAR), "csrf_token": reviewer.csrf},
                         follow_redirects=False).status_code == 403
