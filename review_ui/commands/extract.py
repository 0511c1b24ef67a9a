"""`kaoping extract FILE...`: extraction without a database, for checking files and debugging."""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

# ingest.extract is imported inside the command: it pulls in OpenCC and jieba, which
# every other `kaoping` command would otherwise pay for at start-up.


def _record(name: str, extraction) -> dict:
    meta = extraction.metadata
    return {
        "file": name,
        "format": extraction.format,
        "pages": [{"no": p.no, "text": p.text, "ocr": p.ocr} for p in extraction.pages],
        "text": extraction.text,
        "metadata": {"title": meta.title, "doc_number": meta.doc_number, "issuer": meta.issuer, "date": meta.date,
                     "kind": meta.kind, "unit_code": meta.unit_code, "confidence": meta.confidence},
        "ocr": list(extraction.ocr_pages),
        "needs_ocr": extraction.needs_ocr,
        "warnings": list(extraction.warnings),
    }


def _error(name: str, exc) -> dict:
    record = {"file": name, "error": exc.reason, "code": exc.code}
    if exc.detail:  # what the library said, for the operator; `error` is what an uploader would read
        record["detail"] = exc.detail
    return record


def _iter_results(paths: list[Path], limits):
    """One record per file; archives yield one record per member."""
    from ingest.extract import ExtractionError, extract_file_sandboxed, is_archive, unpack_sandboxed
    for path in paths:
        name = str(path)
        if not path.exists():
            yield {"file": name, "error": "文件不存在。", "code": "missing"}
            continue
        if is_archive(path):
            with tempfile.TemporaryDirectory(prefix="kaoping-unpack-") as tmp:
                try:
                    members = unpack_sandboxed(path, Path(tmp), limits)
                except ExtractionError as exc:
                    yield _error(name, exc)
                    continue
                if not members:
                    yield {"file": name, "error": "压缩包中没有可处理的文件。", "code": "empty"}
                for member in members:
                    member_name = f"{name}!{member.name}"
                    if member.file is None:
                        yield {"file": member_name, "error": member.error or "文件超过大小上限，未解压。",
                               "code": "member"}
                        continue
                    try:
                        yield _record(member_name, extract_file_sandboxed(
                            Path(tmp) / member.file, filename=Path(member.name.split("!")[-1]).name, limits=limits))
                    except ExtractionError as exc:
                        yield _error(member_name, exc)
            continue
        try:
            yield _record(name, extract_file_sandboxed(path, filename=path.name, limits=limits))
        except ExtractionError as exc:
            yield _error(name, exc)


def _summary(record: dict) -> str:
    from ingest.metadata import DOC_KINDS
    if "error" in record:
        return f"✗ {record['file']}\n    失败（{record['code']}）：{record['error']}"
    meta = record["metadata"]
    lines = [f"✓ {record['file']}",
             f"    格式 {record['format']}，{len(record['pages'])} 页，{len(record['text'])} 字"
             + (f"，OCR 页：{record['ocr']}" if record["ocr"] else "")]
    fields = [("标题", meta["title"]), ("文号", meta["doc_number"]), ("发文单位", meta["issuer"]),
              ("日期", meta["date"]), ("类型", DOC_KINDS.get(meta["kind"], meta["kind"])), ("所属单位", meta["unit_code"])]
    lines += [f"    {label}：{value}" for label, value in fields if value]
    lines += [f"    ⚠ {w}" for w in record["warnings"]]
    preview = record["text"][:120].replace("\n", " ")
    if preview:
        lines.append(f"    正文：{preview}{'…' if len(record['text']) > 120 else ''}")
    return "\n".join(lines)


@click.command("extract")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="每个文件输出一行 JSON")
@click.option("--timeout", type=float, default=120, show_default=True, help="单个文件的解析时限（秒）")
@click.option("--memory-mb", type=int, default=2048, show_default=True, help="解析进程内存上限（MB）")
@click.option("--max-mb", type=int, default=200, show_default=True, help="单个文件大小上限（MB）")
@click.option("--no-ocr", is_flag=True, help="不做文字识别（扫描页只给出提示）")
def extract(files: tuple[Path, ...], as_json: bool, timeout: float, memory_mb: int, max_mb: int, no_ocr: bool) -> None:
    """提取文件的文字、分页和公文要素（标题、文号、发文单位、日期），不需要数据库。"""
    from ingest.extract import Limits
    limits = Limits(max_bytes=max_mb * 1024 * 1024, timeout_s=timeout, memory_mb=memory_mb, ocr=not no_ocr)
    failed = total = 0
    for record in _iter_results(list(files), limits):
        total += 1
        failed += "error" in record
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(_summary(record))
    if not as_json:
        click.echo(f"共 {total} 个文件，其中 {failed} 个失败。" if failed else f"共 {total} 个文件，全部成功。")
    if failed:
        sys.exit(2)


COMMANDS = [extract]
