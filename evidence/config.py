"""Where Kaoping keeps its state, and the knobs an operator may turn.

Everything lives under one data directory (``--data-dir`` or
``KAOPING_DATA_DIR``): the SQLite database, the content-addressed file store
and the search index. ``KAOPING_DATABASE_URL`` points the database elsewhere
(PostgreSQL in production) while files and index stay in the data directory.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = "kaoping-data"
MB = 1024 * 1024


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"环境变量 {name} 应为整数，实际为 {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    max_upload_bytes: int = 200 * MB
    parse_timeout_s: int = 120
    parse_memory_mb: int = 2048
    secret_key_file: Path = field(default=Path())
    max_parallel_uploads: int = 2  # per user, at the same time, across all web processes
    daily_upload_files: int = 1000  # per user and Beijing day: documents queued
    daily_upload_bytes: int = 2048 * MB  # per user and Beijing day: bytes stored
    session_idle_minutes: int = 120  # a session unused this long ends
    session_hours: int = 12  # and every session ends this long after login
    trusted_proxies: str = ""  # addresses whose X-Forwarded-For is believed; empty: none
    job_timeout_s: int = 600  # one ingest job's whole run: parse, tag, store, index
    job_lease_s: int = 60  # a running job's lease; its worker's heartbeat renews it

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def load(cls, data_dir: str | os.PathLike | None = None) -> "Settings":
        root = Path(data_dir or os.environ.get("KAOPING_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()
        url = os.environ.get("KAOPING_DATABASE_URL") or f"sqlite:///{root / 'kaoping.db'}"
        return cls(
            data_dir=root,
            database_url=url,
            max_upload_bytes=_int_env("KAOPING_MAX_UPLOAD_MB", 200) * MB,
            parse_timeout_s=_int_env("KAOPING_PARSE_TIMEOUT", 120),
            parse_memory_mb=_int_env("KAOPING_PARSE_MEMORY_MB", 2048),
            secret_key_file=root / "secret.key",
            max_parallel_uploads=_int_env("KAOPING_MAX_PARALLEL_UPLOADS", 2),
            daily_upload_files=_int_env("KAOPING_DAILY_UPLOAD_FILES", 1000),
            daily_upload_bytes=_int_env("KAOPING_DAILY_UPLOAD_MB", 2048) * MB,
            session_idle_minutes=_int_env("KAOPING_SESSION_IDLE_MINUTES", 120),
            session_hours=_int_env("KAOPING_SESSION_HOURS", 12),
            trusted_proxies=os.environ.get("KAOPING_TRUSTED_PROXIES", "").strip(),
            job_timeout_s=_int_env("KAOPING_JOB_TIMEOUT", 600),
            job_lease_s=max(5, _int_env("KAOPING_JOB_LEASE", 60)),
        )


@dataclass(frozen=True)
class SmtpSettings:
    """Where `kaoping remind` sends deadline reminders (KAOPING_SMTP_*); None when no host is set."""
    host: str
    port: int
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True  # port 465 means TLS from the first byte instead

    @classmethod
    def load(cls) -> "SmtpSettings | None":
        host = os.environ.get("KAOPING_SMTP_HOST", "").strip()
        if not host:
            return None
        starttls = os.environ.get("KAOPING_SMTP_STARTTLS", "1").strip().lower() not in ("0", "false", "no", "")
        user = os.environ.get("KAOPING_SMTP_USER", "").strip()
        return cls(host=host, port=_int_env("KAOPING_SMTP_PORT", 587 if starttls else 25),
                   sender=os.environ.get("KAOPING_SMTP_FROM", "").strip() or user or f"kaoping@{host}",
                   user=user, password=os.environ.get("KAOPING_SMTP_PASSWORD", ""), starttls=starttls)
