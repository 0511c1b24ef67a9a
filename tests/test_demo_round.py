"""`kaoping demo`: last year's round closed and complete for all 32 units, this year's open for uploads."""
from __future__ import annotations

import json
import re
from datetime import date

import openpyxl
from click.testing import CliRunner
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import Document, DocumentVersion, Round
from review_ui.demo import DEMO_PASSWORD, demo_file_names, demo_years, load_demo


def test_demo_round_is_complete_and_this_years_is_open_for_uploads(settings, login, tmp_path, monkeypatch):
    from review_ui.cli import main
    load_demo(settings)
    last, this = demo_years()
    with session_scope(settings.database_url) as session:
        rounds = {r.year: r for r in session.exec(select(Round))}
    assert rounds[last].status == "closed" and rounds[last].is_demo and rounds[this].is_demo
    assert rounds[this].self_assessment_due > date.today()

    runner = CliRunner()
    result = runner.invoke(main, ["--data-dir", str(settings.data_dir), "scores", "--year", str(last), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"year", "units"} and data["year"] == last and len(data["units"]) == 32
    for unit in data["units"]:
        assert set(unit) == {"code", "name", "total", "complete", "category", "indicators"}
        assert unit["complete"] and unit["category"] in ("优秀", "良好", "一般", "差")
        assert len(unit["indicators"]) == 88
        for ind in unit["indicators"]:
            assert set(ind) == {"no", "kind", "weight", "points", "basis"}
            assert 0 <= ind["points"] <= ind["weight"] and ind["basis"]
        assert abs(sum(i["points"] for i in unit["indicators"]) - unit["total"]) < 1e-6
    quantitative = [i["no"] for i in data["units"][0]["indicators"] if i["kind"] == "quantitative"]
    for no in quantitative:
        points = {next(i["points"] for i in u["indicators"] if i["no"] == no) for u in data["units"]}
        assert len(points) > 1, f"indicator {no} gives every unit the same points"

    out = tmp_path / "s.xlsx"
    result = runner.invoke(main, ["--data-dir", str(settings.data_dir), "scores", "--year", str(last), "--out", str(out)])
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out)["汇总"]
    from reports.scores_xlsx import HEADER_ROW
    header = [c.value for c in ws[HEADER_ROW]]
    codes = {u["code"] for u in data["units"]}
    totals = {row[0].value: row[header.index("总分")].value for row in ws.iter_rows(min_row=HEADER_ROW + 1)
              if row[0].value in codes}
    assert totals == {u["code"]: u["total"] for u in data["units"]}
    assert [row[0].value for row in ws.iter_rows(min_row=2) if row[0].value in codes] == [  # the national order
        u["code"] for u in data["units"]] and data["units"][0]["code"] == "BJ"
    assert any("演示数据" in str(row[0].value) for row in ws.iter_rows(min_row=2))  # marked as demo data

    # the open round's sample evidence is of its own year: named and dated in it
    with session_scope(settings.database_url) as session:
        samples = session.exec(select(Document, DocumentVersion).join(
            DocumentVersion, DocumentVersion.id == Document.current_version_id).where(Document.year == this)).all()
    assert {d.filename for d, _ in samples} == set(demo_file_names(this)) and len(samples) == 5
    for document, version in samples:
        assert document.filename.startswith(f"{this}年") and not re.search(r"[A-Z]{2}", document.filename)
        years = set(re.findall(r"20\d\d", version.text))
        assert years <= {str(this)}, (document.filename, years)  # a news item may give no year

    office = login("office", DEMO_PASSWORD)
    assert "演示数据" in office.get(f"/rounds/{last}").text
    assert "32/32" in office.get(f"/rounds/{last}").text
    report = office.get(f"/rounds/{last}/report.docx")
    assert report.status_code == 200

    js = login("js", DEMO_PASSWORD)
    response = js.post("/evidence/upload", data={"csrf_token": js.csrf, "year": str(this)},
                       files=[("files", ("新材料.txt", "江苏省召开产改推进会，部署年度重点任务。".encode(), "text/plain"))])
    assert response.status_code == 200 and "已保存" in response.text, response.text
    with session_scope(settings.database_url) as session:
        assert session.exec(select(Document).where(Document.filename == "新材料.txt",
                                                   Document.year == this)).first() is not None
