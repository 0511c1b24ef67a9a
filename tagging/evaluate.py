"""Measuring the tagger against a labelled set, cross-validated by document.

Two set formats are read:
- YAML/JSONL files of `{id, text, labels, kind, note}` (tests/data/tag_eval), or a
  directory of them (the sub-folder name is the split);
- a development-set directory: `labels.json` (`id, title, indicators, why`) beside
  `corpus/<id>.txt` (../shared/devset).

`cross_validate` splits the documents into K folds with a fixed seed; each fold's
documents are tagged by a tagger fitted on the other folds only, so a learned
model is never measured on what it was trained on.  With the rules alone every
fold gets the same tagger and the figures equal a plain `evaluate`.

`honest_report` is what `kaoping tag-eval` prints: when the shipped learned
model was trained on documents of the set (the development set), the model is
retrained within the folds; when it never saw them, the shipped model is
measured as it is.  Either way no figure comes from a model that saw the
document it is measured on.  (The hand-written rules are the same in every
fold: how their edits carry to unseen documents is checked by keeping some
folds out while editing — docs/tagging.md.)
"""
from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

DEFAULT_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "tag_eval"
TOP_K = 5
DEFAULT_SEED = 13
QUOTE_CHARS = 160


@dataclass
class EvalItem:
    id: str
    text: str
    labels: list[int]
    kind: str = "positive"
    note: str = ""
    split: str = ""
    why: dict[int, str] = field(default_factory=dict)   # indicator → phrase a reviewer quoted
    group: str = ""          # the unit (province) whose evidence it belongs to, when known


def _items_from(path: Path, split: str) -> list[EvalItem]:
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [EvalItem(str(r["id"]), str(r["text"]), [int(x) for x in r.get("labels") or []],
                     str(r.get("kind", "positive")), str(r.get("note", "")), split) for r in rows]


def _devset_items(directory: Path) -> list[EvalItem]:
    rows = json.loads((directory / "labels.json").read_text(encoding="utf-8"))
    items = []
    for r in rows:
        text = (directory / "corpus" / f"{r['id']}.txt").read_text(encoding="utf-8")
        labels = sorted(int(x) for x in r.get("indicators") or [])
        items.append(EvalItem(str(r["id"]), text, labels, "positive" if labels else "unrelated",
                              str(r.get("title") or ""), "",
                              {int(k): str(v) for k, v in (r.get("why") or {}).items()},
                              str(r.get("province") or "")))
    return items


def load_eval_set(path: Path | str | None = None) -> list[EvalItem]:
    """A YAML/JSONL file, a directory of them, or a devset directory with labels.json."""
    path = Path(path) if path else DEFAULT_SET
    if path.is_file():
        return _items_from(path, path.parent.name)
    if (path / "labels.json").is_file():
        return _devset_items(path)
    items = []
    for file in sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".jsonl")):
        items.extend(_items_from(file, file.parent.name if file.parent != path else ""))
    return items


def folds_of(items: list[EvalItem], k: int, seed: int = DEFAULT_SEED) -> list[list[int]]:
    """Indices of `items` in k folds by document, shuffled with a fixed seed."""
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    return [sorted(order[i::k]) for i in range(k)]


HALVES = ("A", "B")


def halves_of(items: list[EvalItem]) -> dict[str, str]:
    """Each document's half, "A" or "B": a fixed split for developing on one half
    while the other stays unread (docs/tagging.md, the protocol).

    Stratified so both halves get their share of distractors and of every
    first-level area: documents are grouped by stratum (no labels; else the
    first-level area of their lowest-numbered indicator), ordered within it by
    a hash of the id, and dealt A, B, A, B… across the strata in turn.  The
    rule depends only on ids and labels, so it never changes as the tagger does."""
    areas = _areas()

    def stratum(item: EvalItem) -> str:
        if not item.labels:
            return "0 无指标"
        no = min(item.labels)
        return areas.get(no, f"指标 {no // 10:02d}")

    def digest(item: EvalItem) -> str:
        return hashlib.sha256(item.id.encode("utf-8")).hexdigest()

    out, dealt = {}, 0
    for key in sorted({stratum(i) for i in items}):
        for item in sorted((i for i in items if stratum(i) == key), key=digest):
            out[item.id] = HALVES[dealt % 2]
            dealt += 1
    return out


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _figures(c: Counter) -> dict:
    p, r, f = _prf(c["tp"], c["fp"], c["fn"])
    return {"tp": c["tp"], "fp": c["fp"], "fn": c["fn"], "precision": round(p, 3),
            "recall": round(r, 3), "f1": round(f, 3)}


