"""Retraining the tagger from reviewers' decisions: one service for `kaoping train-tagger` and the office page.

It reads the year's latest decisions (review.tags.feedback_records), retrains
with the labelled documents of KAOPING_TAGGER_SET when that is set
(tagging.retrain: cross-validated before/after, replaced only when better),
and records the outcome in the audit log with the actor and IP.  The office
button runs it in a background thread; a marker file says a run is under way,
so a second click does not start another.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from evidence.config import Settings

RUNNING_STALE_S = 6 * 3600   # a marker older than this was left by a crash
_lock = threading.Lock()


def running_path(settings: Settings, year: int) -> Path:
    return settings.models_dir / f"tagger-{year}.running"


def is_running(settings: Settings, year: int) -> bool:
    path = running_path(settings, year)
    try:
        return time.time() - path.stat().st_mtime < RUNNING_STALE_S
    except OSError:
        return False


def retrain_tagger(settings: Settings, year: int, *, actor=None, ip: str = "", labelled: str | None = None,
                   folds: int | None = None):
    """Retrain and audit; returns tagging.retrain.Outcome (raises ValueError with a Chinese message)."""
    from evidence import audit
    from evidence.db import session_scope
    from review.tags import feedback_records
    from tagging.retrain import DEFAULT_FOLDS, labelled_documents, retrain, write_status
    with session_scope(settings.database_url) as session:
        feedback = feedback_records(session, year)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    try:
        outcome = retrain(year, settings.models_dir, feedback, labelled_documents(labelled), folds or DEFAULT_FOLDS)
    except ValueError as exc:
        detail = {"year": year, "status": "未训练", "reason": str(exc)}
        outcome = None
        write_status(settings.models_dir, year, {"year": year, "failed": True, "message": str(exc)})
    else:
        detail = {"year": year, "old": f"F1 {outcome.before.f1:.3f}", "new": f"F1 {outcome.after.f1:.3f}",
                  "status": "已替换" if outcome.replaced else "保留原模型", "reason": outcome.message}
    with session_scope(settings.database_url) as session:
        audit.record(session, "tagger_retrain", user=actor, detail=detail, ip=ip)
        session.commit()
    if outcome is None:
        raise ValueError(detail["reason"])
    return outcome


def start_in_background(settings: Settings, year: int, actor, ip: str) -> bool:
    """Start a retraining run unless one is under way; False when one is."""
    with _lock:
        if is_running(settings, year):
            return False
        settings.models_dir.mkdir(parents=True, exist_ok=True)
        running_path(settings, year).write_text(str(time.time()), encoding="utf-8")

    def run():
        try:
            retrain_tagger(settings, year, actor=actor, ip=ip)
        except ValueError:
            pass   # audited with its reason; the page shows the last outcome
        finally:
            running_path(settings, year).unlink(missing_ok=True)

    threading.Thread(target=run, name=f"retrain-tagger-{year}", daemon=True).start()
    return True


def page_state(settings: Settings, session, year: int) -> dict:
    """What the office page shows: the last run, whether one is under way, the material at hand."""
    from review.tags import feedback_records
    from tagging.retrain import SET_ENV, labelled_documents, last_outcome
    records = feedback_records(session, year)
    last = last_outcome(settings.models_dir, year)
    return {"year": year, "running": is_running(settings, year), "last": last,
            "confirmed": sum(1 for _, _, ok in records if ok), "rejected": sum(1 for _, _, ok in records if not ok),
            "labelled": len(labelled_documents()), "set_env": SET_ENV}
