"""The data directory is private (folders 0700, database, key and stored files 0600), an open one is tightened
at start with a warning, and `kaoping demo` never puts its published password where real users are."""
from __future__ import annotations

import io
import stat

from click.testing import CliRunner
from sqlmodel import select

from conftest import PASSWORD
from evidence.db import session_scope
from evidence.models import Round, User
from ingest.submit import submit
from review_ui.cli import main
from review_ui.demo import DEMO_PASSWORD


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_init_makes_every_folder_0700_and_the_database_and_key_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("KAOPING_DATABASE_URL", raising=False)
    data = tmp_path / "d"
    assert run("--data-dir", str(data), "init").exit_code == 0
    for folder in (data, data / "files", data / "index", data / "work"):
        assert mode(folder) == 0o700, folder
    assert mode(data / "secret.key") == 0o600
    assert mode(data / "kaoping.db") == 0o600


def test_stored_files_are_private(settings, db_session, make_user):
    user = make_user("js", "province", unit="JS")
    result = submit(db_session, settings, io.BytesIO("产改推进会纪要".encode()), "纪要.txt", unit_code="JS", year=2023,
                    user=user)
    assert result.document is not None
    stored = next(p for p in settings.files_dir.rglob("*") if p.is_file())
    assert mode(stored) == 0o600 and mode(stored.parent) == 0o700


def test_an_open_data_directory_is_tightened_at_start_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.delenv("KAOPING_DATABASE_URL", raising=False)
    data = tmp_path / "d"
    run("--data-dir", str(data), "init")
    (data / "files" / "ab").mkdir()
    for path, loose in [(data, 0o755), (data / "files", 0o755), (data / "files" / "ab", 0o777),
                        (data / "kaoping.db", 0o644), (data / "secret.key", 0o644)]:
        path.chmod(loose)
    result = run("--data-dir", str(data), "users", "list")
    assert result.exit_code == 0
    assert "警告" in result.stderr and "已收紧为 700" in result.stderr and "已收紧为 600" in result.stderr
    assert mode(data) == mode(data / "files") == mode(data / "files" / "ab") == 0o700
    assert mode(data / "kaoping.db") == mode(data / "secret.key") == 0o600
    again = run("--data-dir", str(data), "users", "list")
    assert "警告" not in again.output  # nothing left to tighten


# ── kaoping demo ────────────────────────────────────────────────────────────

def demo(settings, *extra):
    return CliRunner().invoke(main, ["--data-dir", str(settings.data_dir), "demo", *extra], catch_exceptions=False)


def test_demo_refuses_a_directory_with_real_users_and_changes_nothing(settings, make_user):
    make_user("chief", "office")
    result = demo(settings)
    assert result.exit_code == 2 and "非演示数据" in result.output and "1 个非演示账号" in result.output
    assert "未做任何改动" in result.output and "--force" in result.output
    with session_scope(settings.database_url) as session:
        assert [u.username for u in session.exec(select(User))] == ["chief"]
        assert session.exec(select(Round)).all() == []


def test_demo_refuses_evidence_it_did_not_upload(settings, db_session):
    submit(db_session, settings, io.BytesIO("真实材料".encode()), "a.txt", unit_code="JS", year=2023)  # kaoping ingest
    db_session.commit()
    result = demo(settings)
    assert result.exit_code == 2 and "1 份证据" in result.output


def test_forced_demo_among_real_users_makes_its_accounts_unusable(settings, make_user, app):
    from fastapi.testclient import TestClient

    from conftest import csrf_from
    make_user("chief", "office")
    result = demo(settings, "--force")
    assert result.exit_code == 0, result.output
    assert "已停用" in result.output and DEMO_PASSWORD not in result.output
    with session_scope(settings.database_url) as session:
        demo_users = session.exec(select(User).where(User.username != "chief")).all()
        assert demo_users and not any(u.active for u in demo_users)
    with TestClient(app, follow_redirects=False) as client:
        token = csrf_from(client.get("/login").text)
        answer = client.post("/login", data={"username": "office", "password": DEMO_PASSWORD, "csrf_token": token})
        assert answer.status_code == 400
        answer = client.post("/login", data={"username": "chief", "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303


def test_demo_loads_into_a_new_directory_and_again_into_its_own(tmp_path, monkeypatch):
    monkeypatch.delenv("KAOPING_DATABASE_URL", raising=False)
    data = str(tmp_path / "demo")
    first = run("--data-dir", data, "demo")
    assert first.exit_code == 0 and DEMO_PASSWORD in first.output
    again = run("--data-dir", data, "demo")
    assert again.exit_code == 0, again.output


def test_index_files_are_private_to_the_server_account(settings, add_evidence):
    """Whoosh writes with the umask (0644): every file in the index folder is 0600 after a commit."""
    import stat
    add_evidence("JS", "通知.txt", "江苏省总工会关于建设工匠学院的通知\n\n为深化产业工人队伍建设改革，省总工会决定建设工匠学院。")
    files = [p for p in settings.index_dir.iterdir() if p.is_file()]
    assert files and any(p.suffix == ".toc" for p in files)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: "0o600" for p in files}


def test_a_rebuilt_index_is_private_too(settings, add_evidence):
    """A rebuild writes its segments in worker processes and commits them itself, not through the
    writer every other commit uses: its files end 0600 as well."""
    import stat

    from index.feed import open_index, rebuild_index
    add_evidence("JS", "通知.txt", "江苏省总工会关于建设工匠学院的通知\n\n为深化产业工人队伍建设改革，省总工会决定建设工匠学院。")
    index = open_index(settings)
    assert not rebuild_index(settings, index, fresh=True)
    files = [p for p in settings.index_dir.iterdir() if p.is_file()]
    assert index.doc_count() and any(p.suffix == ".seg" for p in files)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: "0o600" for p in files}
