"""`kaoping demo`: last year's satisfaction results come through the survey path — published surveys,
answer sheets, the pooled index — and this year's surveys are open to answer."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from evidence.db import get_engine
from evidence.models import Survey, SurveyResponse, SurveyResult
from review_ui.demo import demo_years, load_demo
from rounds import workflow as R
from rounds.scoring import survey_index


def test_last_years_survey_results_are_indices_of_its_responses(settings, app):
    load_demo(settings)
    last, this = demo_years()
    with Session(get_engine(settings.database_url)) as session:
        assert session.exec(select(func.count(SurveyResult.id))).one() == 0  # no summary typed in by hand
        system = R.system_for(R.get_round(session, last))
        indices = R.survey_indices(session, last)
        results = {u.code: u for u in R.round_scores(session, last)}
        for no in (83, 84, 85):
            minimum = system.get(no).scoring.min_sample
            for code, unit in results.items():
                scores = [r.score for r in session.exec(select(SurveyResponse).where(
                    SurveyResponse.year == last, SurveyResponse.unit_code == code, SurveyResponse.indicator_no == no))]
                assert len(scores) >= minimum
                direct = survey_index(scores)
                assert indices[(code, no)].n == len(scores) and abs(indices[(code, no)].index - direct.index) < 1e-6
                points = next(r for r in unit.indicators if r.no == no)
                assert abs(points.points - round(points.weight * direct.index / 100, 4)) < 1e-6
                assert f"{len(scores)}份" in points.basis
        last_survey = session.exec(select(Survey).where(Survey.year == last)).first()
        this_survey = session.exec(select(Survey).where(Survey.year == this)).first()
        assert session.exec(select(func.count(Survey.id)).where(Survey.year == this)).one() == 96
    phone = TestClient(app)
    closed = phone.get(f"/s/{last_survey.token}")
    assert closed.status_code == 410 and f"{last}年度评价已结束" in closed.text
    open_ = phone.get(f"/s/{this_survey.token}")
    assert open_.status_code == 200 and re.search(r'name="page_token"', open_.text)
