"""The evidence deadline is shown beside the self-assessment deadline, an empty one as
“未设置（按自评截止日期）”, and every page takes it from the one rule (review/evidence_policy.py deadline_of)."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Round
from review.evidence_policy import UNSET, deadline_of, evidence_deadline
from round_support import add_round

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.fixture
def office(settings, make_user, login):
    add_round(settings, 2023)
    make_user("office", "office")
    make_user("js", "province", unit="JS")
    return login("office")


def test_an_empty_evidence_deadline_says_the_self_assessment_deadline_applies(office, login):
    listing = office.get("/rounds").text
    header = re.findall(r"<th>([^<]+)</th>", listing)
    assert header.index("证据提交截止") == header.index("自评截止") + 1
    assert UNSET in listing
    settings_form = office.get("/rounds/2023").text.split('action="/rounds/2023/settings"')[1].split("</form>")[0]
    labels = re.findall(r"<label>(\S+) <input", settings_form)
    assert labels[:2] == ["自评截止", "证据提交截止"]
    assert UNSET in settings_form and 'name="upload_due" value=""' in settings_form
    assert UNSET in login("js").get("/").text


def test_a_set_evidence_deadline_is_shown_and_applied(settings, office, login):
    saved = office.post("/rounds/2023/settings", data={
        "csrf_token": office.csrf, "upload_due": "2099-01-31", "self_assessment_due": "2099-02-28",
        "spotcheck_due": "2099-03-31", "review_due": "2099-07-31", "t_优秀": "90", "t_良好": "75", "t_一般": "60"})
    assert saved.status_code == 200
    form = office.get("/rounds/2023").text.split('action="/rounds/2023/settings"')[1].split("</form>")[0]
    assert 'name="upload_due" value="2099-01-31"' in form and "留空则按自评截止日期" in form and UNSET not in form
    assert "2099年1月31日" in office.get("/rounds").text and "2099年1月31日" in login("js").get("/").text
    with session_scope(settings.database_url) as session:
        rnd = session.exec(select(Round).where(Round.year == 2023)).one()
        assert evidence_deadline(session, 2023) == deadline_of(rnd)
        assert (deadline_of(rnd).due, deadline_of(rnd).label) == (date(2099, 1, 31), "证据提交截止日期")
        rnd.upload_due = None
        assert (deadline_of(rnd).due, deadline_of(rnd).own) == (date(2099, 2, 28), False)


def test_no_page_decides_the_evidence_deadline_on_its_own():
    """Only the settings form names the stored field (its input); every other page asks deadline_of."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"upload_due\s*or\s*[^'\s]", text), path  # a fallback of its own
        if path.name != "dashboard.html":
            assert "upload_due" not in text, path
