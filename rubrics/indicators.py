"""The indicator system (附件1) and the 32 units, loaded from the YAML under ``rubrics/``.

Each evaluation year is one file ``rubrics/indicators/<year>.yaml``: either a full
base system or ``derive_from: <year>`` plus a list of ``changes``. A derived
year is resolved by loading its parent (recursively) and applying the changes,
so a year's rules are always reproducible from the files in the repository.

Every problem is reported as a ``RubricError`` naming the file, the line and
the key, because the people who edit these files are reviewers, not
programmers, and "KeyError: 'rubric'" would not tell them where to look.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

RUBRICS_DIR = Path(__file__).resolve().parent

KINDS = {"qualitative": "定性", "quantitative": "定量", "mixed": "定性与定量结合"}
SOURCES = {"review": "审阅评档", "statistics": "统计数据", "survey": "满意度问卷"}
CATEGORIES = ("总体指标", "绩效指标", "满意度指标")
EVIDENCE_KINDS = {
    "policy": "政策文件",
    "notice": "会议纪要/通知",
    "media": "媒体报道",
    "summary": "工作总结",
    "briefing": "简报专报",
    "case": "案例材料",
    "research": "调研报告",
    "statistics": "统计数据",
    "other": "其他",
}
MIN_RUBRIC_LEVELS = 4

BASE_KEYS = {"year", "version", "title", "total_weight", "expected_counts", "level1"}
DERIVED_KEYS = {"year", "version", "title", "total_weight", "derive_from", "changes"}
LEVEL1_KEYS = {"no", "name", "category", "level2"}
LEVEL2_KEYS = {"no", "name", "indicators"}
INDICATOR_KEYS = {"no", "name", "meaning", "kind", "kind_reason", "weight", "evidence_kinds",
                  "rubric", "measures", "source", "scoring"}
UPDATABLE_KEYS = INDICATOR_KEYS - {"no"}
RUBRIC_LEVEL_KEYS = {"value", "label", "descriptor"}
MEASURE_KEYS = {"key", "label", "unit", "growth", "share", "direction", "definition"}
# higher: more is better; lower: less is better (e.g. a turnover rate); none: context only, not scored
DIRECTIONS = {"higher": "越高越好", "lower": "越低越好", "none": "不计分（仅作说明）"}
SCORING_KEYS = {"level", "growth", "target", "blend", "rated_share", "min_sample"}
# level: the unit's value against all units of the year (percentile rank), against bands, or a
# 0–100 index read as a share (score: satisfaction surveys); growth: against its own base year.
LEVEL_MODES = {"percentile": "在各单位中的百分位", "score": "0–100 指数直接折算"}
BLEND_PARTS = {"level": "水平", "growth": "增长", "target": "目标完成"}
CHANGE_KEYS = {
    "update": {"op", "indicator", "set", "reason"},
    "add": {"op", "level2", "indicator", "reason"},
    "retire": {"op", "indicator", "reason"},
}
UNIT_KEYS = {"code", "gb_code", "name", "short_name", "aliases"}
MEASURE_KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


class RubricError(ValueError):
    """A rubric, indicator or unit file is missing, malformed or inconsistent."""


# ---------------------------------------------------------------- data model

@dataclass(frozen=True)
class RubricLevel:
    value: int
    label: str
    descriptor: str


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: str
    growth: bool  # a growth rate against the previous/base year is wanted
    share: bool   # the value itself is a proportion (%)
    direction: str = "higher"  # see DIRECTIONS
    definition: str = ""       # 统计口径, shown in the statistics template

    @property
    def scored(self) -> bool:
        return self.direction != "none"


@dataclass(frozen=True)
class Scoring:
    """How a quantitative (or the measured part of a mixed) indicator earns points; see docs/rounds.md.

    Each scored measure gets a fraction in 0–1 = Σ blend[part] × part, over the parts that apply
    to it (growth only for measures with a base year, target only where a target is set; the
    shares are renormalised over those).  The indicator's measured fraction is the mean over its
    scored measures.
    """
    level: str | tuple[tuple[float, float], ...]  # LEVEL_MODES key, or (threshold, fraction) bands
    growth: tuple[tuple[float, float], ...] = ()    # (growth threshold, fraction), highest first
    target: tuple[tuple[str, float], ...] = ()      # (measure key, target value)
    blend: tuple[tuple[str, float], ...] = (("level", 1.0),)
    rated_share: float | None = None                # mixed: share of the rated part
    min_sample: int | None = None                   # survey: fewest responses that count

    def targets(self) -> dict[str, float]:
        return dict(self.target)


@dataclass(frozen=True)
class Indicator:
    no: int
    name: str
    meaning: str
    level1_no: int
    level1: str
    level2_no: int
    level2: str
    kind: str
    kind_reason: str
    weight: float
    evidence_kinds: tuple[str, ...]
    rubric: tuple[RubricLevel, ...]
    measures: tuple[Measure, ...]
    terms: tuple[str, ...]
    source: str = "review"
    scoring: Scoring | None = None

    @property
    def is_rated(self) -> bool:
        """Reviewers place this indicator on a rubric level."""
        return self.kind in ("qualitative", "mixed")

    @property
    def level_values(self) -> tuple[int, ...]:
        return tuple(level.value for level in self.rubric)

    def level(self, value: int) -> RubricLevel:
        for level in self.rubric:
            if level.value == value:
                return level
        raise RubricError(f"指标 {self.no}「{self.name}」没有取值为 {value} 的档次（可选：{self.level_values}）")


@dataclass(frozen=True)
class Level2:
    no: int
    name: str
    indicator_nos: tuple[int, ...]


@dataclass(frozen=True)
class Level1:
    no: int
    name: str
    category: str
    level2: list[Level2]


@dataclass(frozen=True)
class IndicatorSystem:
    year: int
    version: str
    title: str
    indicators: list[Indicator]
    level1: list[Level1]
    derive_from: int | None = None
    _by_no: dict[int, Indicator] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_no.update({ind.no: ind for ind in self.indicators})

    def get(self, no: int) -> Indicator:
        try:
            return self._by_no[int(no)]
        except (KeyError, ValueError, TypeError):
            raise RubricError(f"{self.year} 年指标体系中没有编号为 {no} 的三级指标") from None

    def rated_indicators(self) -> list[Indicator]:
        return [ind for ind in self.indicators if ind.is_rated]

    @property
    def total_weight(self) -> float:
        return _round_weight(sum(ind.weight for ind in self.indicators))

    def to_json(self) -> list[dict[str, Any]]:
        return [indicator_to_json(ind, self.version, self.year) for ind in self.indicators]


@dataclass(frozen=True)
class Unit:
    code: str
    gb_code: str
    name: str
    short_name: str
    aliases: tuple[str, ...]


def indicator_to_json(ind: Indicator, version: str, year: int) -> dict[str, Any]:
    return {
        "no": ind.no, "name": ind.name, "meaning": ind.meaning,
        "level1_no": ind.level1_no, "level1": ind.level1,
        "level2_no": ind.level2_no, "level2": ind.level2,
        "kind": ind.kind, "kind_reason": ind.kind_reason, "weight": ind.weight,
        "is_rated": ind.is_rated,
        "rubric": [{"value": lv.value, "label": lv.label, "descriptor": lv.descriptor} for lv in ind.rubric],
        "evidence_kinds": list(ind.evidence_kinds),
        "measures": [{"key": m.key, "label": m.label, "unit": m.unit, "growth": m.growth, "share": m.share,
                      "direction": m.direction, "definition": m.definition}
                     for m in ind.measures],
        "terms": list(ind.terms), "source": ind.source,
        "version": version, "year": year,
    }


def _round_weight(value: float) -> float:
    # Weights are decimal points (0.5, 1.5 …); keep sums free of float dust.
    return round(value, 6)


# ---------------------------------------------------------------- located YAML

class _Doc:
    """A parsed YAML file that remembers the line of every key and list item."""

    def __init__(self, path: Path):
        self.path = path
        self.lines: dict[tuple, int] = {}
        self._constructor = yaml.SafeLoader("")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RubricError(f"{_display(path)}：文件不存在") from None
        except UnicodeDecodeError:
            raise RubricError(f"{_display(path)}：文件不是 UTF-8 编码") from None
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = None if node is None else self._convert(node, ())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            problem = exc.problem or exc.context or str(exc)
            raise RubricError(f"{_display(path)} 第 {line} 行：YAML 语法错误（{problem}）") from None
        except yaml.YAMLError as exc:
            raise RubricError(f"{_display(path)}：YAML 语法错误（{exc}）") from None

    def _convert(self, node: yaml.Node, path: tuple) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict = {}
            for key_node, value_node in node.value:
                key = self._key(key_node)
                if key in result:
                    raise RubricError(self.message(path + (key,), f"键 {key} 重复出现",
                                                   line=key_node.start_mark.line + 1))
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = self._convert(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self._convert(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _key(self, node: yaml.Node) -> str:
        # Keys are taken literally: YAML 1.1 would otherwise turn the key `no` into False.
        if not isinstance(node, yaml.ScalarNode):
            raise RubricError(f"{_display(self.path)} 第 {node.start_mark.line + 1} 行：键必须是简单文字")
        return str(node.value)

    def _scalar(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node)

    def line(self, path: tuple) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def message(self, path: tuple, problem: str, *, line: int | None = None) -> str:
        where = _key_path(path)
        return f"{_display(self.path)} 第 {line or self.line(path)} 行{'（' + where + '）' if where else ''}：{problem}"

    def error(self, path: tuple, problem: str) -> RubricError:
        return RubricError(self.message(path, problem))


def _key_path(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- field checks

@dataclass
class _Origin:
    """Where a value came from: the file and key path to blame in an error."""
    doc: _Doc
    path: tuple

    def error(self, problem: str) -> RubricError:
        return self.doc.error(self.path, problem)


def _require_mapping(value: Any, origin: _Origin, what: str) -> dict:
    if not isinstance(value, dict):
        raise origin.error(f"{what}应为键值映射（key: value），实际是 {_type_name(value)}")
    return value


def _require_list(value: Any, origin: _Origin, what: str) -> list:
    if not isinstance(value, list):
        raise origin.error(f"{what}应为列表（每项以“- ”开头），实际是 {_type_name(value)}")
    return value


def _check_keys(mapping: dict, allowed: set[str], required: set[str], origin: _Origin, what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise origin.doc.error(origin.path + (key,),
                                   f"{what}中有未知的键 “{key}”；允许的键：{'、'.join(sorted(allowed))}")
    missing = [key for key in sorted(required) if key not in mapping]
    if missing:
        raise origin.error(f"{what}缺少必填的键：{'、'.join(missing)}")


def _require_int(value: Any, origin: _Origin, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise origin.error(f"{what}应为整数，实际是 {value!r}")
    return value


def _require_text(value: Any, origin: _Origin, what: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise origin.error(f"{what}应为非空文字，实际是 {value!r}")
    return value


def _require_bool(value: Any, origin: _Origin, what: str) -> bool:
    if not isinstance(value, bool):
        raise origin.error(f"{what}应为 true 或 false，实际是 {value!r}")
    return value


def _type_name(value: Any) -> str:
    return {dict: "键值映射", list: "列表", str: "文字", int: "整数", float: "小数", bool: "布尔值",
            type(None): "空值"}.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- raw indicator records

@dataclass
class _Record:
    """One third-level indicator before it is frozen, with the origin of every field."""
    fields: dict[str, Any]
    origins: dict[str, _Origin]
    home: _Origin  # the indicator's own mapping, for errors about missing keys
    level1_no: int
    level2_no: int

    def origin(self, key: str) -> _Origin:
        return self.origins.get(key, self.home)

    @property
    def label(self) -> str:
        return f"指标 {self.fields.get('no')}「{self.fields.get('name', '')}」"


def _record_from(mapping: Any, doc: _Doc, path: tuple, level1_no: int, level2_no: int) -> _Record:
    home = _Origin(doc, path)
    _require_mapping(mapping, home, "三级指标")
    origins = {key: _Origin(doc, path + (key,)) for key in mapping}
    return _Record(dict(mapping), origins, home, level1_no, level2_no)


def _validate_record(rec: _Record) -> None:
    """Check one indicator's fields; Indicators are only built once the whole year is resolved."""
    f = rec.fields
    what = rec.label
    _check_keys(f, INDICATOR_KEYS, {"no", "name", "meaning", "kind", "kind_reason", "weight", "evidence_kinds"},
                rec.home, what)
    _require_int(f["no"], rec.origin("no"), f"{what}的编号 no ")
    _require_text(f["name"], rec.origin("name"), f"{what}的 name ")
    _require_text(f["meaning"], rec.origin("meaning"), f"{what}的 meaning（指标具体内涵）")
    kind = f["kind"]
    if kind not in KINDS:
        raise rec.origin("kind").error(
            f"{what}的 kind 取值 “{kind}” 无效，应为 {' / '.join(KINDS)} 之一")
    _require_text(f["kind_reason"], rec.origin("kind_reason"), f"{what}的 kind_reason ")
    weight = f["weight"]
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
        raise rec.origin("weight").error(f"{what}的 weight 应为不小于 0 的分值，实际是 {weight!r}")
    evidence = _require_list(f["evidence_kinds"], rec.origin("evidence_kinds"), f"{what}的 evidence_kinds ")
    if not evidence:
        raise rec.origin("evidence_kinds").error(f"{what}的 evidence_kinds 不能为空")
    for item in evidence:
        if item not in EVIDENCE_KINDS:
            raise rec.origin("evidence_kinds").error(
                f"{what}的 evidence_kinds 含未知类别 “{item}”，应为 {'、'.join(EVIDENCE_KINDS)} 之一")
    if len(set(evidence)) != len(evidence):
        raise rec.origin("evidence_kinds").error(f"{what}的 evidence_kinds 有重复项")
    source = f.get("source", "review")
    if source not in SOURCES:
        raise rec.origin("source").error(f"{what}的 source 取值 “{source}” 无效，应为 {' / '.join(SOURCES)} 之一")
    if source != "review" and kind != "quantitative":
        raise rec.origin("source").error(
            f"{what}的 source 为 {source} 时数值来自{SOURCES[source]}、不由审阅人评档，kind 应为 quantitative")

    rubric = f.get("rubric")
    if kind == "quantitative":
        if rubric:
            raise rec.origin("rubric").error(f"{what}是定量指标，不设评分档次 rubric；如需评档请把 kind 改为 mixed")
    else:
        _validate_rubric(rubric, rec)
    measures = f.get("measures")
    if kind == "qualitative":
        if measures:
            raise rec.origin("measures").error(f"{what}是定性指标，不设 measures；如需填报数值请把 kind 改为 mixed")
    else:
        _validate_measures(measures, rec)
        _validate_scoring(f.get("scoring"), rec)
    if kind == "qualitative" and f.get("scoring") is not None:
        raise rec.origin("scoring").error(f"{what}是定性指标，按评档计分，不设 scoring")


