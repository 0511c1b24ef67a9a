"""Run extraction in a child process: a hostile or broken file can exhaust memory or
hang a parser; it must take down only its own process, never the worker.

The child is a fresh interpreter (`python -m ingest.sandbox`), not a fork, so it
inherits no threads or database connections. It caps its own address space with
RLIMIT_AS and its CPU time with RLIMIT_CPU before reading the file, and asks the
kernel to kill it when its parent dies (PR_SET_PDEATHSIG), so a worker killed hard
leaves no parser running. The parent enforces the wall timeout and kills the child's
whole session (soffice/tesseract included). Everything the child writes, its helpers'
temporary files included (TMPDIR), stays in one `kaoping-sandbox-*` folder, which the
parent removes; a folder whose parent process is gone (a hard kill) is removed, and
its processes ended, by `clean_stale_sandboxes` when a worker starts. ZIP uploads are
unpacked the same way (`unpack_to`): a hostile archive costs the child its memory, not
the web process.
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

from ingest.extract.types import Extraction, ExtractionError, Limits, internal

# Helpers (soffice, tesseract) get this much address space on top: LibreOffice
# reserves far more virtual memory than it uses.
HELPER_MEMORY_FACTOR = 4


SANDBOX_PREFIX = "kaoping-sandbox-"
OWNER_FILE = "owner.json"
CPU_GRACE_S = 5


def run_sandboxed(path: Path, *, filename: str | None, limits: Limits, unpack_to: Path | None = None):
    """The file's Extraction; with unpack_to, the file is a ZIP to unpack there instead, and the
    answer is its manifest (ingest/extract/archive.py unpack_archive)."""
    with tempfile.TemporaryDirectory(prefix=SANDBOX_PREFIX) as tmp:
        request = Path(tmp) / "request.json"
        result = Path(tmp) / "result.json"
        scratch = Path(tmp) / "tmp"
        scratch.mkdir()
        request.write_text(json.dumps({"path": str(Path(path).resolve()), "filename": filename,
                                       "limits": asdict(limits), "result": str(result),
                                       "unpack_to": str(unpack_to) if unpack_to else None,
                                       "parent": os.getpid()}), encoding="utf-8")
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   TMPDIR=str(scratch))
        proc = subprocess.Popen([sys.executable, "-m", "ingest.sandbox", str(request)], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        _write_owner(Path(tmp), proc.pid)
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
                raise ExtractionError(data["error"]["code"], data["error"]["reason"], data["error"].get("detail", ""))
            if unpack_to is not None:
                return data["unpacked"]
            return Extraction.from_dict(data["extraction"])
        tail = stderr.decode("utf-8", "replace").lower()
        if proc.returncode == -signal.SIGXCPU:  # RLIMIT_CPU: a parser spinning past the time limit
            raise ExtractionError("timeout", f"文件解析超时（超过 {limits.timeout_s:g} 秒的计算时间），已中止。文件可能过大或结构异常。")
        # Allocation failures surface as MemoryError, a Rust/C++ abort or a loader message.
        if proc.returncode and (proc.returncode < 0 or "memory" in tail or "alloc" in tail):
            raise ExtractionError("memory", f"文件解析超出内存上限（{limits.memory_mb} MB），已中止。文件可能过大或结构异常。")
        raise ExtractionError("crashed", "读取该文件时处理程序意外退出，文件可能已损坏。请点“重新处理”再试一次；"
                                     "仍然失败请用原来的软件另存一份再上传。", detail=f"exit status {proc.returncode}: {tail[-300:]}")


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


def _write_owner(folder: Path, child_pid: int) -> None:
    """Who made this sandbox folder: the stale-folder sweep ends the child's session if we die."""
    me = os.getpid()
    (folder / OWNER_FILE).write_text(json.dumps({"parent": me, "parent_start": _start_ticks(me),
                                                 "child": child_pid, "child_start": _start_ticks(child_pid)}),
                                     encoding="utf-8")


def _start_ticks(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[19]
    except (OSError, IndexError):
        return None


def clean_stale_sandboxes(root: Path | None = None) -> int:
    """End the processes and remove the folders of sandboxes whose parent process is gone
    (a worker killed with SIGKILL, a power cut). Returns how many folders were removed."""
    import shutil
    removed = 0
    for folder in Path(root or tempfile.gettempdir()).glob(SANDBOX_PREFIX + "*"):
        try:
            owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being created right now, or not ours
        if owner.get("parent_start") and _start_ticks(owner["parent"]) == owner["parent_start"]:
            continue  # its worker still runs
        child = owner.get("child")
        if child and owner.get("child_start") and _start_ticks(child) == owner["child_start"]:
            for pgid in {child} | _process_groups_in_session(child):
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        else:
            for pgid in _process_groups_in_session(child) if child else ():
                try:
                    os.killpg(pgid, signal.SIGKILL)  # helpers left in the dead child's session
                except (ProcessLookupError, PermissionError):
                    pass
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


def die_with_parent(parent: int | None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the stale-folder sweep still ends us
    if parent and os.getppid() != parent:
        os._exit(1)


def _limit_cpu(timeout_s: float) -> None:
    import math
    import resource
    if timeout_s and timeout_s > 0:
        soft = int(math.ceil(timeout_s)) + CPU_GRACE_S
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + CPU_GRACE_S))


def _limit_memory(memory_mb: int) -> None:
    import resource
    if memory_mb and memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        # Soft limit only for us; helpers re-raise theirs up to the hard limit.
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap * HELPER_MEMORY_FACTOR))


def _child(request_path: str) -> int:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    die_with_parent(request.get("parent"))
    limits = Limits(**request["limits"])
    _limit_memory(limits.memory_mb)
    _limit_cpu(limits.timeout_s)
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
        payload = {"error": _error(exc)}
    except MemoryError:
        payload = {"error": memory_error}
    except (ImportError, OSError) as exc:
        # Under RLIMIT_AS a shared library fails to map: that is the memory cap, not a bug.
        low = str(exc).lower()
        if "failed to map" in low or "memory" in low:
            payload = {"error": memory_error}
        else:
            payload = {"error": _error(internal(exc))}
    except Exception as exc:  # report, never hang
        payload = {"error": _error(internal(exc))}
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out)  # the parent never sees a half-written result
    return 0


def _error(exc: ExtractionError) -> dict:
    return {"code": exc.code, "reason": exc.reason, "detail": exc.detail}


def raise_helper_memory() -> None:
    """preexec hook for soffice/tesseract launched inside the sandbox: more address space, and
    death with the sandbox child."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    die_with_parent(None)


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))


def helper_popen_kwargs() -> dict:
    """Extra Popen arguments for external helpers: lift our own soft memory cap for them
    (only inside the sandbox, where the process is single-threaded and preexec is safe)."""
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return {} if soft == resource.RLIM_INFINITY else {"preexec_fn": raise_helper_memory}
