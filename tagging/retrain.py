"""Retraining a year's learned model, measured before and after, replaced only when better.

    outcome = retrain(2024, models_dir, feedback, items)

`feedback` is the year's reviewer decisions (passage text, indicator,
confirmed); `items` the labelled documents to learn from as well (the
development set, when the operator points KAOPING_TAGGER_SET at it).
Before and after are measured by the same k-fold cross-validation over
documents and reviewed passages together: in each fold, "before" is trained
as the current model was (its documents and the decisions it knew), "after"
with every decision; both are measured on the fold they did not see —
documents by their labels, reviewed passages by the reviewer's decision.
The new model replaces the current one only when its micro-F1 is higher;
either way the outcome (figures, decision) is written beside the model for
the office page and returned for the audit log.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from tagging.evaluate import DEFAULT_SEED, EvalItem, load_eval_set
from tagging.learned import LearnedModel, load_model, model_path, save_model
from tagging.tagger import Tagger
from tagging.training import fit_model

SET_ENV = "KAOPING_TAGGER_SET"
DEFAULT_FOLDS = 5


def fingerprint(record) -> str:
    text, no, confirmed = record
    return hashlib.sha256(f"{int(no)}|{bool(confirmed)}|{text}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def labelled_documents(path: Path | str | None = None) -> list[EvalItem]:
    """The labelled documents to retrain from: `path`, else $KAOPING_TAGGER_SET, else none."""
    path = path or os.environ.get(SET_ENV)
    if not path or not Path(path).exists():
        return []
    return load_eval_set(path)


@dataclass
class Figures:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    @classmethod
    def of(cls, tp: int, fp: int, fn: int) -> "Figures":
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(round(p, 3), round(r, 3), round(f, 3), tp, fp, fn)

    def line(self) -> str:
        return f"精确率 {self.precision:.3f}  召回率 {self.recall:.3f}  F1 {self.f1:.3f}"


@dataclass
class Outcome:
    year: int
    before: Figures
    after: Figures
    replaced: bool
    message: str              # Chinese, for the office and the CLI
    version_before: str
    version_after: str
    n_documents: int
    n_feedback: int
    n_new_feedback: int
    folds: int
    finished_at: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def status_path(directory: Path | str, year: int) -> Path:
    return Path(directory) / f"tagger-{year}.last-run.json"


def last_outcome(directory: Path | str, year: int) -> dict | None:
    try:
        return json.loads(status_path(directory, year).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _folds(n_docs: int, n_feedback: int, k: int, seed: int) -> list[tuple[set[int], set[int]]]:
    docs, fb = list(range(n_docs)), list(range(n_feedback))
    random.Random(seed).shuffle(docs)
    random.Random(seed + 1).shuffle(fb)
    return [(set(docs[i::k]), set(fb[i::k])) for i in range(k)]


def _counts(tagger: Tagger, items, records) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for item in items:
        found, gold = {s.no for s in tagger.tag_text(item.text).indicators}, set(item.labels)
        tp, fp, fn = tp + len(found & gold), fp + len(found - gold), fn + len(gold - found)
    for text, no, confirmed in records:
        found = no in {s.no for s in tagger.tag_text(text).indicators}
        tp, fp, fn = tp + (found and confirmed), fp + (found and not confirmed), fn + (confirmed and not found)
    return tp, fp, fn


def _trained(items, records, year) -> Tagger:
    """A tagger trained on these; with nothing to train on, the shipped model as it is."""
    if not items and not any(c for _, _, c in records):
        return Tagger(model=load_model())
    return Tagger(model=fit_model(items, records, year=year))


def compare(items: list[EvalItem], feedback: list, known: set[str], year: int, folds: int = DEFAULT_FOLDS,
            seed: int = DEFAULT_SEED) -> tuple[Figures, Figures, int]:
    """Cross-validated (before, after): before knows only the decisions in `known`."""
    k = max(2, min(folds, len(items) + len(feedback)))
    before, after = [0, 0, 0], [0, 0, 0]
    for held_docs, held_fb in _folds(len(items), len(feedback), k, seed):
        train_docs = [it for i, it in enumerate(items) if i not in held_docs]
        test_docs = [it for i, it in enumerate(items) if i in held_docs]
        train_fb = [r for i, r in enumerate(feedback) if i not in held_fb]
        test_fb = [r for i, r in enumerate(feedback) if i in held_fb]
        if not test_docs and not test_fb:
            continue
        old = _trained(train_docs, [r for r in train_fb if fingerprint(r) in known], year)
        new = _trained(train_docs, train_fb, year)
        for total, tagger in ((before, old), (after, new)):
            for i, v in enumerate(_counts(tagger, test_docs, test_fb)):
                total[i] += v
    return Figures.of(*before), Figures.of(*after), k


def retrain(year: int, directory: Path | str, feedback: list, items: list[EvalItem] | None = None,
            folds: int = DEFAULT_FOLDS, seed: int = DEFAULT_SEED) -> Outcome:
    items = list(items or [])
    feedback = [(str(t), int(n), bool(c)) for t, n, c in feedback if str(t).strip()]
    if not items and not feedback:
        raise ValueError(f"{year} 年度还没有评审专家确认或否决的标注，也没有可用的标注材料，无法训练。")
    path = model_path(directory, year)
    current: LearnedModel | None = load_model(path) or load_model()
    known = set((current.meta.get("feedback") or []) if current else [])
    before, after, k = compare(items, feedback, known, year, folds, seed)
    prints = sorted(fingerprint(r) for r in feedback)
    model = fit_model(items, feedback, year=year, meta={
        "feedback": prints, "cv_before": asdict(before), "cv_after": asdict(after), "folds": k})
    replaced = current is None or after.f1 > before.f1
    if replaced:
        save_model(model, path)
        message = f"新模型交叉验证更好（F1 {before.f1:.3f} → {after.f1:.3f}），已替换，今后的标引使用新模型。"
    else:
        message = (f"新模型交叉验证没有更好（F1 {before.f1:.3f} → {after.f1:.3f}），保留原模型"
                   f"（{'随代码发布的模型' if not path.exists() else '上次训练的模型'}）。")
    outcome = Outcome(year, before, after, replaced, message, current.version if current else "",
                      model.version if replaced else (current.version if current else ""), len(items), len(feedback),
                      len(set(prints) - known), k, datetime.now(timezone.utc).isoformat(timespec="seconds"))
    write_status(directory, year, outcome.to_dict())
    return outcome


def write_status(directory: Path | str, year: int, data: dict) -> None:
    """The last run's outcome (or failure), for the office page; written whole or not at all."""
    status = status_path(directory, year)
    status.parent.mkdir(parents=True, exist_ok=True)
    data = dict(data, finished_at=data.get("finished_at") or datetime.now(timezone.utc).isoformat(timespec="seconds"))
    tmp = status.with_name(status.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(status)
