"""ZIP uploads: unpacked to disk as a stream (in the sandbox), every member checked like a file of its own,
bombs refused over the whole archive and per member, and a daily quota per user."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from evidence.db import session_scope
from evidence.models import AuditEvent, Document, DocumentVersion, StoredFile
from ingest.extract import ExtractionError, Limits, is_archive, unpack_archive, unpack_sandboxed
from ingest.submit import submit

NOTICE = "关于开展产改评价工作的通知\n各省总工会：现将有关事项通知如下。\n"
MIB = 1024 * 1024


def make_zip(entries: list[tuple[str, bytes]], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def unpacked(tmp_path: Path, path: Path, limits: Limits | None = None) -> list[dict]:
    return unpack_archive(path, tmp_path / "out", limits or Limits())


def written_files(tmp_path: Path) -> list[Path]:
    out = tmp_path / "out"
    return sorted(p for p in out.iterdir()) if out.exists() else []


def central_entry(raw: bytes, name: bytes) -> int:
    """Offset of a member's central directory record."""
    offset = raw.index(b"PK\x01\x02")
    while True:
        name_len = struct.unpack_from("<H", raw, offset + 28)[0]
        if raw[offset + 46:offset + 46 + name_len] == name:
            return offset
        offset = raw.index(b"PK\x01\x02", offset + 4)


# ── unpacking, in the child's code ──────────────────────────────────────────

def test_members_are_written_to_numbered_files_with_decoded_names(tmp_path):
    name = "产改工作总结报告.txt"
    gbk = name.encode("gbk")
    raw = make_zip([("X" * len(gbk), NOTICE.encode())]).replace(b"X" * len(gbk), gbk)  # as Windows tools write it
    members = unpacked(tmp_path, write(tmp_path, "材料.zip", raw))
    assert [m["name"] for m in members] == [name]
    assert (tmp_path / "out" / members[0]["file"]).read_text("utf-8") == NOTICE
    assert members[0]["size"] == len(NOTICE.encode()) and members[0]["error"] == ""


def test_an_inner_zip_is_unpacked_and_a_third_level_is_refused_on_its_own_line(tmp_path):
    third = make_zip([("深.txt", "深".encode())])
    inner = make_zip([("通知.txt", NOTICE.encode()), ("more.zip", third)])
    path = write(tmp_path, "outer.zip", make_zip([("inner.zip", inner), ("说明.txt", "说明".encode())]))
    members = {m["name"]: m for m in unpacked(tmp_path, path)}
    assert set(members) == {"inner.zip!通知.txt", "inner.zip!more.zip", "说明.txt"}
    assert members["inner.zip!通知.txt"]["file"] and members["说明.txt"]["file"]
    deep = members["inner.zip!more.zip"]
    assert deep["file"] is None and "层" in deep["error"] and "未保存" in deep["error"]
    assert len(written_files(tmp_path)) == 2  # the inner archives themselves are not left behind


def test_a_member_is_streamed_to_disk_not_held_in_memory(tmp_path):
    path = write(tmp_path, "big.zip", make_zip([("zeros.txt", b"\0" * (40 * MIB))]))
    tracemalloc.start()
    try:
        members = unpacked(tmp_path, path, Limits(max_compression_ratio=1e9))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert members[0]["size"] == 40 * MIB
    assert peak < 8 * MIB, f"peak Python allocation {peak / MIB:.1f} MiB while unpacking a 40 MiB member"


def test_one_highly_compressed_member_is_a_bomb_even_where_the_whole_archive_is_not(tmp_path):
    path = write(tmp_path, "bomb.zip", make_zip([("scan.bin", os.urandom(3 * MIB)), ("zeros.txt", b"\0" * (50 * MIB))]))
    with pytest.raises(ExtractionError) as err:
        unpacked(tmp_path, path)
    assert err.value.code == "bomb" and "压缩比" in err.value.reason and "未保存" in err.value.reason
    assert written_files(tmp_path) == []


def test_many_small_members_of_one_mib_each_are_a_bomb_too(tmp_path):
    # The trick that slipped past a ratio checked only above 1 MiB: distinct 1 MiB members, ~1 KB each packed.
    entries = [(f"{i:03d}.txt", f"第{i}份".encode() + b"\0" * (MIB - 16)) for i in range(40)]
    path = write(tmp_path, "many.zip", make_zip(entries))
    assert path.stat().st_size < 100 * 1024
    with pytest.raises(ExtractionError) as err:
        unpacked(tmp_path, path)
    assert err.value.code == "bomb"
    assert written_files(tmp_path) == []  # refused from the headers, before writing anything


def test_members_each_under_the_ratio_still_count_over_the_whole_archive(tmp_path):
    # Every member 150:1 (under the per-member cap of 200), the whole archive far above 200:1.
    entries = [(f"{i:03d}.txt", f"{i}".encode() + b" " * (150 * 1024)) for i in range(120)]
    path = write(tmp_path, "wide.zip", make_zip(entries))
    with pytest.raises(ExtractionError) as err:
        unpacked(tmp_path, path)
    assert err.value.code == "bomb" and "自身大小" in err.value.reason


