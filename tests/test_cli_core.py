"""The CLI front door: init, users, demo, ingest."""
import json

from click.testing import CliRunner

from review_ui.cli import main
from conftest import PASSWORD


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_init_twice_changes_nothing(tmp_path):
    data = str(tmp_path / "d")
    first = run("--data-dir", data, "init")
    assert first.exit_code == 0 and "已初始化" in first.output
    run("--data-dir", data, "users", "add", "boss", "--role", "office", "--password", PASSWORD)
    second = run("--data-dir", data, "init")
    assert second.exit_code == 2 and "已初始化" in second.output and "未做任何改动" in second.output
    users = json.loads(run("--data-dir", data, "users", "list", "--json").output)
    assert [u["username"] for u in users] == ["boss"]


def test_missing_data_dir_is_explained(tmp_path):
    result = run("--data-dir", str(tmp_path / "nowhere"), "users", "list")
    assert result.exit_code == 2 and "数据目录不存在" in result.output and "kaoping init" in result.output


def test_users_add_validates(tmp_path):
    data = str(tmp_path / "d")
    run("--data-dir", data, "init")
    bad_unit = run("--data-dir", data, "users", "add", "p", "--role", "province", "--unit", "XX", "--password", PASSWORD)
    assert bad_unit.exit_code == 2 and "未知单位" in bad_unit.output
    short = run("--data-dir", data, "users", "add", "p", "--role", "province", "--unit", "JS", "--password", "123")
    assert short.exit_code == 2 and "密码至少" in short.output


def test_ingest_folder_reports_a_summary(tmp_path):
    data = str(tmp_path / "d")
    run("--data-dir", data, "init")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("江苏省召开产业工人队伍建设改革推进会，总结交流经验。", encoding="utf-8")
    (folder / "b.txt").write_text("江苏省召开产业工人队伍建设改革推进会，总结交流经验。", encoding="utf-8")
    (folder / "c.pdf").write_bytes(b"%PDF-1.4 broken")
    result = run("--data-dir", data, "ingest", str(folder), "--unit", "JS", "--year", "2023")
    assert "入库 1 个" in result.output and "重复 1 个" in result.output and "失败 1 个" in result.output
    assert "c.pdf" in result.output and result.exit_code == 2


def test_demo_loads_users_and_evidence(tmp_path):
    data = str(tmp_path / "d")
    result = run("--data-dir", data, "demo")
    assert result.exit_code == 0 and "演示数据已载入" in result.output
    users = {u["username"]: u for u in json.loads(run("--data-dir", data, "users", "list", "--json").output)}
    assert users["js"]["unit"] == "JS" and users["office"]["role"] == "office"
