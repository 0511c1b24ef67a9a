"""ZIP uploads: unpacked to disk as a stream inside the sandbox, one document per member.

`unpack_archive` runs in the sandboxed child (ingest/sandbox.py `unpack_sandboxed`): it writes
each member to its own numbered file in a private folder, 1 MiB at a time, so no member is ever
held in memory and a hostile archive can take down only the child. The parent (ingest/submit.py)
then puts every member through the same file rules as a top-level upload.

A whole archive is refused (nothing stored) when it is not safe to unpack at all: an unsafe path,
a corrupt directory, more than `max_archive_members` files (inner archives included), more than
`max_archive_total_bytes` unpacked, a compression ratio above `max_compression_ratio` over the
whole archive or for any one member (small ones too), or a member that unpacks to more than its
header claimed. A problem with one member (encrypted, damaged, nested too deep) is reported on
that member's line and the others go on.
"""
from __future__ import annotations

import posixpath
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from evidence.file_policy import MAGIC_BYTES, member_refusal, safe_name
from ingest.extract.types import ExtractionError, Limits, corrupt

UTF8_NAME_FLAG = 0x800
ENCRYPTED_FLAG = 0x1
SKIP_NAMES = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")
READ_CHUNK = 1024 * 1024
# Ratios are taken over at least this many compressed bytes: a 3 KB blank form squeezed into 20
# bytes is not a bomb, while 1 MiB squeezed into 1 KB (the "500 small members" trick) is.
MEMBER_RATIO_FLOOR = 1024
ARCHIVE_RATIO_FLOOR = 64 * 1024
MB = 1024 * 1024


@dataclass
class UnpackedMember:
    """One member as the parent sees it: its name inside the archive (inner archives as
    outer.zip!inner.txt), the file it was written to (None when not written), its size, and a
    Chinese reason when this member alone could not be unpacked."""
    name: str
    file: str | None
    size: int
    error: str = ""


# A ZIP's structure (ingest/extract/detect.py, the rule extraction uses) → the extensions a file of that
# structure may carry, and what to call it. A DOCX saved as .doc or .wps is common and read as Word.
DOCUMENT_FAMILIES = {
    "docx": ({".docx", ".doc", ".wps"}, "Word 文档（DOCX）"),
    "xlsx": ({".xlsx"}, "Excel 表格（XLSX）"),
    "odt": ({".odt"}, "ODT 文档"),
    "ofd": ({".ofd"}, "OFD 版式文件"),
}
ARCHIVE_SUFFIX = ".zip"
MAX_DOCUMENT_PARTS = 5000  # a Word file with hundreds of pictures has hundreds of parts, not thousands


@dataclass
class ZipKind:
    """What a file that may be a ZIP is to the upload: "file" (not a ZIP at all), "document" (an office
    file or OFD whose structure and extension agree, no part of it executable), "archive" (a .zip, to be
    unpacked member by member), or "refused" with the Chinese reason (nothing of it is kept)."""
    kind: str
    reason: str = ""


def zip_kind(path: Path, filename: str | None = None) -> ZipKind:
    """Decide by the ZIP's end record (zipfile.is_zipfile), not by its first bytes: data put in front of
    a ZIP ("%PDF-1.4" + an archive) does not hide it. A ZIP is unpacked only under a .zip name; under any
    other name it must be the office file or OFD its extension says, every part checked; else refused."""
    path = Path(path)
    name = safe_name(filename or path.name)
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK\x03\x04"):  # local headers without a readable directory: tools still recover members
            return ZipKind("refused", f"“{name}”是已损坏的压缩包或 Office 文件（目录无法读取），无法检查其中的内容，"
                                      "未保存。请重新导出或重新打包后上传。")
        return ZipKind("file")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ARCHIVE_SUFFIX:
        return ZipKind("archive")
    from ingest.extract.detect import sniff_zip
    structure = sniff_zip(path)
    family = DOCUMENT_FAMILIES.get(structure)
    if family is None:
        return ZipKind("refused", f"“{name}”的内容是一个压缩包，与扩展名 {suffix or '（无）'} 不符，未保存。"
                                  "压缩包请以 .zip 为扩展名上传。")
    if suffix not in family[0]:
        return ZipKind("refused", f"“{name}”的内容是 {family[1]}，与扩展名 {suffix or '（无）'} 不符，未保存。"
                                  "请改正扩展名后再上传。")
    if head != b"PK\x03\x04":
        return ZipKind("refused", f"“{name}”的开头附加了不属于{family[1]}的数据，未保存。请用原软件重新保存后上传。")
    problem = _document_part_problem(path)
    if problem:
        return ZipKind("refused", f"“{name}”{problem}，未保存。")
    return ZipKind("document")


