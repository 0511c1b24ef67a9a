"""The material in ../shared beside the repository (seed, devset, odd corpora).

A clone without it still passes: each test that needs a file asks for it here and is
skipped, with the reason, when the file is not there.
"""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared(*parts: str) -> Path:
    """The path of a shared file or folder; skips the calling test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"需要共享数据 ../shared/{'/'.join(parts)}，本克隆旁没有，跳过")
    return path


def seed_text() -> str:
    return shared("seed", "000_9d0f49eec65d105e.txt").read_text(encoding="utf-8")
