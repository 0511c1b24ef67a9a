"""Charts come out as PNG bytes and SVG text, with a CJK font when one exists."""

from __future__ import annotations

import io
import subprocess

import pytest

from test_reports_samples import sample_year_report

pytest.importorskip("matplotlib")

from reports import charts  # noqa: E402
from reports.model import LEVEL1_INDICATORS  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.size


def test_png_and_svg_outputs():
    counts = sample_year_report().counts()
    png = charts.category_distribution(counts)
    assert png.startswith(PNG_MAGIC)
    width, height = png_size(png)
    assert width > 600 and height > 300  # printable resolution for a 12 cm wide figure
    svg = charts.category_distribution(counts, fmt="svg")
    assert isinstance(svg, str) and "<svg" in svg


def test_year_over_year_and_radar_render():
    report = sample_year_report()
    assert charts.year_over_year(report.counts(), report.previous_year_counts, year=2023).startswith(PNG_MAGIC)
    unit = report.units[0]
    svg = charts.radar(unit.level1_scores, label=unit.name, maxima=report.level1_max, fmt="svg")
    assert "<svg" in svg


def test_radar_svg_changes_with_scores():
    low = {k: 5.0 for k in LEVEL1_INDICATORS}
    high = {k: 19.0 for k in LEVEL1_INDICATORS}
    maxima = {k: 20.0 for k in LEVEL1_INDICATORS}
    assert charts.radar(low, maxima=maxima, fmt="svg") != charts.radar(high, maxima=maxima, fmt="svg")


def test_cjk_font_is_found_when_installed():
    listing = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    if not listing.strip():
        pytest.skip("no CJK font installed on this machine")
    charts.cjk_font_name.cache_clear()
    assert charts.cjk_font_name() is not None


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # the expected tofu
def test_missing_cjk_font_warns_and_still_draws(monkeypatch):
    monkeypatch.setattr(charts, "PREFERRED_FONTS", ())

    def no_fc_list(*args, **kwargs):
        raise OSError("fc-list missing")

    monkeypatch.setattr(charts.subprocess, "run", no_fc_list)
    charts.cjk_font_name.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="No CJK font"):
            assert charts.cjk_font_name() is None
        assert charts.category_distribution({"优秀": 1}).startswith(PNG_MAGIC)
    finally:
        charts.cjk_font_name.cache_clear()


@pytest.mark.parametrize("draw", [
    lambda: charts.year_over_year({}, {}, year=2024, fmt="svg"),
    lambda: charts.year_over_year({"优秀": 0}, {"良好": 0}, year=2024, fmt="svg"),
    lambda: charts.category_distribution({}, fmt="svg"),
    lambda: charts.radar({}, fmt="svg"),
])
def test_an_empty_chart_says_so_instead_of_drawing_bare_axes(draw):
    svg = draw()
    assert "暂无数据" in svg  # matplotlib keeps drawn text as a comment beside its outline
    assert 'id="patch_2"' not in svg and 'id="xtick_1"' not in svg  # no bars, no axis ticks


def test_a_unit_scoring_zero_is_drawn_not_called_empty():
    assert "暂无数据" not in charts.radar({k: 0.0 for k in LEVEL1_INDICATORS}, fmt="svg")


def _legend_colours(svg: str) -> list[str]:
    import re
    legend = svg.split('<g id="legend_1">', 1)[1]
    return [c.lower() for c in re.findall(r"(?:fill|stroke): ?(#[0-9a-fA-F]{6})", legend)
            if c.lower() not in ("#ffffff", "#000000", "#cccccc")]


def test_legend_swatches_differ_year_from_year_and_unit_from_average():
    svg = charts.year_over_year({"优秀": 3, "良好": 10}, {"优秀": 2, "良好": 12}, year=2024, fmt="svg")
    assert len(set(_legend_colours(svg))) == 2
    maxima = {k: 20.0 for k in LEVEL1_INDICATORS}
    radar = charts.radar({k: 12.0 for k in LEVEL1_INDICATORS}, maxima=maxima,
                         reference={k: 10.0 for k in LEVEL1_INDICATORS}, label="江苏省", fmt="svg")
    assert len(set(_legend_colours(radar))) == 2