@dataclass
class EvalReport:
    n_items: int
    micro: dict
    macro: dict
    per_indicator: dict[int, dict]
    confusions: list[tuple[int, int, int]]       # (gold missed, wrongly suggested, count)
    top5_recall: float
    unrelated_docs: int
    unrelated_suggestions: int
    unrelated_max: int
    errors: list[dict] = field(default_factory=list)
    per_area: dict[str, dict] = field(default_factory=dict)   # first-level area → micro figures
    folds: int = 1
    seed: int | None = None
    method: str = ""          # how the figures were obtained, in Chinese
    tagger_version: str = ""

    def to_dict(self) -> dict:
        return {
            "n_items": self.n_items, "folds": self.folds, "seed": self.seed, "method": self.method,
            "tagger_version": self.tagger_version,
            "micro": self.micro, "macro": self.macro,
            "per_indicator": {str(k): v for k, v in sorted(self.per_indicator.items())},
            "per_area": self.per_area,
            "confusions": [{"gold": g, "suggested": p, "count": c} for g, p, c in self.confusions],
            "top5_recall": self.top5_recall, "unrelated_docs": self.unrelated_docs,
            "unrelated_suggestions": self.unrelated_suggestions, "unrelated_max": self.unrelated_max,
            "errors": self.errors,
        }


def _areas() -> dict[int, str]:
    try:
        from rubrics.indicators import load_system
        return {ind.no: f"{ind.level1_no} {ind.level1}" for ind in load_system().indicators}
    except Exception:  # noqa: BLE001 - no indicator system: no per-area figures
        return {}


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…"


def _error_rows(item: EvalItem, result, missed: set[int], wrong: set[int]) -> list[dict]:
    """One row per false positive and per miss: what fired, where, and (for a
    miss) the phrase the labeller quoted and how close the tagger came."""
    by_no = {s.no: s for s in result.ranked()}
    rows = []
    for no in sorted(wrong):
        s = by_no[no]
        rows.append({"id": item.id, "type": "fp", "no": no, "score": round(s.score, 3),
                     "passage": _quote(s.passages[0].text) if s.passages else "", "fired": s.reason})
    for no in sorted(missed):
        s = by_no.get(no)
        rows.append({"id": item.id, "type": "miss", "no": no, "gold": item.why.get(no, ""),
                     "score": round(s.score, 3) if s else 0.0,
                     "passage": _quote(s.passages[0].text) if s and s.passages else "",
                     "fired": s.reason if s else "规则与模型均未命中"})
    return rows


def report_from(items: list[EvalItem], results: list) -> EvalReport:
    """Figures for `items` given the tagger's result for each."""
    areas = _areas()
    counts: dict[int, Counter] = {}
    area_counts: dict[str, Counter] = {}
    confusions: Counter = Counter()
    gold_total = gold_in_top = 0
    unrelated_docs = unrelated_sugg = unrelated_max = 0
    errors = []
    for item, result in zip(items, results):
        predicted = {s.no for s in result.indicators}
        gold = set(item.labels)
        ranked = [s.no for s in result.ranked()][:TOP_K]
        gold_total += len(gold)
        gold_in_top += len(gold & set(ranked))
        for no in gold | predicted:
            outcome = "tp" if no in gold and no in predicted else "fn" if no in gold else "fp"
            counts.setdefault(no, Counter())[outcome] += 1
            area_counts.setdefault(areas.get(no, "其他"), Counter())[outcome] += 1
        missed, wrong = gold - predicted, predicted - gold
        for g in missed:
            for p in wrong:
                confusions[(g, p)] += 1
        if item.kind == "unrelated" or (not gold and item.kind != "hard_negative"):
            unrelated_docs += 1
            unrelated_sugg += len(predicted)
            unrelated_max = max(unrelated_max, len(predicted))
        if missed or wrong:
            errors.extend(_error_rows(item, result, missed, wrong))
    total = Counter()
    for c in counts.values():
        total.update(c)
    per = {no: _figures(c) for no, c in counts.items()}
    # Macro over indicators that have gold labels: an indicator never labelled has no recall to speak of.
    labelled = [v for v in per.values() if v["tp"] + v["fn"] > 0]
    macro = {k: round(sum(v[k] for v in labelled) / len(labelled), 3) if labelled else 0.0
             for k in ("precision", "recall", "f1")}
    return EvalReport(
        n_items=len(items), micro=_figures(total), macro=macro, per_indicator=per,
        confusions=[(g, p_, c) for (g, p_), c in confusions.most_common(10)],
        top5_recall=round(gold_in_top / gold_total, 3) if gold_total else 0.0,
        unrelated_docs=unrelated_docs, unrelated_suggestions=unrelated_sugg, unrelated_max=unrelated_max,
        errors=errors, per_area={a: _figures(c) for a, c in sorted(area_counts.items())},
    )


