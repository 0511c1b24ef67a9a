"""Index files readable by the server account alone.

Whoosh creates its segment and table-of-contents files with the process's umask (0644 as a rule). The
index folder itself is 0700 (evidence/datadir.py), so this is defence in depth: the index holds every
passage's text, and a folder's mode can be loosened by a copy or a backup that keeps file modes.
Called after every commit (index/writer.py `locked_writer`).
"""
from __future__ import annotations

import stat
from pathlib import Path

PRIVATE_FILE = 0o600


def make_private(index_dir: Path) -> None:
    """chmod 0600 every file in the index folder that others (group or world) may read."""
    for path in Path(index_dir).iterdir():
        try:
            if path.is_file() and stat.S_IMODE(path.stat().st_mode) & 0o077:
                path.chmod(PRIVATE_FILE)
        except FileNotFoundError:  # a segment merged away by a concurrent commit
            continue