def _bands(value: Any, at: _Origin, what: str) -> tuple[tuple[float, float], ...]:
    """[[threshold, fraction], …]: fractions within 0–1; kept highest threshold first."""
    _require_list(value, at, what)
    if not value:
        raise at.error(f"{what}不能为空")
    bands = []
    for i, band in enumerate(value):
        if (not isinstance(band, list) or len(band) != 2
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) for x in band)):
            raise at.error(f"{what}第 {i + 1} 档应为 [门槛, 得分比例] 两个数字，实际是 {band!r}")
        if not 0 <= band[1] <= 1:
            raise at.error(f"{what}第 {i + 1} 档的得分比例 {band[1]} 应在 0–1 之间")
        bands.append((float(band[0]), float(band[1])))
    if len({b[0] for b in bands}) != len(bands):
        raise at.error(f"{what}有重复的门槛")
    return tuple(sorted(bands, reverse=True))


def _validate_scoring(scoring: Any, rec: _Record) -> None:
    """The scoring rule of a quantitative or mixed indicator; every such indicator needs one."""
    what = rec.label
    origin = rec.origin("scoring")
    kind, source = rec.fields["kind"], rec.fields.get("source", "review")
    if scoring is None:
        raise origin.error(f"{what}是{KINDS[kind]}指标，必须设计分规则 scoring（见 rubrics/README.md）")
    _require_mapping(scoring, origin, f"{what}的 scoring ")
    _check_keys(scoring, SCORING_KEYS, {"level", "blend"}, origin, f"{what}的 scoring ")
    sub = lambda key: _Origin(origin.doc, origin.path + (key,))
    measures = {m["key"]: m for m in rec.fields.get("measures") or []}
    scored = [k for k, m in measures.items() if m.get("direction", "higher") != "none"]
    if not scored:
        raise rec.origin("measures").error(f"{what}没有计分的 measures（direction 全为 none）")
    level = scoring["level"]
    if isinstance(level, list):
        _bands(level, sub("level"), f"{what}的 scoring.level 分档")
    elif not isinstance(level, str) or level not in LEVEL_MODES:
        raise sub("level").error(f"{what}的 scoring.level “{level}” 无效，应为 {' / '.join(LEVEL_MODES)} 或分档列表")
    if "growth" in scoring:
        _bands(scoring["growth"], sub("growth"), f"{what}的 scoring.growth 分档")
    if "target" in scoring:
        targets = _require_mapping(scoring["target"], sub("target"), f"{what}的 scoring.target ")
        for key, value in targets.items():
            if key not in scored:
                raise sub("target").error(f"{what}的 scoring.target 中 “{key}” 不是本指标计分的 measure")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise sub("target").error(f"{what}的目标值 {key} 应为正数，实际是 {value!r}")
    blend = _require_mapping(scoring["blend"], sub("blend"), f"{what}的 scoring.blend ")
    for part, share in blend.items():
        if part not in BLEND_PARTS:
            raise sub("blend").error(f"{what}的 scoring.blend 中 “{part}” 无效，应为 {' / '.join(BLEND_PARTS)}")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise sub("blend").error(f"{what}的 scoring.blend.{part} 应为 0–1 之间的正数，实际是 {share!r}")
    if abs(sum(blend.values()) - 1) > 1e-9:
        raise sub("blend").error(f"{what}的 scoring.blend 各项之和应为 1，实际是 {sum(blend.values()):g}")
    if "growth" in blend and "growth" not in scoring:
        raise sub("blend").error(f"{what}的 blend 含 growth，须设 scoring.growth 分档")
    if "growth" in blend and not any(measures[k].get("growth") for k in scored):
        raise sub("blend").error(f"{what}的 blend 含 growth，但没有 growth: true 的 measure（无基期值）")
    if "target" in blend and not scoring.get("target"):
        raise sub("blend").error(f"{what}的 blend 含 target，须设 scoring.target")
    if "growth" in scoring and "growth" not in blend:
        raise sub("growth").error(f"{what}设了 scoring.growth 分档，但 blend 中没有 growth，增长不会计入得分")
    if scoring.get("target") and "target" not in blend:
        raise sub("target").error(f"{what}设了 scoring.target，但 blend 中没有 target，目标不会计入得分")
    if "level" not in blend:
        # without the level part a measure is scored only by what applies to it: growth needs a base
        # year (growth: true), target needs a target value; a measure with neither would wait forever
        targets = scoring.get("target") or {}
        for key in scored:
            if not (("growth" in blend and measures[key].get("growth")) or ("target" in blend and key in targets)):
                raise sub("blend").error(f"{what}的 blend 不含 level，数值项 “{key}” 既无基期值（growth: true）"
                                         f"也无目标值，没有可计分的部分")
    share = scoring.get("rated_share")
    if kind == "mixed":
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
            raise sub("rated_share").error(
                f"{what}是定性与定量结合指标，scoring.rated_share（评档部分所占比例）应为 0 与 1 之间的数，实际是 {share!r}")
    elif share is not None:
        raise sub("rated_share").error(f"{what}是定量指标，没有评档部分，不设 rated_share")
    sample = scoring.get("min_sample")
    if source == "survey":
        if isinstance(sample, bool) or not isinstance(sample, int) or sample < 2:
            raise sub("min_sample").error(f"{what}来自满意度问卷，须设最少有效样本数 min_sample（不小于 2 的整数）")
        if level != "score":
            raise sub("level").error(f"{what}来自满意度问卷，scoring.level 应为 score（按满意度指数折算）")
    elif sample is not None:
        raise sub("min_sample").error(f"{what}不是问卷指标，不设 min_sample")