def test_the_total_unpacked_size_is_capped(tmp_path):
    entries = [(f"{i}.bin", os.urandom(600 * 1024)) for i in range(2)]  # incompressible: ratio 1:1
    path = write(tmp_path, "two.zip", make_zip(entries))
    with pytest.raises(ExtractionError) as err:
        unpacked(tmp_path, path, Limits(max_archive_total_bytes=1 * MIB))
    assert err.value.code == "bomb" and "1 MB" in err.value.reason


def test_a_header_that_understates_a_members_size_loses_only_that_member(tmp_path):
    body = os.urandom(200 * 1024)
    raw = bytearray(make_zip([("a.bin", body), ("b.txt", NOTICE.encode())]))
    entry = central_entry(bytes(raw), b"a.bin")
    struct.pack_into("<I", raw, entry + 24, 1000)  # central directory: uncompressed size
    struct.pack_into("<I", raw, 22, 1000)  # local header of the first member
    members = {m["name"]: m for m in unpacked(tmp_path, write(tmp_path, "lying.zip", bytes(raw)))}
    assert members["a.bin"]["file"] is None and "损坏" in members["a.bin"]["error"]
    assert members["b.txt"]["file"] is not None
    assert [p.stat().st_size for p in written_files(tmp_path)] == [len(NOTICE.encode())]


def test_an_encrypted_member_is_refused_alone(tmp_path):
    raw = bytearray(make_zip([("secret.txt", b"x" * 100), ("open.txt", NOTICE.encode())]))
    entry = central_entry(bytes(raw), b"secret.txt")
    flags = struct.unpack_from("<H", raw, entry + 8)[0]
    struct.pack_into("<H", raw, entry + 8, flags | 0x1)
    members = {m["name"]: m for m in unpacked(tmp_path, write(tmp_path, "enc.zip", bytes(raw)))}
    assert members["secret.txt"]["file"] is None and "加密" in members["secret.txt"]["error"]
    assert members["open.txt"]["file"] is not None


@pytest.mark.parametrize("evil", ["../../etc/cron.d/x.txt", "/etc/passwd", "a/../../b.txt", "C:\\Windows\\x.txt"])
def test_a_path_escaping_the_folder_refuses_the_whole_archive(tmp_path, evil):
    path = write(tmp_path, "evil.zip", make_zip([("ok.txt", b"ok"), (evil, b"x")]))
    with pytest.raises(ExtractionError) as err:
        unpacked(tmp_path, path)
    assert err.value.code == "unsafe_path"
    assert written_files(tmp_path) == []


def test_too_many_members_counting_inner_archives(tmp_path):
    inner = make_zip([(f"in{i}.txt", b"x") for i in range(8)])
    path = write(tmp_path, "many.zip", make_zip([(f"{i}.txt", b"x") for i in range(5)] + [("inner.zip", inner)]))
    with pytest.raises(ExtractionError) as err:
        unpacked(tmp_path, path, Limits(max_archive_members=10))
    assert err.value.code == "too_many_members"


def test_unpacking_runs_in_the_sandboxed_child(tmp_path):
    path = write(tmp_path, "a.zip", make_zip([("通知.txt", NOTICE.encode()), ("空.txt", b"")]))
    members = unpack_sandboxed(path, tmp_path / "out", Limits())
    assert [(m.name, m.size) for m in members] == [("通知.txt", len(NOTICE.encode())), ("空.txt", 0)]
    assert (tmp_path / "out" / members[0].file).read_text("utf-8") == NOTICE
    with pytest.raises(ExtractionError) as err:  # a refusal in the child comes back as the same Chinese reason
        unpack_sandboxed(write(tmp_path, "bomb.zip", make_zip([("z.txt", b"\0" * (20 * MIB))])), tmp_path / "o2",
                         Limits())
    assert err.value.code == "bomb"


# ── submitting: every member passes the same rules as a file of its own ────

HOSTILE = [
    ("setup.exe", b"MZ\x90\x00" + os.urandom(64)),
    ("run.sh", b"#!/bin/sh\nrm -rf /\n"),
    ("工具/x.js", "alert(1)".encode()),
    ("提示.hta", b"<html><script>x</script></html>"),
    ("伪装.txt", b"MZ\x90\x00 an executable named as text"),
    ("照片.jpg", b"#!/usr/bin/env python\n"),
]


