"""Content-addressed file store: files/<sha[:2]>/<sha256>, written atomically.

Files are 0600 and folders 0700: uploaded evidence is readable by the server's account only.
A file is first received into a private temporary file beside the store (`receive`), so the
rules about what may be stored can look at it whole before it is kept or thrown away.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

CHUNK = 1024 * 1024
HEAD_BYTES = 16  # enough for every magic number the file rules look at
PRIVATE_DIR = 0o700


class FileTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"文件超过大小上限（{limit // (1024 * 1024)} MB），未保存。")
        self.limit = limit


@dataclass
class Incoming:
    """A received file not yet in the store: its temporary path, digest, size and first bytes."""
    path: Path
    sha256: str
    size: int
    head: bytes
    kept: bool = False


def private_dir(path: Path) -> Path:
    """mkdir -p with 0700 for the folders it creates (umask cannot widen it)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


class FileStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("无效的文件摘要")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    @contextmanager
    def receive(self, stream: BinaryIO, max_bytes: int | None = None) -> Iterator[Incoming]:
        """Stream into a private temporary file (0600, mkstemp); `keep` moves it into the store,
        otherwise it is removed when the block ends. Raises FileTooLarge past max_bytes."""
        private_dir(self.root)
        digest = hashlib.sha256()
        size, head = 0, b""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        incoming = None
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    if len(head) < HEAD_BYTES:
                        head += chunk[:HEAD_BYTES - len(head)]
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise FileTooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            incoming = Incoming(Path(tmp), digest.hexdigest(), size, head)
            yield incoming
        finally:
            if not (incoming and incoming.kept) and os.path.exists(tmp):
                os.unlink(tmp)

    def keep(self, incoming: Incoming) -> Path:
        """Move a received file to its place (or drop it when the same bytes are already stored)."""
        final = self.path_for(incoming.sha256)
        if final.exists():
            os.unlink(incoming.path)
        else:
            private_dir(final.parent)
            os.replace(incoming.path, final)
        incoming.kept = True
        return final

    def put_stream(self, stream: BinaryIO, max_bytes: int | None = None) -> tuple[str, int]:
        """Store a stream; returns (sha256, size). Nothing is left behind on failure."""
        with self.receive(stream, max_bytes) as incoming:
            self.keep(incoming)
            return incoming.sha256, incoming.size

    def put_bytes(self, data: bytes, max_bytes: int | None = None) -> tuple[str, int]:
        import io
        return self.put_stream(io.BytesIO(data), max_bytes)