def _validate_rubric(rubric: Any, rec: _Record) -> None:
    what = rec.label
    origin = rec.origin("rubric")
    if rubric is None:
        raise origin.error(f"{what}是{KINDS[rec.fields['kind']]}指标，必须设评分档次 rubric（至少 {MIN_RUBRIC_LEVELS} 档）")
    _require_list(rubric, origin, f"{what}的 rubric ")
    if len(rubric) < MIN_RUBRIC_LEVELS:
        raise origin.error(f"{what}的 rubric 只有 {len(rubric)} 档，至少需要 {MIN_RUBRIC_LEVELS} 档")
    previous = None
    labels, descriptors = set(), set()
    for i, level in enumerate(rubric):
        at = _Origin(origin.doc, origin.path + (i,))
        _require_mapping(level, at, f"{what}的 rubric 第 {i + 1} 档")
        _check_keys(level, RUBRIC_LEVEL_KEYS, RUBRIC_LEVEL_KEYS, at, f"{what}的 rubric 第 {i + 1} 档")
        value = _require_int(level["value"], _Origin(at.doc, at.path + ("value",)), f"{what}的 rubric 第 {i + 1} 档 value ")
        if previous is not None and value >= previous:
            raise _Origin(at.doc, at.path + ("value",)).error(
                f"{what}的 rubric 档次须按 value 由高到低排列且不重复：第 {i + 1} 档 value={value} 不小于上一档 {previous}")
        previous = value
        label = _require_text(level["label"], _Origin(at.doc, at.path + ("label",)), f"{what}的 rubric 第 {i + 1} 档 label ")
        descriptor = _require_text(level["descriptor"], _Origin(at.doc, at.path + ("descriptor",)),
                                   f"{what}的 rubric 第 {i + 1} 档 descriptor ")
        if label in labels:
            raise _Origin(at.doc, at.path + ("label",)).error(f"{what}的 rubric 档次名称 “{label}” 重复")
        if descriptor.strip() in descriptors:
            raise _Origin(at.doc, at.path + ("descriptor",)).error(f"{what}的 rubric 第 {i + 1} 档 descriptor 与其他档次相同")
        labels.add(label)
        descriptors.add(descriptor.strip())


