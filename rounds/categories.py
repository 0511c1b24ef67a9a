"""Evaluation categories (类别), thresholds and their consequences.

产改字〔2022〕1号 （七）: four categories, from high to low 优秀、良好、一般、差;
the first year's categories are set by the 协调小组办公室; from 2022 on they
follow the self-evaluation and the spot check.  （八）: 优秀 gets a larger
nomination quota; 连续被评为一般和差 leads to 批评、约谈、限期督查整改.
"""
from __future__ import annotations

from dataclasses import dataclass

EXCELLENT, GOOD, FAIR, POOR = "优秀", "良好", "一般", "差"
CATEGORIES = (EXCELLENT, GOOD, FAIR, POOR)  # high -> low
CATEGORY_RANK = {name: rank for rank, name in enumerate(CATEGORIES)}  # 0 is best
# The seed text says "较差" once where it means the lowest category.
CATEGORY_ALIASES = {"较差": POOR}
# Categories that, two years running, trigger 批评、约谈、限期督查整改.
WEAK = frozenset({FAIR, POOR})

DEFAULT_THRESHOLDS = {EXCELLENT: 90.0, GOOD: 75.0, FAIR: 60.0}
# How a category was decided (CategoryDecision.source), as the office reads it.
DECISION_SOURCES = {"initial": "首年认定", "spotcheck": "抽查评估", "self": "采用自评", "adjusted": "办公室调整"}


class CategoryError(ValueError):
    """Bad thresholds or category input; the message is for the user (Chinese)."""


def normalise_category(value: str | None) -> str | None:
    """Return the canonical category name; None stays None (no category yet)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        text = CATEGORY_ALIASES.get(text, text)
        if text in CATEGORY_RANK:
            return text
    raise CategoryError(f"无法识别的类别：{value!r}（应为：{'、'.join(CATEGORIES)}）")


@dataclass(frozen=True)
class Thresholds:
    """Lowest score (0–100) for 优秀, 良好, 一般; anything below 一般 is 差."""
    excellent: float
    good: float
    fair: float

    def as_dict(self) -> dict[str, float]:
        return {EXCELLENT: self.excellent, GOOD: self.good, FAIR: self.fair}


def validate_thresholds(raw: dict) -> Thresholds:
    """Check a {类别: 最低分} table: 优秀 > 良好 > 一般, all within 0–100."""
    if isinstance(raw, Thresholds):
        return raw
    if not isinstance(raw, dict):
        raise CategoryError("分数线应为“类别: 最低分”的对应表。")
    unknown = [k for k in raw if k not in CATEGORY_RANK]
    if unknown:
        raise CategoryError(f"分数线中有无法识别的类别：{'、'.join(map(str, unknown))}")
    if POOR in raw and raw[POOR] not in (0, None):
        raise CategoryError("“差”为低于“一般”分数线的其余情形，无需设定分数线（可省略或设为0）。")
    values: dict[str, float] = {}
    for name in (EXCELLENT, GOOD, FAIR):
        if name not in raw:
            raise CategoryError(f"缺少“{name}”的分数线。")
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CategoryError(f"“{name}”的分数线必须是数字，收到：{value!r}")
        if not 0 <= value <= 100:
            raise CategoryError(f"“{name}”的分数线 {value} 超出0–100的范围。")
        values[name] = float(value)
    if not values[EXCELLENT] > values[GOOD] > values[FAIR]:
        raise CategoryError(
            f"分数线必须严格递减（优秀 > 良好 > 一般），收到：优秀 {values[EXCELLENT]:g}、"
            f"良好 {values[GOOD]:g}、一般 {values[FAIR]:g}。")
    if values[FAIR] <= 0:
        raise CategoryError("“一般”的分数线必须大于0，否则不会有单位被认定为“差”。")
    return Thresholds(values[EXCELLENT], values[GOOD], values[FAIR])


def thresholds_for_year(table: dict[int, dict], year: int) -> Thresholds:
    """The thresholds set for `year`, else those of the latest earlier year."""
    usable = [y for y in table if int(y) <= year]
    if not usable:
        raise CategoryError(f"未设定 {year} 年（及以前年度）的类别分数线。")
    return validate_thresholds(table[max(usable, key=int)])


def category_for(score: float, thresholds: dict | Thresholds) -> str:
    t = validate_thresholds(thresholds)
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100:
        raise CategoryError(f"得分 {score!r} 不在0–100的范围内。")
    if score >= t.excellent:
        return EXCELLENT
    if score >= t.good:
        return GOOD
    if score >= t.fair:
        return FAIR
    return POOR


@dataclass
class CategoryDecision:
    code: str
    category: str
    basis: str            # where the category came from, in Chinese
    computed: str | None  # category before any office adjustment
    notes: list[str]


def decide_category(code: str, *, spot_checked: bool, score: float | None = None,
                    thresholds: dict | Thresholds | None = None, self_category: str | None = None,
                    office_category: str | None = None, office_reason: str | None = None,
                    initial: bool = False) -> CategoryDecision:
    """One unit's category for the year.

    * initial year: the office sets it (office_category required);
    * spot-checked: from the score and the year's thresholds;
    * otherwise: the self-category.
    An office adjustment (office_category outside the initial year) needs a reason.
    """
    office_category = normalise_category(office_category)
    reason = (office_reason or "").strip()
    if initial:
        if office_category is None:
            raise CategoryError(f"{code}：初始类别须由协调小组办公室认定。")
        return CategoryDecision(code, office_category, "初始类别由协调小组办公室认定", None,
                                [reason] if reason else [])
    if spot_checked:
        if score is None or thresholds is None:
            raise CategoryError(f"{code} 为抽查单位，须有评价得分和分数线才能认定类别。")
        computed = category_for(score, thresholds)
        basis = f"抽查评估得分 {score:.2f}"
    else:
        computed = normalise_category(self_category)
        if computed is None:
            raise CategoryError(f"{code} 未被抽查且未报送自评类别，无法认定类别。")
        basis = "未被抽查，采用自评类别"
    if office_category is None or office_category == computed:
        return CategoryDecision(code, computed, basis, computed, [])
    if not reason:
        raise CategoryError(f"{code}：协调小组办公室调整类别（{computed}→{office_category}）须说明理由。")
    return CategoryDecision(code, office_category, f"{basis}，经协调小组办公室调整", computed,
                            [f"由“{computed}”调整为“{office_category}”：{reason}"])


@dataclass(frozen=True)
class Flag:
    kind: str     # "honour_quota" or "rectification"
    year: int
    message: str


HONOUR_QUOTA = "honour_quota"
RECTIFICATION = "rectification"


def flags_for(history: dict[int, str | None], year: int) -> list[Flag]:
    """The consequences （八） attaches to a unit's category in `year`."""
    history = {int(y): normalise_category(c) for y, c in history.items()}
    current = history.get(year)
    flags: list[Flag] = []
    if current == EXCELLENT:
        flags.append(Flag(HONOUR_QUOTA, year,
                          f"{year}年度获评优秀：全国五一劳动奖和工人先锋号推荐名额予以适当倾斜，"
                          "鼓励各成员单位加大评优表彰力度。"))
    previous = history.get(year - 1)
    if current in WEAK and previous in WEAK:
        flags.append(Flag(RECTIFICATION, year,
                          f"连续被评为一般和差（{year - 1}年{previous}、{year}年{current}）："
                          "协调小组予以批评、约谈，限期督查整改。"))
    return flags
