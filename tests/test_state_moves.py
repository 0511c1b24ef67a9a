"""Every state change ingest makes is checked against evidence.states: each forbidden move is refused
by the database update itself and leaves the row as it was."""
from __future__ import annotations

import io
import itertools

import pytest
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import DocumentVersion, Job
from evidence.states import (JOB_TRANSITIONS, VERSION_TRANSITIONS, IllegalMove, JobState, VersionState,
                             can_move, check_move)
from ingest.moves import LeaseLost, move_job, move_version
from ingest.submit import submit

FORBIDDEN_VERSION_MOVES = [(a, b) for a, b in itertools.product(VersionState, VersionState)
                           if not can_move(a, b, VERSION_TRANSITIONS)]
FORBIDDEN_JOB_MOVES = [(a, b) for a, b in itertools.product(JobState, JobState) if not can_move(a, b, JOB_TRANSITIONS)]
ALLOWED_VERSION_MOVES = [(a, b) for a, targets in VERSION_TRANSITIONS.items() for b in targets]
ALLOWED_JOB_MOVES = [(a, b) for a, targets in JOB_TRANSITIONS.items() for b in targets]


@pytest.fixture
def upload(settings):
    with session_scope(settings.database_url) as session:
        result = submit(session, settings, io.BytesIO("省总工会成立产改协调小组。".encode()), "a.txt",
                        unit_code="JS", year=2023)
        session.commit()
        version_id = result.document.current_version_id
        job_id = session.exec(select(Job.id).where(Job.version_id == version_id)).one()
    return settings, version_id, job_id


def _set(settings, model, row_id, state):
    with session_scope(settings.database_url) as session:
        row = session.get(model, row_id)
        row.state = state
        session.add(row)
        session.commit()


def _state(settings, model, row_id):
    with session_scope(settings.database_url) as session:
        return session.get(model, row_id).state


def test_the_forbidden_moves_are_the_ones_the_table_leaves_out():
    assert (VersionState.INDEXED, VersionState.QUEUED) in FORBIDDEN_VERSION_MOVES
    assert (VersionState.FAILED, VersionState.INDEXED) in FORBIDDEN_VERSION_MOVES
    assert (JobState.DONE, JobState.RUNNING) in FORBIDDEN_JOB_MOVES
    assert (JobState.QUEUED, JobState.DONE) in FORBIDDEN_JOB_MOVES
    for current, new in FORBIDDEN_VERSION_MOVES:
        with pytest.raises(IllegalMove):
            check_move(current, new)


FORBIDDEN = ([(DocumentVersion, a, b) for a, b in FORBIDDEN_VERSION_MOVES]
             + [(Job, a, b) for a, b in FORBIDDEN_JOB_MOVES])


@pytest.mark.parametrize("model, current, new", FORBIDDEN,
                         ids=[f"{m.__name__}:{a}->{b}" for m, a, b in FORBIDDEN])
def test_a_forbidden_move_is_refused(upload, model, current, new):
    settings, version_id, job_id = upload
    row_id, move = (version_id, move_version) if model is DocumentVersion else (job_id, move_job)
    _set(settings, model, row_id, current)
    with session_scope(settings.database_url) as session:
        with pytest.raises(IllegalMove):
            move(session, row_id, new)
        session.commit()
    assert _state(settings, model, row_id) == current


@pytest.mark.parametrize("current, new", ALLOWED_VERSION_MOVES + ALLOWED_JOB_MOVES, ids=lambda s: str(s))
def test_an_allowed_move_is_made(upload, current, new):
    settings, version_id, job_id = upload
    model, row_id, move = ((DocumentVersion, version_id, move_version) if (current, new) in ALLOWED_VERSION_MOVES
                           and isinstance(current, VersionState) else (Job, job_id, move_job))
    _set(settings, model, row_id, current)
    with session_scope(settings.database_url) as session:
        move(session, row_id, new)
        session.commit()
    assert _state(settings, model, row_id) == new


def test_a_job_move_for_a_lease_needs_the_lease(upload):
    settings, _, job_id = upload
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        job.state, job.owner = JobState.RUNNING, "another-worker"
        session.add(job)
        session.commit()
    with session_scope(settings.database_url) as session:
        with pytest.raises(LeaseLost):
            move_job(session, job_id, JobState.DONE, held_by="this-worker")
    assert _state(settings, Job, job_id) == JobState.RUNNING


def test_ingest_writes_no_bare_state_strings():
    """The stages move states only through ingest.moves (checked), never by assignment."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "ingest"
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\.state\s*=[^=]", text), f"{path.name} assigns a state directly"
        assert not re.search(r"state\s*=\s*[\"'](queued|running|done|failed|extracting|tagging|indexed)", text), path.name