def _validate_measures(measures: Any, rec: _Record) -> None:
    what = rec.label
    origin = rec.origin("measures")
    if not measures:
        raise origin.error(f"{what}是{KINDS[rec.fields['kind']]}指标，必须列出需要填报的数值 measures")
    _require_list(measures, origin, f"{what}的 measures ")
    keys = set()
    for i, measure in enumerate(measures):
        at = _Origin(origin.doc, origin.path + (i,))
        _require_mapping(measure, at, f"{what}的 measures 第 {i + 1} 项")
        _check_keys(measure, MEASURE_KEYS, {"key", "label", "unit"}, at, f"{what}的 measures 第 {i + 1} 项")
        key = measure["key"]
        if not isinstance(key, str) or not MEASURE_KEY_PATTERN.fullmatch(key):
            raise at.error(f"{what}的 measures 第 {i + 1} 项 key “{key}” 应由小写字母、数字和下划线组成")
        if key in keys:
            raise at.error(f"{what}的 measures 中 key “{key}” 重复")
        keys.add(key)
        _require_text(measure["label"], at, f"{what}的 measures 第 {i + 1} 项 label ")
        _require_text(measure["unit"], at, f"{what}的 measures 第 {i + 1} 项 unit ")
        for flag in ("growth", "share"):
            if flag in measure:
                _require_bool(measure[flag], _Origin(at.doc, at.path + (flag,)), f"{what}的 measures 第 {i + 1} 项 {flag} ")
        if measure.get("direction", "higher") not in DIRECTIONS:
            raise at.error(f"{what}的 measures 第 {i + 1} 项 direction “{measure['direction']}” 无效，"
                           f"应为 {' / '.join(DIRECTIONS)} 之一")
        if "definition" not in measure:
            raise at.error(f"{what}的 measures 第 {i + 1} 项（{key}）缺少统计口径 definition（填报模板中给填报人看）")
        _require_text(measure["definition"], _Origin(at.doc, at.path + ("definition",)),
                      f"{what}的 measures 第 {i + 1} 项 definition ")


