"""The data that leaves the extraction stage, and the one error type it raises."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

MB = 1024 * 1024

FORMATS = ("pdf", "docx", "doc", "wps", "rtf", "odt", "xlsx", "html", "txt", "ofd", "image")


@dataclass
class Limits:
    """Resource ceilings for one file; the defaults match evidence.config.Settings."""
    max_bytes: int = 200 * MB
    max_pages: int = 2000
    timeout_s: float = 120
    memory_mb: int = 2048
    max_archive_members: int = 500
    max_archive_total_bytes: int = 512 * MB  # unpacked to disk, inner archives included
    max_compression_ratio: float = 200.0  # over the whole archive and for every member
    max_archive_depth: int = 2  # the upload and one archive inside it
    # OCR can be switched off (tests, quick previews); pages that would need it
    # are then reported through Extraction.needs_ocr instead of silently empty.
    ocr: bool = True
    ocr_languages: str = "chi_sim+eng"
    ocr_dpi: int = 300


class ExtractionError(Exception):
    """A file that cannot be turned into text. `reason` is shown to users as is: what happened in
    the uploader's terms and what to do, never a library's exception name, an id or a path — those
    go to `detail`, which only the server log shows."""

    def __init__(self, code: str, reason: str, detail: str = ""):
        super().__init__(f"{code}: {reason}" + (f" [{detail}]" if detail else ""))
        self.code = code
        self.reason = reason
        self.detail = detail

    def __reduce__(self):  # survive pickling across the sandbox boundary
        return (ExtractionError, (self.code, self.reason, self.detail))


# The words of the failures several readers share: one text per failure, so every format says it alike.
ENCRYPTED_REASON = "文件已加密（需要密码），无法读取。请上传未加密的版本（取消密码后另存一份）。"
INTERNAL_REASON = "处理该文件时程序出错，已记入服务器日志。请点“重新处理”再试一次；仍然失败请联系管理员。"


def encrypted() -> ExtractionError:
    return ExtractionError("encrypted", ENCRYPTED_REASON)


def corrupt(noun: str, cause: BaseException | None = None, what: str = "无法读取") -> ExtractionError:
    """A damaged file of a known format (`noun`: “PDF 文件”, “Word 文件” …), with what the uploader can
    do about it; the library's complaint (`cause`) goes to the log only."""
    return ExtractionError(
        "corrupt", f"{noun}已损坏或不完整，{what}。常见原因是文件没有完整保存、下载或传输时中断；"
                   "请用原来的软件打开后重新另存（或重新导出）一份再上传。", detail=describe(cause))


def internal(cause: BaseException) -> ExtractionError:
    """Anything unforeseen while reading a file: a bug or an environment problem, not something the
    uploader can name; they are told to retry, the log gets the exception."""
    return ExtractionError("internal", INTERNAL_REASON, detail=describe(cause))


def describe(cause: BaseException | None) -> str:
    """An exception as the log should see it: its type and message."""
    if cause is None:
        return ""
    text = str(cause)[:300]
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


@dataclass
class PageText:
    no: int
    text: str
    ocr: bool = False


@dataclass
class Extraction:
    format: str
    pages: list[PageText]
    text: str
    page_starts: list[int]
    metadata: "Metadata"  # noqa: F821 - ingest.metadata.Metadata
    ocr_pages: list[int] = field(default_factory=list)
    needs_ocr: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "pages": [asdict(p) for p in self.pages],
            "text": self.text,
            "page_starts": list(self.page_starts),
            "metadata": self.metadata.to_dict(),
            "ocr_pages": list(self.ocr_pages),
            "needs_ocr": self.needs_ocr,
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> "Extraction":
        from ingest.metadata import Metadata
        return cls(
            format=data["format"],
            pages=[PageText(**p) for p in data["pages"]],
            text=data["text"],
            page_starts=list(data["page_starts"]),
            metadata=Metadata(**data["metadata"]),
            ocr_pages=list(data.get("ocr_pages", [])),
            needs_ocr=bool(data.get("needs_ocr", False)),
            warnings=list(data.get("warnings", [])),
        )


@dataclass
class RawDocument:
    """What a format reader hands to the shared cleaning/metadata stages."""
    format: str
    pages: list[str]
    ocr_pages: list[int] = field(default_factory=list)
    needs_ocr: bool = False
    warnings: list[str] = field(default_factory=list)
    # True for layouts that wrap lines inside paragraphs (PDF, OCR): those need
    # line re-joining and header/footer removal; DOCX/HTML/TXT paragraphs are real.
    layout_lines: bool = False
    hints: dict = field(default_factory=dict)
