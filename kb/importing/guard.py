"""What an import will take, and hostile files refused before any parser sees them."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from kb.importing import ImportFailed
from kb.loader import MAX_BODY_CHARS


@dataclass(frozen=True)
class ImportLimits:
    """Bounds on one import (settings import_max_mb, import_max_pages, import_max_ocr_pages,
    import_max_rows): a file's size in MB, a PDF's pages, the pages read by OCR in one file, a sheet's rows."""

    max_mb: int = 50
    max_pages: int = 1000
    max_ocr_pages: int = 50
    max_rows: int = 5000

    @property
    def max_bytes(self) -> int:
        """max_mb in bytes."""
        return self.max_mb * 1024 * 1024


# A zip container (docx, xlsx, odt) that unpacks to more than this, or more than RATIO times its size, is
# refused: real documents compress text about 5-20 times, a zip bomb thousands of times.
MAX_UNPACKED = 512 * 1024 * 1024
MAX_RATIO = 200


def safe_name(name: str) -> str:
    """A file name as shown and stored: no folders (either slash), no control characters, at most 200
    characters; 'file' when nothing is left."""
    name = re.split(r"[\\/]", str(name or ""))[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().lstrip(".")
    return name[:200] or "file"


def check_size(name: str, data: bytes, limits: ImportLimits) -> None:
    """Refuse an empty file or one over the size limit."""
    if not data:
        raise ImportFailed(name, "文件是空的。")
    if len(data) > limits.max_bytes:
        raise ImportFailed(name, f"文件太大：{len(data) / 1048576:.1f} MB，上限 {limits.max_mb} MB。")


def check_body(name: str, chars: int, pages_read: int = 0) -> None:
    """Refuse an article longer than the editor can save (kb.loader.MAX_BODY_CHARS characters): chars is
    its length, or, for a PDF still being read, what pages_read pages hold at least."""
    if chars > MAX_BODY_CHARS:
        so_far = f"读到第 {pages_read} 页已有" if pages_read else "有"
        raise ImportFailed(
            name,
            f"正文{so_far} {chars:,} 字，超过一篇文章 {MAX_BODY_CHARS:,} 字的上限（更长的在编辑器里无法保存）："
            "请把文档拆分成几个文件（例如按章）后再导入。",
        )


def check_zip(name: str, data: bytes) -> zipfile.ZipFile:
    """Open an Office zip container, refusing a corrupt one and a zip bomb (by the sizes it declares, and
    by reading at most MAX_UNPACKED, should it lie)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFailed(name, "文件已损坏或不完整（无法作为 Office 文档打开）。") from None
    declared = sum(m.file_size for m in members)
    if declared > MAX_UNPACKED or declared > MAX_RATIO * max(len(data), 1):
        raise ImportFailed(name, f"文件解压后有 {declared / 1048576:.0f} MB，远超正常文档，疑似压缩炸弹，已拒绝。")
    budget = MAX_UNPACKED
    try:
        for member in members:  # the declared sizes may lie: read, counting
            with archive.open(member) as stream:
                while chunk := stream.read(1 << 20):
                    budget -= len(chunk)
                    if budget < 0:
                        raise ImportFailed(name, "文件解压后远超正常文档，疑似压缩炸弹，已拒绝。")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError):
        raise ImportFailed(name, "文件已损坏或不完整（压缩内容无法读出）。") from None
    return archive