# ---------------------------------------------------------------- structure of a year

@dataclass
class _Tree:
    """A year's system while it is being resolved (mutable, unlike IndicatorSystem)."""
    year: int
    version: str
    title: str
    total_weight: float
    total_origin: _Origin
    level1: list[dict]            # {no, name, category, level2: [{no, name, records: [_Record]}]}
    max_no_ever: int              # numbers of retired indicators are never reused
    derive_from: int | None = None

    def records(self) -> list[_Record]:
        return [rec for l1 in self.level1 for l2 in l1["level2"] for rec in l2["records"]]

    def find(self, no: int) -> tuple[dict, int] | None:
        for l1 in self.level1:
            for l2 in l1["level2"]:
                for i, rec in enumerate(l2["records"]):
                    if rec.fields["no"] == no:
                        return l2, i
        return None

    def level2(self, no: int) -> dict | None:
        for l1 in self.level1:
            for l2 in l1["level2"]:
                if l2["no"] == no:
                    return l2
        return None


def _year_file(rubrics_dir: Path, year: int) -> Path:
    return rubrics_dir / "indicators" / f"{year}.yaml"


def available_years(rubrics_dir: Path | None = None) -> list[int]:
    folder = Path(rubrics_dir or RUBRICS_DIR) / "indicators"
    if not folder.is_dir():
        return []
    return sorted(int(p.stem) for p in folder.glob("*.yaml") if re.fullmatch(r"\d{4}", p.stem))


def _load_tree(rubrics_dir: Path, year: int, chain: tuple[int, ...] = ()) -> _Tree:
    if year in chain:
        cycle = " → ".join(str(y) for y in chain + (year,))
        raise RubricError(f"指标体系的派生关系出现循环：{cycle}")
    years = available_years(rubrics_dir)
    if year not in years:
        listed = "、".join(str(y) for y in years) or "（无）"
        raise RubricError(f"没有 {year} 年的指标体系文件（{_display(_year_file(rubrics_dir, year))}）。可用年份：{listed}")
    doc = _Doc(_year_file(rubrics_dir, year))
    top = _Origin(doc, ())
    data = _require_mapping(doc.data, top, "指标体系文件顶层")
    derived = "derive_from" in data
    allowed = DERIVED_KEYS if derived else BASE_KEYS
    required = {"year", "version", "derive_from", "changes"} if derived else \
        {"year", "version", "title", "total_weight", "level1"}
    _check_keys(data, allowed, required, top, "指标体系文件顶层")
    if _require_int(data["year"], _Origin(doc, ("year",)), "year ") != year:
        raise doc.error(("year",), f"year 为 {data['year']}，与文件名 {year}.yaml 不一致")
    version = _require_text(data["version"], _Origin(doc, ("version",)), "version ")
    if derived:
        return _derive(rubrics_dir, doc, data, year, str(version), chain + (year,))
    return _base_tree(doc, data, year, str(version))


def _require_weight_total(value: Any, origin: _Origin) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise origin.error(f"total_weight 应为正数，实际是 {value!r}")
    return float(value)


