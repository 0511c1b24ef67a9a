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
