"""The data directory kept private: folders 0700, the database and the secret key 0600.

Evidence, the database and the key that signs visitors' tokens are the server account's alone.
`kaoping init` creates them so (umask cannot widen it); every start (`require_initialised`, which
`kaoping serve` and every command run first) tightens a directory left readable by other local
users — one made before this rule, or copied with the wrong mode — and says what it changed.
Inside the private folders, the file store writes 0600 files (evidence/store.py).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from evidence.config import Settings

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
OPEN_TO_OTHERS = 0o077


def private_folders(settings: Settings) -> list[Path]:
    return [settings.data_dir, settings.files_dir, settings.index_dir, settings.work_dir, settings.models_dir]


def private_files(settings: Settings) -> list[Path]:
    files = [settings.secret_key_file]
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        files += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return files


def create(settings: Settings) -> None:
    """The data directory's folders, private from the start."""
    for folder in private_folders(settings):
        folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        folder.chmod(PRIVATE_DIR)


def write_secret(path: Path, secret: str) -> None:
    """Create the secret key file readable by its owner only, never world-readable even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret)


def tighten(settings: Settings) -> list[str]:
    """Take away other users' access to the data directory; one Chinese line per change made."""
    changed = []
    folders = private_folders(settings)
    if settings.files_dir.is_dir():
        folders += [p for p in settings.files_dir.iterdir() if p.is_dir()]
    for path, mode in [(p, PRIVATE_DIR) for p in folders] + [(p, PRIVATE_FILE) for p in private_files(settings)]:
        try:
            current = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if current & OPEN_TO_OTHERS:
            path.chmod(mode)
            changed.append(f"{path} 的权限为 {current:o}，其他用户可以读取，已收紧为 {mode:o}。")
    return changed