def _base_tree(doc: _Doc, data: dict, year: int, version: str) -> _Tree:
    title = _require_text(data["title"], _Origin(doc, ("title",)), "title ")
    total = _require_weight_total(data["total_weight"], _Origin(doc, ("total_weight",)))
    level1_list = _require_list(data["level1"], _Origin(doc, ("level1",)), "level1 ")
    tree = _Tree(year, version, title, total, _Origin(doc, ("total_weight",)), [], 0)
    next_l2 = next_no = 1
    for i, l1 in enumerate(level1_list):
        p1 = ("level1", i)
        o1 = _Origin(doc, p1)
        _require_mapping(l1, o1, "一级指标")
        _check_keys(l1, LEVEL1_KEYS, LEVEL1_KEYS, o1, "一级指标")
        no1 = _require_int(l1["no"], _Origin(doc, p1 + ("no",)), "一级指标编号 no ")
        if no1 != i + 1:
            raise doc.error(p1 + ("no",), f"一级指标编号应按顺序为 {i + 1}，实际是 {no1}")
        name1 = _require_text(l1["name"], _Origin(doc, p1 + ("name",)), "一级指标 name ")
        if l1["category"] not in CATEGORIES:
            raise doc.error(p1 + ("category",),
                            f"一级指标「{name1}」的 category “{l1['category']}” 无效，应为 {'、'.join(CATEGORIES)} 之一")
        node1 = {"no": no1, "name": name1, "category": l1["category"], "level2": []}
        for j, l2 in enumerate(_require_list(l1["level2"], _Origin(doc, p1 + ("level2",)), f"一级指标「{name1}」的 level2 ")):
            p2 = p1 + ("level2", j)
            o2 = _Origin(doc, p2)
            _require_mapping(l2, o2, "二级指标")
            _check_keys(l2, LEVEL2_KEYS, LEVEL2_KEYS, o2, "二级指标")
            no2 = _require_int(l2["no"], _Origin(doc, p2 + ("no",)), "二级指标编号 no ")
            if no2 != next_l2:
                raise doc.error(p2 + ("no",), f"二级指标编号应按顺序为 {next_l2}，实际是 {no2}")
            next_l2 += 1
            name2 = _require_text(l2["name"], _Origin(doc, p2 + ("name",)), "二级指标 name ")
            node2 = {"no": no2, "name": name2, "records": []}
            items = _require_list(l2["indicators"], _Origin(doc, p2 + ("indicators",)), f"二级指标「{name2}」的 indicators ")
            for k, item in enumerate(items):
                p3 = p2 + ("indicators", k)
                rec = _record_from(item, doc, p3, no1, no2)
                no = rec.fields.get("no")
                if isinstance(no, int) and not isinstance(no, bool) and no != next_no:
                    problem = "重复" if any(r.fields["no"] == no for r in _records_so_far(tree, node1, node2)) else "不连续"
                    raise doc.error(p3 + ("no",), f"三级指标编号{problem}：此处应为 {next_no}，实际是 {no}")
                _validate_record(rec)
                next_no += 1
                node2["records"].append(rec)
            if not node2["records"]:
                raise doc.error(p2 + ("indicators",), f"二级指标「{name2}」下没有三级指标")
            node1["level2"].append(node2)
        if not node1["level2"]:
            raise doc.error(p1 + ("level2",), f"一级指标「{name1}」下没有二级指标")
        tree.level1.append(node1)
    tree.max_no_ever = next_no - 1
    _check_expected_counts(doc, data, tree)
    _check_total(tree)
    return tree


def _records_so_far(tree: _Tree, *pending: dict) -> list[_Record]:
    """Records already placed, including those of level nodes not yet attached to the tree."""
    seen = tree.records()
    for node in pending:
        if "records" in node:
            seen += node["records"]
        else:
            seen += [r for l2 in node["level2"] for r in l2["records"]]
    return seen


def _check_expected_counts(doc: _Doc, data: dict, tree: _Tree) -> None:
    if "expected_counts" not in data:
        return
    origin = _Origin(doc, ("expected_counts",))
    expected = _require_mapping(data["expected_counts"], origin, "expected_counts ")
    _check_keys(expected, {"level1", "level2", "indicators"}, set(), origin, "expected_counts ")
    actual = {"level1": len(tree.level1),
              "level2": sum(len(l1["level2"]) for l1 in tree.level1),
              "indicators": len(tree.records())}
    names = {"level1": "一级指标", "level2": "二级指标", "indicators": "三级指标"}
    for key, want in expected.items():
        if actual[key] != want:
            raise doc.error(("expected_counts", key), f"应有 {want} 个{names[key]}，文件中实际有 {actual[key]} 个")


def _check_total(tree: _Tree) -> None:
    total = _round_weight(sum(float(rec.fields["weight"]) for rec in tree.records()))
    if not math.isclose(total, tree.total_weight, abs_tol=1e-6):
        raise tree.total_origin.error(
            f"{tree.year} 年各三级指标 weight 合计为 {total:g} 分，与 total_weight {tree.total_weight:g} 不一致")


