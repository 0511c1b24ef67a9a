"""Charts for reports and web pages: PNG bytes for DOCX, SVG text for HTML.

Needs matplotlib (Agg backend, no display).  Chinese labels need a CJK font;
one is looked up among matplotlib's known fonts and, failing that, via
``fc-list :lang=zh``.  Without one the charts are still produced (a warning is
issued) but the Chinese characters show as boxes.
"""

from __future__ import annotations

import functools
import io
import math
import subprocess
import threading
import warnings
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from .model import CATEGORIES, LEVEL1_INDICATORS  # noqa: E402

Format = Literal["png", "svg"]

# sans fonts read better in small chart labels; Windows names first for dev machines
PREFERRED_FONTS = (
    "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei",
    "Microsoft YaHei", "Noto Sans CJK JP", "Noto Serif CJK SC", "Noto Serif CJK JP",
)
CATEGORY_COLORS = {"优秀": "#C00000", "良好": "#E69138", "一般": "#6D9EEB", "差": "#7F7F7F"}


@functools.lru_cache(maxsize=1)
def cjk_font_name() -> str | None:
    """Name of an installed font that covers Chinese, or None (with a warning)."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    for name in PREFERRED_FONTS:
        if name in known:
            return name
    try:
        listing = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True,
                                 text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        listing = ""
    for line in listing.splitlines():
        path = line.split(":")[0].strip()
        if not path:
            continue
        try:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError):
            continue
    warnings.warn("No CJK font found for charts; Chinese labels will not render "
                  "(install fonts-noto-cjk or fonts-wqy-zenhei)", RuntimeWarning, stacklevel=2)
    return None


def _style() -> dict:
    font = cjk_font_name()
    rc = {"axes.unicode_minus": False, "font.size": 11, "svg.fonttype": "path"}
    if font:
        rc["font.family"] = "sans-serif"
        rc["font.sans-serif"] = [font, "DejaVu Sans"]
    return rc


def _export(fig, fmt: Format, dpi: int = 200) -> bytes | str:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi if fmt == "png" else None, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    return data if fmt == "png" else data.decode("utf-8")


NO_DATA = "暂无数据"


def _no_data(title: str, fmt: Format, size=(6, 3.4)) -> bytes | str:
    """An empty chart says so in words instead of drawing bare axes."""
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=size)
        ax.set_axis_off()
        ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", fontsize=16, color="#7F7F7F", transform=ax.transAxes)
        if title:
            ax.set_title(title)
        return _export(fig, fmt)


def _has_data(*series: dict) -> bool:
    return any(value for values in series for value in values.values())


# matplotlib's rcParams are process-global: charts drawn at once by two web requests (threads) would
# restore each other's fonts mid-drawing, so one chart is drawn at a time.
_drawing = threading.Lock()


def _one_at_a_time(draw):
    @functools.wraps(draw)
    def locked(*args, **kwargs):
        with _drawing:
            return draw(*args, **kwargs)
    return locked


@_one_at_a_time
def category_distribution(counts: dict[str, int], *, title: str = "评价类别分布",
                          fmt: Format = "png") -> bytes | str:
    """Bar chart of how many units fall in each category."""
    if not _has_data(counts):
        return _no_data(title, fmt)
    labels = [c for c in CATEGORIES if c in counts] + [c for c in counts if c not in CATEGORIES]
    values = [counts[c] for c in labels]
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(6, 3.4))
        bars = ax.bar(labels, values, color=[CATEGORY_COLORS.get(c, "#999999") for c in labels], width=0.55)
        ax.bar_label(bars, labels=[f"{v}个" for v in values], padding=2)
        ax.set_yticks([])  # the bar labels carry the numbers
        if title:
            ax.set_title(title)
        ax.set_ylim(0, max(values + [1]) * 1.2)
        ax.spines[["top", "right"]].set_visible(False)
        return _export(fig, fmt)


@_one_at_a_time
def year_over_year(current: dict[str, int], previous: dict[str, int], *, year: int,
                   title: str = "评价类别年度对比", fmt: Format = "png") -> bytes | str:
    """Grouped bars: previous year vs this year, per category (each year its own colour in the legend)."""
    if not _has_data(current, previous):
        return _no_data(title, fmt)
    labels = [c for c in CATEGORIES if c in current or c in previous]
    x = range(len(labels))
    width = 0.36
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(6, 3.4))
        prev = ax.bar([i - width / 2 for i in x], [previous.get(c, 0) for c in labels], width,
                      label=f"{year - 1}年度", color="#BFBFBF")
        cur = ax.bar([i + width / 2 for i in x], [current.get(c, 0) for c in labels], width,
                     label=f"{year}年度", color="#C00000")
        ax.bar_label(prev, padding=2)
        ax.bar_label(cur, padding=2)
        ax.set_xticks(list(x), labels)
        ax.set_yticks([])
        if title:
            ax.set_title(title)
        top = max([*current.values(), *previous.values(), 1])
        ax.set_ylim(0, top * 1.25)
        ax.legend(frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        return _export(fig, fmt)


@_one_at_a_time
def radar(scores: dict[str, float | None], *, title: str = "", label: str = "", maxima: dict[str, float] | None = None,
          reference: dict[str, float] | None = None, reference_label: str = "全国平均",
          fmt: Format = "png") -> bytes | str:
    """Radar of one unit over the first-level indicators.

    Scores are drawn as a share of ``maxima`` (indicator weights) when given,
    because raw points are not comparable across indicators with different weights.
    A score of None (nothing scored there yet) keeps its axis, labelled 未评, and is left out of
    the line instead of being drawn as 0.
    """
    if not any(value is not None for value in scores.values()):  # a unit scoring 0 is data, nothing is not
        return _no_data(title, fmt, size=(4.2, 4.2))
    labels = [k for k in LEVEL1_INDICATORS if k in scores] + [k for k in scores if k not in LEVEL1_INDICATORS]

    def ratio(values: dict[str, float | None]) -> list[float]:
        """Shares of the maxima (or raw values); a group with nothing scored is NaN — drawn as a gap, not 0."""
        out = []
        for k in labels:
            value = values.get(k)
            if value is None:
                out.append(math.nan)
            elif not maxima:
                out.append(float(value))
            else:
                out.append(float(value) / maxima[k] * 100 if maxima.get(k) else 0.0)
        return out

    angles = [2 * math.pi * i / len(labels) for i in range(len(labels))]
    closed = angles + angles[:1]
    values = ratio(scores)
    tick_labels = [k if not math.isnan(v) else f"{k}\n（未评）" for k, v in zip(labels, values)]
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(4.2, 4.2), subplot_kw={"polar": True})
        ax.set_theta_offset(math.pi / 2)
        ax.set_theta_direction(-1)
        if reference:
            ref = ratio(reference)
            ax.plot(closed, ref + ref[:1], color="#7F7F7F", linewidth=1, linestyle="--", label=reference_label)
        ax.plot(closed, values + values[:1], color="#C00000", linewidth=1.8, marker="o", markersize=3,
                label=label or title or None)
        if not any(math.isnan(v) for v in values):  # an area needs every corner
            ax.fill(closed, values + values[:1], color="#C00000", alpha=0.18)
        ax.set_xticks(angles, tick_labels, fontsize=12)
        top = 100 if maxima else max([v for v in values if not math.isnan(v)] + [1]) * 1.1
        ax.set_ylim(0, top)
        ax.tick_params(axis="y", labelsize=8)
        if title:
            ax.set_title(title, pad=18)
        if reference:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, frameon=False, fontsize=11)
        # a 专报 holds one radar per unit (32); 150 dpi keeps the DOCX small but printable
        return _export(fig, fmt, dpi=150)
