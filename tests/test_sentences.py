"""No doubled punctuation where a reason is put into a longer sentence (zhtext/sentences.py), and a
withdrawn document's viewer says who withdrew it, when and why, in a panel of its own."""
from __future__ import annotations

import io

from hypothesis import given, strategies as st
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import DocumentVersion, Job
from zhtext.sentences import SENTENCE_ENDS, clause, sentence

CLOSERS = "。？?！!"


@given(st.text())
def test_a_sentence_ends_with_exactly_one_closing_mark_and_a_clause_with_none(text):
    once = sentence(text)
    assert sentence(once) == once
    if once:
        assert once[-1] in CLOSERS and once[-2:-1] not in set(SENTENCE_ENDS)
    assert not clause(text).endswith(tuple(SENTENCE_ENDS))
    assert f"（{clause(text)}）".count("。）") == 0


def test_people_keep_their_question_or_exclamation_and_lose_only_the_extra_marks():
    assert sentence("重复上传。") == sentence("重复上传") == sentence("重复上传。。 ") == "重复上传。"
    assert sentence("为何撤回？？") == "为何撤回？" and sentence("") == "" and sentence("。") == ""


def test_a_withdrawn_documents_viewer_says_who_when_and_why_without_a_doubled_full_stop(make_user, login,
                                                                                     add_evidence):
    make_user("js", "province", unit="JS")
    js = login("js")
    doc = add_evidence("JS", "通知.txt", "江苏省总工会关于建设工匠学院的通知。全省建成工匠学院十二所。")
    withdrawn = js.post(f"/evidence/{doc}/withdraw", data={"csrf_token": js.csrf, "reason": "重复上传，已另行提交修订版。"})
    assert withdrawn.status_code == 200
    page = withdrawn.text
    panel = page.split('class="state-panel withdrawn"')[1].split("</section>")[0]
    assert "已撤回" in panel and "<dt>撤回人</dt><dd>js（江苏省）</dd>" in panel.replace("\n", "")
    assert "<dt>撤回时间</dt>" in panel and "（北京时间）" in panel
    assert "<dd>重复上传，已另行提交修订版。</dd>" in panel
    assert "。。" not in page


def test_a_retry_limit_reason_quotes_the_last_error_without_its_full_stop(settings):
    from ingest.queue import MAX_CLAIMS, drain
    from ingest.stages import INDEX_RETRY_REASON
    from ingest.submit import submit
    with session_scope(settings.database_url) as session:
        result = submit(session, settings, io.BytesIO("江苏省产业工人技能培训情况。".encode()), "培训.txt",
                        unit_code="JS", year=2023)
        session.commit()
        version_id = result.document.current_version_id
        job = session.exec(select(Job).where(Job.version_id == version_id)).one()
        job.attempts, job.error = MAX_CLAIMS, INDEX_RETRY_REASON  # it kept coming back
        session.add(job)
        session.commit()
    drain(settings)
    with session_scope(settings.database_url) as session:
        error = session.get(DocumentVersion, version_id).error
    assert error.startswith("多次自动重试仍未成功（已保存，检索索引暂时无法写入，稍后自动重试），")
    assert "。）" not in error and "。。" not in error
