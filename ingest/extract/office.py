"""DOC/WPS/RTF/ODT: LibreOffice converts to DOCX, then the DOCX reader takes over."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ingest.extract.docx import read_docx
from ingest.sandbox import helper_popen_kwargs
from ingest.extract.types import ExtractionError, Limits, RawDocument

SOURCE_SUFFIX = {"doc": ".doc", "wps": ".wps", "rtf": ".rtf", "odt": ".odt"}


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_soffice(sources: list[Path], out_dir: Path, target: str, timeout_s: float) -> None:
    """One soffice call for many files; each call gets its own profile, because two
    conversions sharing a profile silently lose one output."""
    exe = soffice_path()
    if not exe:
        raise ExtractionError("needs_libreoffice", "服务器暂时无法转换这种格式（缺少文档转换组件，已记入服务器日志）。"
                              "请用 WPS 或 Word 另存为 DOCX 或 PDF 后上传。", detail="soffice (LibreOffice) not found")
    with tempfile.TemporaryDirectory(prefix="kaoping-lo-profile-") as profile:
        cmd = [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--nologo",
               "--convert-to", target, "--outdir", str(out_dir), *map(str, sources)]
        # Own process group (so a timeout kills soffice.bin and its helpers, not just the launcher
        # script) but the same session, so the sandbox parent can still find and end it.
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, process_group=0,
                                **helper_popen_kwargs())
        try:
            proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            raise ExtractionError("timeout", f"文档格式转换超时（超过 {timeout_s:.0f} 秒）。请用 WPS 或 Word 另存为 DOCX 或 PDF 后上传。",
                                  detail="soffice timed out") from exc


def read_office(path: Path, limits: Limits, fmt: str) -> RawDocument:
    with tempfile.TemporaryDirectory(prefix="kaoping-lo-") as tmp:
        tmpdir = Path(tmp)
        # soffice picks the import filter partly by extension: give it the real one.
        source = tmpdir / f"input{SOURCE_SUFFIX.get(fmt, '.doc')}"
        try:
            os.symlink(path.resolve(), source)
        except OSError:
            shutil.copyfile(path, source)
        out_dir = tmpdir / "out"
        out_dir.mkdir()
        convert_with_soffice([source], out_dir, "docx", limits.timeout_s)
        converted = out_dir / "input.docx"
        if not converted.exists() or converted.stat().st_size == 0:
            raise ExtractionError("corrupt", f"{fmt.upper()} 文件已损坏、已加密或格式异常，无法转换。"
                                             "请用 WPS 或 Word 打开后另存为 DOCX 或 PDF 再上传。", detail="soffice wrote no output")
        raw = read_docx(converted, limits, fmt=fmt)
    raw.format = fmt
    return raw