def test_executables_inside_a_zip_are_refused_and_the_text_beside_them_is_stored(make_user, login, settings):
    make_user("js", "province", unit="JS")
    client = login("js")
    raw = make_zip(HOSTILE + [("说明.txt", NOTICE.encode())])
    response = client.post("/evidence/upload", data={"csrf_token": client.csrf, "year": "2023"},
                           headers={"Accept": "application/json"},
                           files=[("files", ("材料.zip", raw, "application/zip"))])
    results = {r["filename"]: r for r in response.json()["results"]}
    for name, _ in HOSTILE:
        line = results[Path(name).name]
        assert line["document_id"] is None and line["error"], line
        assert "不允许上传" in line["error"] and "未保存" in line["error"]
    assert results["说明.txt"]["document_id"] and not results["说明.txt"]["error"]
    with session_scope(settings.database_url) as session:
        assert [d.filename for d in session.exec(select(Document))] == ["说明.txt"]
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "upload_refused")).all()
        assert sorted(e.detail["filename"] for e in refused) == sorted(Path(name).name for name, _ in HOSTILE)
        assert all(e.detail["archive"] == "材料.zip" and e.username == "js" for e in refused)
        stored = {f.sha256 for f in session.exec(select(StoredFile))}
    on_disk = {p.name for p in settings.files_dir.rglob("*") if p.is_file()}
    assert on_disk == stored and len(stored) == 1  # neither the executables nor the archive itself are kept


def test_a_member_over_the_size_limit_gets_the_same_message_as_a_file(settings, db_session, make_user):
    small = dataclasses.replace(settings, max_upload_bytes=1 * MIB)
    user = make_user("js", "province", unit="JS")
    raw = make_zip([("大.pdf", os.urandom(MIB // 2 + 10).hex().encode()), ("小.txt", NOTICE.encode())])
    result = submit(db_session, small, io.BytesIO(raw), "a.zip", unit_code="JS", year=2023, user=user)
    big, ok = result.members
    alone = submit(db_session, small, io.BytesIO(os.urandom(MIB + 20)), "大.pdf", unit_code="JS", year=2023, user=user)
    assert big.document is None and alone.document is None
    assert big.error == alone.error and "上限 1 MB" in big.error and "未保存" in big.error
    assert ok.document is not None


def test_the_daily_quota_counts_files_across_members_and_requests(settings, db_session, make_user):
    limited = dataclasses.replace(settings, daily_upload_files=3)
    user = make_user("js", "province", unit="JS")
    raw = make_zip([(f"{i}.txt", f"{NOTICE}{i}".encode()) for i in range(5)])
    result = submit(db_session, limited, io.BytesIO(raw), "a.zip", unit_code="JS", year=2023, user=user)
    db_session.commit()
    stored = [m for m in result.members if m.document]
    refused = [m for m in result.members if m.error]
    assert len(stored) == 3 and len(refused) == 2
    assert all("每人每天最多 3 个文件" in m.error and "未保存" in m.error for m in refused)
    later = submit(db_session, limited, io.BytesIO(b"another day's work"), "b.txt", unit_code="JS", year=2023, user=user)
    assert later.document is None and "今天已上传 3 个文件" in later.error
    other = make_user("sh", "province", unit="SH")  # the quota is per user
    assert submit(db_session, limited, io.BytesIO(b"x"), "c.txt", unit_code="SH", year=2023, user=other).document


def test_the_daily_quota_counts_bytes(settings, db_session, make_user):
    limited = dataclasses.replace(settings, daily_upload_bytes=100 * 1024)
    user = make_user("js", "province", unit="JS")
    first = submit(db_session, limited, io.BytesIO(os.urandom(80 * 1024)), "a.pdf", unit_code="JS", year=2023, user=user)
    second = submit(db_session, limited, io.BytesIO(os.urandom(30 * 1024)), "b.pdf", unit_code="JS", year=2023, user=user)
    assert first.document is not None
    assert second.document is None and "100 KB" in second.error
    assert not [p for p in limited.files_dir.rglob(".incoming-*")]  # the refused bytes are not left behind


def test_kaoping_ingest_applies_the_same_rules(settings, tmp_path):
    from review_ui.cli import main
    folder = tmp_path / "材料"
    folder.mkdir()
    write(folder, "a.zip", make_zip([("setup.exe", b"MZ" + b"\0" * 50), ("说明.txt", NOTICE.encode())]))
    write(folder, "b.sh", b"#!/bin/sh\n")
    result = CliRunner().invoke(main, ["--data-dir", str(settings.data_dir), "ingest", str(folder), "--unit", "JS",
                                       "--year", "2023"])
    assert "setup.exe" in result.output and "b.sh" in result.output and "不允许上传" in result.output
    with session_scope(settings.database_url) as session:
        assert [d.filename for d in session.exec(select(Document))] == ["说明.txt"]
        versions = session.exec(select(DocumentVersion)).all()
        assert [v.state for v in versions] == ["indexed"]


def test_a_zip_is_still_told_apart_from_office_files(tmp_path):
    docx_like = write(tmp_path, "a.docx", make_zip([("word/document.xml", b"<w:document/>"),
                                                    ("[Content_Types].xml", b"")]))
    assert not is_archive(docx_like)
    assert is_archive(write(tmp_path, "b.zip", make_zip([("a.txt", b"x")])))
    assert json.loads(json.dumps(unpacked(tmp_path, tmp_path / "b.zip")))  # the manifest crosses as JSON