def _derive(rubrics_dir: Path, doc: _Doc, data: dict, year: int, version: str, chain: tuple[int, ...]) -> _Tree:
    parent_year = _require_int(data["derive_from"], _Origin(doc, ("derive_from",)), "derive_from ")
    if parent_year >= year:
        raise doc.error(("derive_from",), f"derive_from 应为更早的年份，{year} 年不能派生自 {parent_year} 年")
    if parent_year not in available_years(rubrics_dir):
        listed = "、".join(str(y) for y in available_years(rubrics_dir))
        raise doc.error(("derive_from",), f"derive_from 指向的 {parent_year} 年指标体系不存在。可用年份：{listed}")
    parent = _load_tree(rubrics_dir, parent_year, chain)
    tree = _Tree(year, version, parent.title, parent.total_weight, parent.total_origin,
                 [{**l1, "level2": [{**l2, "records": list(l2["records"])} for l2 in l1["level2"]]}
                  for l1 in parent.level1],
                 parent.max_no_ever, derive_from=parent_year)
    if "title" in data:
        tree.title = _require_text(data["title"], _Origin(doc, ("title",)), "title ")
    if "total_weight" in data:
        tree.total_weight = _require_weight_total(data["total_weight"], _Origin(doc, ("total_weight",)))
        tree.total_origin = _Origin(doc, ("total_weight",))
    else:
        # A sum broken by this year's changes is this file's fault, not the parent's.
        tree.total_origin = _Origin(doc, ("changes",))
    changes = _require_list(data["changes"], _Origin(doc, ("changes",)), "changes ")
    for i, change in enumerate(changes):
        _apply_change(tree, doc, ("changes", i), change, parent_year)
    _check_total(tree)
    return tree


def _apply_change(tree: _Tree, doc: _Doc, path: tuple, change: Any, parent_year: int) -> None:
    origin = _Origin(doc, path)
    what = f"changes 第 {path[-1] + 1} 项"
    _require_mapping(change, origin, what)
    op = change.get("op")
    if op not in CHANGE_KEYS:
        raise doc.error(path + ("op",), f"{what}的 op “{op}” 无效，应为 {' / '.join(CHANGE_KEYS)} 之一")
    _check_keys(change, CHANGE_KEYS[op], CHANGE_KEYS[op], origin, what)
    _require_text(change["reason"], _Origin(doc, path + ("reason",)), f"{what}的 reason（调整理由）")

    if op == "add":
        l2_no = _require_int(change["level2"], _Origin(doc, path + ("level2",)), f"{what}的 level2 ")
        l2 = tree.level2(l2_no)
        if l2 is None:
            raise doc.error(path + ("level2",), f"{what}：{parent_year} 年指标体系中没有编号为 {l2_no} 的二级指标")
        rec = _record_from(change["indicator"], doc, path + ("indicator",), _level1_of(tree, l2_no), l2_no)
        no = rec.fields.get("no")
        _require_int(no, rec.origin("no"), f"{what}新增指标的编号 no ")
        if no <= tree.max_no_ever:
            raise rec.origin("no").error(
                f"{what}：新增指标编号 {no} 已被使用过（含已停用的编号），应大于 {tree.max_no_ever}")
        _validate_record(rec)
        l2["records"].append(rec)
        tree.max_no_ever = no
        return

    no = _require_int(change["indicator"], _Origin(doc, path + ("indicator",)), f"{what}的 indicator ")
    found = tree.find(no)
    if found is None:
        raise doc.error(path + ("indicator",), f"{what}：{parent_year} 年指标体系中没有编号为 {no} 的三级指标")
    l2, index = found
    if op == "retire":
        del l2["records"][index]
        return
    updates = _require_mapping(change["set"], _Origin(doc, path + ("set",)), f"{what}的 set ")
    if not updates:
        raise doc.error(path + ("set",), f"{what}的 set 为空，没有要修改的字段")
    for key in updates:
        if key not in UPDATABLE_KEYS:
            raise doc.error(path + ("set", key),
                            f"{what}：字段 “{key}” 不能修改；可修改的字段：{'、'.join(sorted(UPDATABLE_KEYS))}")
    old = l2["records"][index]
    fields = dict(old.fields)
    origins = dict(old.origins)
    for key, value in updates.items():
        origins[key] = _Origin(doc, path + ("set", key))
        if value is None:  # null removes an optional field, e.g. the rubric when a kind becomes quantitative
            fields.pop(key, None)
        else:
            fields[key] = value
    rec = _Record(fields, origins, _Origin(doc, path), old.level1_no, old.level2_no)
    _validate_record(rec)
    l2["records"][index] = rec


def _level1_of(tree: _Tree, level2_no: int) -> int:
    for l1 in tree.level1:
        if any(l2["no"] == level2_no for l2 in l1["level2"]):
            return l1["no"]
    raise AssertionError(level2_no)


# ---------------------------------------------------------------- freezing

def _freeze(tree: _Tree, vocabulary: dict[int, tuple[str, ...]]) -> IndicatorSystem:
    indicators: list[Indicator] = []
    level1: list[Level1] = []
    for l1 in tree.level1:
        level2s = []
        for l2 in l1["level2"]:
            for rec in l2["records"]:
                f = rec.fields
                indicators.append(Indicator(
                    no=f["no"], name=str(f["name"]), meaning=str(f["meaning"]),
                    level1_no=l1["no"], level1=l1["name"], level2_no=l2["no"], level2=l2["name"],
                    kind=f["kind"], kind_reason=str(f["kind_reason"]), weight=float(f["weight"]),
                    evidence_kinds=tuple(f["evidence_kinds"]),
                    rubric=tuple(RubricLevel(lv["value"], str(lv["label"]), str(lv["descriptor"]).strip())
                                 for lv in (f.get("rubric") or [])),
                    measures=tuple(Measure(m["key"], str(m["label"]), str(m["unit"]),
                                           bool(m.get("growth", False)), bool(m.get("share", False)),
                                           m.get("direction", "higher"), str(m.get("definition", "")))
                                   for m in (f.get("measures") or [])),
                    terms=vocabulary.get(f["no"], ()),
                    source=f.get("source", "review"),
                    scoring=_freeze_scoring(f.get("scoring")),
                ))
            level2s.append(Level2(l2["no"], l2["name"], tuple(rec.fields["no"] for rec in l2["records"])))
        level1.append(Level1(l1["no"], l1["name"], l1["category"], level2s))
    return IndicatorSystem(year=tree.year, version=tree.version, title=tree.title,
                           indicators=indicators, level1=level1, derive_from=tree.derive_from)


