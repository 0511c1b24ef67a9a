"""The satisfaction questionnaires (indicators 83–85) as data: ``rubrics/questionnaires/<audience>.yaml``.

One file per audience — workers (83), enterprise managers and union cadres (84), provincial staff
(85) — with its items on a 5-point scale and an optional “don't know” answer.  Validated like the
indicator files: every problem names the file, the line and the key, in Chinese.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .indicators import (MEASURE_KEY_PATTERN, RUBRICS_DIR, RubricError, _check_keys, _Doc, _Origin, _require_int,
                         _require_list, _require_mapping, _require_text)

SCALE_POINTS = 5
TOP_KEYS = {"audience", "name", "indicator", "version", "title", "respondents", "intro", "scale", "unknown", "items"}
REQUIRED_KEYS = TOP_KEYS - {"unknown"}
ITEM_KEYS = {"key", "text"}
MIN_ITEMS = 3
MAX_ITEMS = 30
#: the audiences, in the order the office's pages list them
AUDIENCES = ("workers", "enterprise", "staff")


@dataclass(frozen=True)
class Item:
    key: str
    text: str


@dataclass(frozen=True)
class Questionnaire:
    audience: str
    name: str          # who answers, as a page names them: 产业工人
    indicator_no: int
    version: str
    title: str
    respondents: str
    intro: str
    scale: tuple[str, ...]  # labels of 1..5
    unknown: str            # label of the "don't know" answer ("" when not offered)
    items: tuple[Item, ...]

    def score(self, answers: dict[str, int]) -> float | None:
        """0–100: the mean of (answer − 1) ÷ 4 × 100 over the items answered on the scale; None when
        fewer than half the items are answered (0 = don't know; missing = not answered)."""
        points = [answers[i.key] for i in self.items if answers.get(i.key) in range(1, SCALE_POINTS + 1)]
        if len(points) * 2 < len(self.items):
            return None
        return sum((p - 1) / (SCALE_POINTS - 1) * 100 for p in points) / len(points)


def _load(path: Path) -> Questionnaire:
    doc = _Doc(path)
    top = _Origin(doc, ())
    at = lambda *keys: _Origin(doc, keys)
    data = _require_mapping(doc.data, top, "问卷文件顶层")
    _check_keys(data, TOP_KEYS, REQUIRED_KEYS, top, "问卷文件顶层")
    audience = _require_text(data["audience"], at("audience"), "audience ")
    if audience != path.stem:
        raise doc.error(("audience",), f"audience 为 {audience}，与文件名 {path.name} 不一致")
    indicator = _require_int(data["indicator"], at("indicator"), "indicator（对应的三级指标编号）")
    scale = _require_list(data["scale"], at("scale"), "scale（评分等级）")
    if len(scale) != SCALE_POINTS:
        raise doc.error(("scale",), f"scale 应列出 {SCALE_POINTS} 个等级（由低到高），实际有 {len(scale)} 个")
    labels = tuple(_require_text(v, at("scale", i), f"scale 第 {i + 1} 级") for i, v in enumerate(scale))
    if len(set(labels)) != len(labels):
        raise doc.error(("scale",), "scale 中有重复的等级名称")
    unknown = _require_text(data["unknown"], at("unknown"), "unknown（“不了解”选项）") if "unknown" in data else ""
    items = _require_list(data["items"], at("items"), "items（题目）")
    if not MIN_ITEMS <= len(items) <= MAX_ITEMS:
        raise doc.error(("items",), f"items 应有 {MIN_ITEMS}–{MAX_ITEMS} 题，实际有 {len(items)} 题")
    parsed, keys, texts = [], set(), set()
    for i, item in enumerate(items):
        where = at("items", i)
        _require_mapping(item, where, f"第 {i + 1} 题")
        _check_keys(item, ITEM_KEYS, ITEM_KEYS, where, f"第 {i + 1} 题")
        key = item["key"]
        if not isinstance(key, str) or not MEASURE_KEY_PATTERN.fullmatch(key):
            raise doc.error(("items", i, "key"), f"第 {i + 1} 题的 key “{key}” 应由小写字母、数字和下划线组成")
        text = _require_text(item["text"], at("items", i, "text"), f"第 {i + 1} 题的 text ").strip()
        if key in keys:
            raise doc.error(("items", i, "key"), f"第 {i + 1} 题的 key “{key}” 与前面的题目重复")
        if text in texts:
            raise doc.error(("items", i, "text"), f"第 {i + 1} 题的题目与前面的题目相同")
        keys.add(key)
        texts.add(text)
        parsed.append(Item(key, text))
    return Questionnaire(
        audience=audience, name=_require_text(data["name"], at("name"), "name（问卷对象）").strip(),
        indicator_no=indicator, version=str(_require_text(data["version"], at("version"), "version ")),
        title=_require_text(data["title"], at("title"), "title ").strip(),
        respondents=_require_text(data["respondents"], at("respondents"), "respondents ").strip(),
        intro=_require_text(data["intro"], at("intro"), "intro ").strip(),
        scale=labels, unknown=unknown.strip(), items=tuple(parsed))


@lru_cache(maxsize=8)
def _load_all(folder: Path) -> dict[str, Questionnaire]:
    found = {}
    for audience in AUDIENCES:
        path = folder / f"{audience}.yaml"
        if not path.exists():
            raise RubricError(f"缺少问卷文件 {path.name}（应有：{'、'.join(a + '.yaml' for a in AUDIENCES)}）")
        found[audience] = _load(path)
    indicators = [q.indicator_no for q in found.values()]
    if len(set(indicators)) != len(indicators):
        raise RubricError("问卷文件中有两份问卷对应同一个指标（indicator 重复）")
    return found


def load_questionnaires(rubrics_dir: Path | None = None) -> dict[str, Questionnaire]:
    """{audience: Questionnaire} in the order of AUDIENCES."""
    return _load_all(Path(rubrics_dir or RUBRICS_DIR).resolve() / "questionnaires")


def questionnaire(audience: str, rubrics_dir: Path | None = None) -> Questionnaire:
    found = load_questionnaires(rubrics_dir)
    if audience not in found:
        raise RubricError(f"未知的问卷对象：{audience}（可选：{'、'.join(q.name for q in found.values())}）")
    return found[audience]
