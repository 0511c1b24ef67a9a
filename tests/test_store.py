import io

import pytest

from evidence.store import FileStore, FileTooLarge


def test_content_addressed_and_deduplicated(tmp_path):
    store = FileStore(tmp_path)
    sha1, size = store.put_bytes("产改".encode())
    sha2, _ = store.put_bytes("产改".encode())
    assert sha1 == sha2 and size == 6
    assert store.path_for(sha1).read_bytes() == "产改".encode()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [sha1]


def test_oversize_leaves_nothing_behind(tmp_path):
    store = FileStore(tmp_path)
    with pytest.raises(FileTooLarge, match="超过大小上限"):
        store.put_stream(io.BytesIO(b"x" * 5000), max_bytes=1000)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_rejects_path_like_digests(tmp_path):
    with pytest.raises(ValueError):
        FileStore(tmp_path).path_for("../../etc/passwd")
