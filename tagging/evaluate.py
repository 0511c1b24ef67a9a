"""Measuring the tagger against a labelled set (tests/data/tag_eval)."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_SET = Path(__file__).resolve().parents[1] / "tests" / "data" / "tag_eval"
TOP_K = 5


@dataclass
class EvalItem:
    id: str
    text: str
    labels: list[int]
    kind: str = "positive"
    note: str = ""
    split: str = ""


def _items_from(path: Path, split: str) -> list[EvalItem]:
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [EvalItem(str(r["id"]), str(r["text"]), [int(x) for x in r.get("labels") or []],
                     str(r.get("kind", "positive")), str(r.get("note", "")), split) for r in rows]


def load_eval_set(path: Path | str | None = None) -> list[EvalItem]:
    """A YAML/JSONL file, or a directory of them; the sub-folder name is the split."""
    path = Path(path) if path else DEFAULT_SET
    if path.is_file():
        return _items_from(path, path.parent.name)
    items = []
    for file in sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".jsonl")):
        items.extend(_items_from(file, file.parent.name if file.parent != path else ""))
    return items


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


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

    def to_dict(self) -> dict:
        return {
            "n_items": self.n_items, "micro": self.micro, "macro": self.macro,
            "per_indicator": {str(k): v for k, v in sorted(self.per_indicator.items())},
            "confusions": [{"gold": g, "suggested": p, "count": c} for g, p, c in self.confusions],
            "top5_recall": self.top5_recall, "unrelated_docs": self.unrelated_docs,
            "unrelated_suggestions": self.unrelated_suggestions, "unrelated_max": self.unrelated_max,
        }


def evaluate(items: list[EvalItem], tagger=None) -> EvalReport:
    from tagging.tagger import default_tagger
    tagger = tagger or default_tagger()
    counts: dict[int, Counter] = {}
    confusions: Counter = Counter()
    gold_total = gold_in_top = 0
    unrelated_docs = unrelated_sugg = unrelated_max = 0
    errors = []
    for item in items:
        result = tagger.tag_text(item.text)
        predicted = {s.no for s in result.indicators}
        gold = set(item.labels)
        ranked = [s.no for s in result.ranked()][:TOP_K]
        gold_total += len(gold)
        gold_in_top += len(gold & set(ranked))
        for no in gold | predicted:
            c = counts.setdefault(no, Counter())
            c["tp" if no in gold and no in predicted else "fn" if no in gold else "fp"] += 1
        missed, wrong = gold - predicted, predicted - gold
        for g in missed:
            for p in wrong:
                confusions[(g, p)] += 1
        if item.kind == "unrelated" or (not gold and item.kind != "hard_negative"):
            unrelated_docs += 1
            unrelated_sugg += len(predicted)
            unrelated_max = max(unrelated_max, len(predicted))
        if missed or wrong:
            errors.append({"id": item.id, "missed": sorted(missed), "wrong": sorted(wrong),
                           "note": item.note})
    tp = sum(c["tp"] for c in counts.values())
    fp = sum(c["fp"] for c in counts.values())
    fn = sum(c["fn"] for c in counts.values())
    p, r, f = _prf(tp, fp, fn)
    per = {}
    for no, c in counts.items():
        pp, rr, ff = _prf(c["tp"], c["fp"], c["fn"])
        per[no] = {"tp": c["tp"], "fp": c["fp"], "fn": c["fn"], "precision": round(pp, 3),
                   "recall": round(rr, 3), "f1": round(ff, 3)}
    # Macro over indicators that have gold labels: an indicator never labelled has no recall to speak of.
    labelled = [v for v in per.values() if v["tp"] + v["fn"] > 0]
    macro = {k: round(sum(v[k] for v in labelled) / len(labelled), 3) if labelled else 0.0
             for k in ("precision", "recall", "f1")}
    return EvalReport(
        n_items=len(items),
        micro={"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3), "tp": tp, "fp": fp, "fn": fn},
        macro=macro, per_indicator=per,
        confusions=[(g, p_, c) for (g, p_), c in confusions.most_common(10)],
        top5_recall=round(gold_in_top / gold_total, 3) if gold_total else 0.0,
        unrelated_docs=unrelated_docs, unrelated_suggestions=unrelated_sugg, unrelated_max=unrelated_max,
        errors=errors,
    )