def _freeze_scoring(raw: dict | None) -> Scoring | None:
    if raw is None:
        return None
    level = raw["level"]
    bands = lambda v: tuple(sorted(((float(a), float(b)) for a, b in v), reverse=True))
    return Scoring(level=bands(level) if isinstance(level, list) else level,
                   growth=bands(raw.get("growth") or []),
                   target=tuple((k, float(v)) for k, v in (raw.get("target") or {}).items()),
                   blend=tuple((k, float(v)) for k, v in raw["blend"].items()),
                   rated_share=float(raw["rated_share"]) if raw.get("rated_share") is not None else None,
                   min_sample=raw.get("min_sample"))


def _vocabulary_terms(rubrics_dir: Path) -> dict[int, tuple[str, ...]]:
    """Terms per indicator from vocabulary.yaml (owned by the tagger); absent or broken → none."""
    path = rubrics_dir / "vocabulary.yaml"
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        # The tagger validates its own file; a broken vocabulary must not stop scoring.
        warnings.warn(f"{_display(path)} 无法读取，指标检索词暂不可用：{exc}", stacklevel=3)
        return {}
    entries = data.get("indicators") if isinstance(data, dict) else None
    terms: dict[int, tuple[str, ...]] = {}
    for key, spec in (entries or {}).items():
        try:
            no = int(key)
        except (TypeError, ValueError):
            continue
        if not isinstance(spec, dict):
            continue
        words = [str(w) for w in spec.get("terms") or [] if isinstance(w, (str, int))]
        synonyms = spec.get("synonyms")
        if isinstance(synonyms, dict):
            words += [str(w) for w in synonyms]
        terms[no] = tuple(dict.fromkeys(w for w in words if w.strip()))
    return terms


@lru_cache(maxsize=32)
def _load_system_cached(rubrics_dir: Path, year: int) -> IndicatorSystem:
    return _freeze(_load_tree(rubrics_dir, year), _vocabulary_terms(rubrics_dir))


def load_system(year: int | None = None, rubrics_dir: Path | None = None) -> IndicatorSystem:
    """The indicator system of ``year`` (default: the latest year that has a file)."""
    folder = Path(rubrics_dir or RUBRICS_DIR).resolve()
    if year is None:
        years = available_years(folder)
        if not years:
            raise RubricError(f"{_display(folder / 'indicators')} 下没有任何年度指标体系文件（如 2022.yaml）")
        year = years[-1]
    return _load_system_cached(folder, int(year))


def system_in_force(year: int, rubrics_dir: Path | None = None) -> IndicatorSystem:
    """The indicator system a round of ``year`` uses: the latest file not newer than the year.

    A year without its own file keeps the rules last set (意见: 指标保持相对稳定); a year before
    the first file uses the first one.
    """
    folder = Path(rubrics_dir or RUBRICS_DIR).resolve()
    years = available_years(folder)
    if not years:
        return load_system(None, folder)  # raises the "no file" error
    return load_system(max((y for y in years if y <= int(year)), default=min(years)), folder)


def clear_cache() -> None:
    """Forget loaded systems and units, e.g. after a rubric file was edited."""
    _load_system_cached.cache_clear()
    _load_units_cached.cache_clear()


# ---------------------------------------------------------------- units

@lru_cache(maxsize=8)
def _load_units_cached(rubrics_dir: Path) -> tuple[Unit, ...]:
    doc = _Doc(rubrics_dir / "units.yaml")
    top = _Origin(doc, ())
    data = _require_mapping(doc.data, top, "单位文件顶层")
    _check_keys(data, {"units"}, {"units"}, top, "单位文件顶层")
    units: list[Unit] = []
    seen: set[str] = set()
    for i, item in enumerate(_require_list(data["units"], _Origin(doc, ("units",)), "units ")):
        at = _Origin(doc, ("units", i))
        _require_mapping(item, at, f"第 {i + 1} 个单位")
        _check_keys(item, UNIT_KEYS, {"code", "name", "short_name"}, at, f"第 {i + 1} 个单位")
        code = _require_text(item["code"], _Origin(doc, ("units", i, "code")), "单位代码 code ")
        if code in seen:
            raise doc.error(("units", i, "code"), f"单位代码 {code} 重复")
        seen.add(code)
        aliases = item.get("aliases") or []
        _require_list(aliases, _Origin(doc, ("units", i, "aliases")), f"单位 {code} 的 aliases ")
        units.append(Unit(code=code, gb_code=str(item.get("gb_code") or ""),
                          name=_require_text(item["name"], _Origin(doc, ("units", i, "name")), "单位名称 name "),
                          short_name=_require_text(item["short_name"], _Origin(doc, ("units", i, "short_name")),
                                                   "单位简称 short_name "),
                          aliases=tuple(str(a) for a in aliases)))
    return tuple(units)


def load_units(rubrics_dir: Path | None = None) -> list[Unit]:
    return list(_load_units_cached(Path(rubrics_dir or RUBRICS_DIR).resolve()))


def get_unit(code: str, rubrics_dir: Path | None = None) -> Unit:
    units = load_units(rubrics_dir)
    for unit in units:
        if unit.code == code:
            return unit
    raise RubricError(f"未知的单位代码 “{code}”；可用代码：{'、'.join(u.code for u in units)}")
