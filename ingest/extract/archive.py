"""ZIP uploads: one document per member, with the defences a public upload form needs."""
from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ingest.extract.types import ExtractionError, Limits

UTF8_NAME_FLAG = 0x800
SKIP_NAMES = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")
OFFICE_MARKERS = ("word/document.xml", "OFD.xml", "mimetype", "[Content_Types].xml")
READ_CHUNK = 1024 * 1024


@dataclass
class ArchiveMember:
    name: str
    data: bytes


def is_archive(path: Path) -> bool:
    """A plain ZIP — not a DOCX/ODT/OFD, which are ZIPs too."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
                return False
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return not any(m in names for m in OFFICE_MARKERS)


def member_name(info: zipfile.ZipInfo) -> str:
    """Windows zip tools store names in GBK without the UTF-8 flag; Python then shows cp437 mojibake."""
    if info.flag_bits & UTF8_NAME_FLAG:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def _check_name(name: str) -> None:
    normal = name.replace("\\", "/")
    parts = normal.split("/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":") or ".." in parts:
        raise ExtractionError("unsafe_path", f"压缩包中含有不安全的路径（{name}），已拒绝整个压缩包。")


def expand_archive(path: Path | io.BytesIO, limits: Limits | None = None, *, _depth: int = 0,
                   _budget: list | None = None) -> list[ArchiveMember]:
    """Members of a ZIP (a Path, or a BytesIO for an inner zip), names decoded, unsafe archives refused."""
    limits = limits or Limits()
    # Shared across the nesting level so an inner zip cannot multiply the allowance.
    budget = _budget if _budget is not None else [limits.max_archive_total_bytes, limits.max_archive_members]
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ExtractionError("corrupt", "压缩包已损坏，无法打开。") from exc
    except OSError as exc:
        raise ExtractionError("corrupt", f"压缩包无法读取（{exc.__class__.__name__}）。") from exc
    members: list[ArchiveMember] = []
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_archive_members:
            raise ExtractionError("too_many_members",
                                  f"压缩包内有 {len(infos)} 个文件，超过上限 {limits.max_archive_members} 个。")
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_archive_total_bytes:
            raise ExtractionError("bomb", f"压缩包解压后约 {declared // (1024 * 1024)} MB，超过上限，疑似压缩炸弹，已拒绝。")
        for info in infos:
            name = member_name(info)
            _check_name(name)
            if any(s in name for s in SKIP_NAMES) or posixpath.basename(name).startswith("~$"):
                continue
            if info.flag_bits & 0x1:
                raise ExtractionError("encrypted", f"压缩包中的文件 {name} 已加密（需要密码），无法读取。")
            if info.compress_size and info.file_size > 1024 * 1024 and \
                    info.file_size / info.compress_size > limits.max_compression_ratio:
                raise ExtractionError("bomb", f"压缩包中的 {name} 压缩比异常（{info.file_size // info.compress_size}:1），疑似压缩炸弹，已拒绝。")
            if info.file_size > limits.max_bytes:
                raise ExtractionError("too_large", f"压缩包中的 {name} 超过单个文件大小上限。")
            data = _read_capped(zf, info, min(limits.max_bytes, budget[0]), name)
            budget[0] -= len(data)
            budget[1] -= 1
            if budget[1] < 0:
                raise ExtractionError("too_many_members", f"压缩包（含内层压缩包）文件数超过上限 {limits.max_archive_members} 个。")
            if _depth == 0 and data[:4] == b"PK\x03\x04" and name.lower().endswith(".zip"):
                inner = expand_archive(io.BytesIO(data), limits, _depth=1, _budget=budget)
                members.extend(ArchiveMember(f"{name}!{m.name}", m.data) for m in inner)
                continue
            members.append(ArchiveMember(name, data))
    return members


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, name: str) -> bytes:
    """Headers can lie about sizes; count what actually comes out."""
    out = bytearray()
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(READ_CHUNK)
                if not chunk:
                    break
                out += chunk
                if len(out) > cap:
                    raise ExtractionError("bomb", f"压缩包中的 {name} 解压后超过大小上限，疑似压缩炸弹，已拒绝。")
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ExtractionError("corrupt", f"压缩包中的 {name} 已损坏，无法解压。") from exc
    except NotImplementedError as exc:
        raise ExtractionError("unsupported", f"压缩包中的 {name} 使用了不支持的压缩方式。") from exc
    return bytes(out)