def _document_part_problem(path: Path) -> str:
    """Every part of an office file or OFD through the file policy's member rule (its name and first bytes)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_DOCUMENT_PARTS:
                return f"内部结构异常（{len(infos)} 个部件）"
            for info in infos:
                if info.is_dir():
                    continue
                if info.flag_bits & ENCRYPTED_FLAG:
                    return "内部含有加密部件，无法检查"
                with zf.open(info) as part:
                    head = part.read(MAGIC_BYTES)
                problem = member_refusal(member_name(info), head)
                if problem:
                    return problem
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, RuntimeError):
        return "内部结构已损坏，无法检查其中的内容"
    return ""


def is_archive(path: Path, filename: str | None = None) -> bool:
    """A ZIP to unpack member by member — not a DOCX/XLSX/ODT/OFD, which are ZIPs too (zip_kind)."""
    return zip_kind(path, filename).kind == "archive"


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


def _bomb(reason: str) -> ExtractionError:
    return ExtractionError("bomb", f"{reason}，疑似压缩炸弹，已拒绝整个压缩包，未保存任何文件。")


class _Budget:
    """What the whole upload may still unpack, shared by every nesting level so an inner
    archive cannot multiply the allowance."""

    def __init__(self, archive_size: int, limits: Limits):
        self.limits = limits
        by_ratio = int(limits.max_compression_ratio * max(archive_size, ARCHIVE_RATIO_FLOOR))
        self.max_total = min(limits.max_archive_total_bytes, by_ratio)
        self.by_ratio = by_ratio < limits.max_archive_total_bytes
        self.declared = 0
        self.written = 0
        self.members = 0

    def declare(self, infos: list[zipfile.ZipInfo]) -> None:
        self.members += len(infos)
        if self.members > self.limits.max_archive_members:
            raise ExtractionError("too_many_members",
                                  f"压缩包（含内层压缩包）内有 {self.members} 个以上文件，超过上限 "
                                  f"{self.limits.max_archive_members} 个，已拒绝，未保存任何文件。")
        self.declared += sum(i.file_size for i in infos)
        self._check(self.declared)

    def spend(self, n: int) -> None:
        self.written += n
        self._check(self.written)

    def _check(self, total: int) -> None:
        if total > self.max_total:
            if self.by_ratio:
                raise _bomb(f"压缩包解压后超过其自身大小的 {self.limits.max_compression_ratio:g} 倍")
            raise _bomb(f"压缩包解压后超过 {self.limits.max_archive_total_bytes // MB} MB")


def unpack_archive(path: Path, out_dir: Path, limits: Limits | None = None) -> list[dict]:
    """Unpack a ZIP (and ZIPs inside it, to `max_archive_depth` levels) into numbered files
    in out_dir; the manifest as plain dicts (it crosses the sandbox boundary as JSON)."""
    limits = limits or Limits()
    path, out_dir = Path(path), Path(out_dir)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    budget = _Budget(path.stat().st_size, limits)
    members: list[UnpackedMember] = []
    _unpack(path, out_dir, limits, budget, members, depth=1, prefix="")
    return [asdict(m) for m in members]


def _unpack(path: Path, out_dir: Path, limits: Limits, budget: _Budget, members: list[UnpackedMember], *,
            depth: int, prefix: str) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        where = f"中的 {prefix.rstrip('!')} " if prefix else ""
        raise ExtractionError("corrupt", f"压缩包{where}已损坏，无法打开。") from exc
    except OSError as exc:
        raise corrupt("压缩包", exc) from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        for info in infos:  # every whole-archive refusal comes from the headers, before a byte is written
            _check_name(member_name(info))
            ratio = info.file_size / max(info.compress_size, MEMBER_RATIO_FLOOR)
            if ratio > limits.max_compression_ratio:
                raise _bomb(f"压缩包中的 {prefix}{member_name(info)} 压缩比异常（约 {ratio:.0f}:1）")
        budget.declare(infos)
        for info in infos:
            name = member_name(info)
            if any(s in name for s in SKIP_NAMES) or posixpath.basename(name).startswith("~$"):
                continue
            full = prefix + name
            if info.flag_bits & ENCRYPTED_FLAG:
                members.append(UnpackedMember(full, None, info.file_size,
                                              f"“{full}”已加密（需要密码），无法读取，未保存。请上传未加密的文件。"))
                continue
            if info.file_size > limits.max_bytes:  # the parent refuses it by size, with the common message
                members.append(UnpackedMember(full, None, info.file_size))
                continue
            target = out_dir / f"{len(members):05d}"
            problem = _write_member(zf, info, target, budget, full)
            if problem:
                target.unlink(missing_ok=True)
                members.append(UnpackedMember(full, None, info.file_size, problem))
                continue
            if is_archive(target, name):
                if depth >= limits.max_archive_depth:
                    target.unlink()
                    members.append(UnpackedMember(full, None, info.file_size,
                                                  f"“{full}”是第 {depth + 1} 层压缩包，超过 {limits.max_archive_depth} 层的上限，"
                                                  "未展开，未保存。请解开后再上传。"))
                    continue
                inner = target.with_name(target.name + ".zip")
                target.rename(inner)
                _unpack(inner, out_dir, limits, budget, members, depth=depth + 1, prefix=full + "!")
                inner.unlink()
                continue
            members.append(UnpackedMember(full, target.name, target.stat().st_size))


def _write_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: _Budget, name: str) -> str:
    """Stream one member to disk, counting what actually comes out (headers can lie);
    '' when written, else why this member could not be read."""
    written = 0
    try:
        with zf.open(info) as src, open(target, "xb") as out:
            while chunk := src.read(READ_CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise _bomb(f"压缩包中的 {name} 解压后比其声明的大小更大")
                budget.spend(len(chunk))
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile):
        return f"“{name}”已损坏，无法解压，未保存。"
    except NotImplementedError:
        return f"“{name}”使用了不支持的压缩方式，无法解压，未保存。请用常见的 ZIP 压缩方式重新打包。"
    return ""
