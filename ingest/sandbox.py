"""Run extraction in a child process: a hostile or broken file can exhaust memory or
hang a parser; it must take down only its own process, never the worker.

The child is a fresh interpreter (`python -m ingest.sandbox`), not a fork, so it
inherits no threads or database connections. It caps its own address space with
RLIMIT_AS before reading the file; the parent enforces the wall timeout and kills
the child's whole process group (soffice/tesseract included). ZIP uploads are unpacked the same
way (`unpack_to`): a hostile archive costs the child its memory, not the web process.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from ingest.extract.types import Extraction, ExtractionError, Limits

# Helpers (soffice, tesseract) get this much address space on top: LibreOffice
# reserves far more virtual memory than it uses.
HELPER_MEMORY_FACTOR = 4


def run_sandboxed(path: Path, *, filename: str | None, limits: Limits, unpack_to: Path | None = None):
    """The file's Extraction; with unpack_to, the file is a ZIP to unpack there instead, and the
    answer is its manifest (ingest/extract/archive.py unpack_archive)."""
    with tempfile.TemporaryDirectory(prefix="kaoping-sandbox-") as tmp:
        request = Path(tmp) / "request.json"
        result = Path(tmp) / "result.json"
        request.write_text(json.dumps({"path": str(Path(path).resolve()), "filename": filename,
                                       "limits": asdict(limits), "result": str(result),
                                       "unpack_to": str(unpack_to) if unpack_to else None}), encoding="utf-8")
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.Popen([sys.executable, "-m", "ingest.sandbox", str(request)], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            # Grace for interpreter start-up on top of the parsing budget.
            grace = min(3.0, limits.timeout_s * 0.5)
            _, stderr = proc.communicate(timeout=limits.timeout_s + grace if limits.timeout_s else None)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise ExtractionError("timeout", f"文件解析超时（超过 {limits.timeout_s:g} 秒），已中止。文件可能过大或结构异常。")
        finally:
            _kill_group(proc)  # stray soffice/tesseract children
        if result.exists():
            data = json.loads(result.read_text(encoding="utf-8"))
            if "error" in data:
                raise ExtractionError(data["error"]["code"], data["error"]["reason"])
            if unpack_to is not None:
                return data["unpacked"]
            return Extraction.from_dict(data["extraction"])
        tail = stderr.decode("utf-8", "replace").lower()
        # Allocation failures surface as MemoryError, a Rust/C++ abort or a loader message.
        if proc.returncode and (proc.returncode < 0 or "memory" in tail or "alloc" in tail):
            raise ExtractionError("memory", f"文件解析超出内存上限（{limits.memory_mb} MB），已中止。文件可能过大或结构异常。")
        raise ExtractionError("crashed", "文件解析进程异常退出，文件可能已损坏。")


def _kill_group(proc: subprocess.Popen) -> None:
    """End the child and everything it started: the child leads its own session, and
    helpers (soffice, tesseract) stay in that session even in their own process groups."""
    groups = {proc.pid} | _process_groups_in_session(proc.pid)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def _process_groups_in_session(sid: int) -> set[int]:
    groups: set[int] = set()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp session ...
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 3 and int(fields[3]) == sid:
            groups.add(int(fields[2]))
    return groups


def _limit_memory(memory_mb: int) -> None:
    import resource
    if memory_mb and memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        # Soft limit only for us; helpers re-raise theirs up to the hard limit.
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap * HELPER_MEMORY_FACTOR))


def _child(request_path: str) -> int:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    limits = Limits(**request["limits"])
    _limit_memory(limits.memory_mb)
    out = Path(request["result"])
    memory_error = {"code": "memory", "reason": f"文件解析超出内存上限（{limits.memory_mb} MB），已中止。"}
    try:
        if request.get("unpack_to"):
            from ingest.extract.archive import unpack_archive
            payload = {"unpacked": unpack_archive(Path(request["path"]), Path(request["unpack_to"]), limits)}
        else:
            from ingest.extract import extract_file
            extraction = extract_file(Path(request["path"]), filename=request.get("filename"), limits=limits)
            payload = {"extraction": extraction.to_dict()}
    except ExtractionError as exc:
        payload = {"error": {"code": exc.code, "reason": exc.reason}}
    except MemoryError:
        payload = {"error": memory_error}
    except (ImportError, OSError) as exc:
        # Under RLIMIT_AS a shared library fails to map: that is the memory cap, not a bug.
        low = str(exc).lower()
        if "failed to map" in low or "memory" in low:
            payload = {"error": memory_error}
        else:
            payload = {"error": {"code": "internal", "reason": f"解析时发生内部错误（{type(exc).__name__}）。"}}
    except Exception as exc:  # report, never hang
        payload = {"error": {"code": "internal", "reason": f"解析时发生内部错误（{type(exc).__name__}）。"}}
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out)  # the parent never sees a half-written result
    return 0


def raise_helper_memory() -> None:
    """preexec hook for soffice/tesseract launched inside the sandbox."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))


def helper_popen_kwargs() -> dict:
    """Extra Popen arguments for external helpers: lift our own soft memory cap for them
    (only inside the sandbox, where the process is single-threaded and preexec is safe)."""
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return {} if soft == resource.RLIM_INFINITY else {"preexec_fn": raise_helper_memory}