def _reported(items: list[EvalItem], results: list, half: str | None) -> EvalReport:
    """Figures over every document, or over one half's documents only (all were tagged)."""
    if half is not None:
        which = halves_of(items)
        kept = [(it, r) for it, r in zip(items, results) if which[it.id] == half]
        items, results = [it for it, _ in kept], [r for _, r in kept]
    report = report_from(items, results)
    report.tagger_version = results[0].version if results else ""
    return report


def evaluate(items: list[EvalItem], tagger=None, half: str | None = None) -> EvalReport:
    from tagging.tagger import default_tagger
    tagger = tagger or default_tagger()
    report = _reported(items, [tagger.tag_text(item.text) for item in items], half)
    report.tagger_version = tagger.version
    return report


def cross_validated_results(items: list[EvalItem], folds: int = 5, seed: int = DEFAULT_SEED,
                            fit: Callable[[list[EvalItem]], object] | None = None) -> tuple[int, list]:
    """(folds used, each document's TagResult from a tagger fitted without its fold)."""
    from tagging.tagger import Tagger
    folds = max(2, min(folds, len(items))) if len(items) >= 2 else 1
    results: list = [None] * len(items)
    for test in folds_of(items, folds, seed):
        held = set(test)
        tagger = fit([it for i, it in enumerate(items) if i not in held]) if fit else Tagger()
        for i in test:
            results[i] = tagger.tag_text(items[i].text)
    return folds, results


def cross_validate(items: list[EvalItem], folds: int = 5, seed: int = DEFAULT_SEED,
                   fit: Callable[[list[EvalItem]], object] | None = None, half: str | None = None) -> EvalReport:
    """K-fold by document: `fit(training items)` returns the tagger for the held-out fold.
    Without `fit`, the shipped rules (no learned model) tag every fold.  With
    `half`, the folds still span the whole set (so a learned part trains on as
    much as ever) and only that half's documents are reported."""
    folds, results = cross_validated_results(items, folds, seed, fit)
    report = _reported(items, results, half)
    report.folds, report.seed = folds, seed
    return report


LEARNED_MODES = ("auto", "cv", "shipped", "none")


def honest_report(items: list[EvalItem], folds: int = 5, seed: int = DEFAULT_SEED, learned: str = "auto",
                  model=None, half: str | None = None) -> EvalReport:
    """Figures no learned part has seen the answers to.

    learned: "cv" retrains the model within the folds; "shipped" measures the
    given (default: shipped) model as it is — honest only on documents it was
    not trained on; "none" the rules alone; "auto" picks "cv" when the model
    was trained on any of these documents, "shipped" otherwise.  `half` ("A" or
    "B", see halves_of) reports that half's documents only."""
    from tagging.learned import hash_text, load_model
    from tagging.tagger import Tagger
    from tagging.training import fitter
    if learned not in LEARNED_MODES:
        raise ValueError(f"未知方式：{learned}")
    if half is not None and half not in HALVES:
        raise ValueError(f"未知的半份：{half}（只有 A、B）")
    model = model if model is not None else (load_model() if learned != "none" else None)
    if learned == "auto":
        if model is None:
            learned = "none"
        else:
            seen = model.trained_on & {hash_text(i.text) for i in items}
            learned = "cv" if seen else "shipped"
    if learned == "cv":
        report = cross_validate(items, folds, seed, fitter(), half)
        report.method = (f"规则 + 学习模型；{report.folds} 折交叉验证（按文件分折，随机种子 {seed}），"
                         "学习模型在每折只用其余各折训练")
    elif learned == "shipped" and model is not None:
        report = evaluate(items, Tagger(model=model), half)
        trained = model.trained_on & {hash_text(i.text) for i in items}
        report.method = "规则 + 随代码发布的学习模型（" + (
            f"注意：其中 {len(trained)} 份文件参与过训练，数字偏乐观）" if trained else "未用本评测集任何文件训练）")
    else:
        report = cross_validate(items, folds, seed, half=half)
        report.method = f"仅规则；{report.folds} 折（规则不学习，各折相同）"
    if half is not None:
        report.method += f"；只统计 {half} 半份的 {report.n_items} 份文件"
    return report
