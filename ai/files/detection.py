"""What an uploaded file really is, told from its bytes (never from its name), and whether it can be read.

`file_inspect` reads the file once in chunks: magic bytes for PDF and ZIP (an XLSX is a ZIP holding
`xl/workbook.xml`), a strict UTF-8 check for text, then a real open of PDFs (encrypted or damaged ones are
refused) and workbooks. The name only tells CSV, Markdown and plain text apart once the content is text.
"""

import codecs
import csv
import logging
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

from marketing_ai.errors import ApplicationError

from .models import FileUpload

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
HEAD_BYTES = 64 * 1024
Kind = FileUpload.Kind

CONTENT_TYPES = {
    Kind.CSV: "text/csv",
    Kind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Kind.PDF: "application/pdf",
    Kind.TEXT: "text/plain",
    Kind.MARKDOWN: "text/markdown",
}
SUPPORTED = "CSV, Excel (.xlsx), PDF, plain text or Markdown"
# Binary formats people upload by mistake, named so that the error says what was received.
KNOWN_BINARIES = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a media file"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Office file (.xls/.doc) or a password-protected workbook"),
]
MARKDOWN_MARKS = ("# ", "## ", "### ", "- ", "* ", "```", "> ", "1. ")


class FileRejected(ApplicationError):
    """The file cannot be accepted: 400 (empty, damaged, encrypted), 413 (too large) or 415 (unsupported type)."""


@dataclass(frozen=True)
class Inspected:
    kind: str
    content_type: str
    pages: int | None = None


def _unsupported(what: str) -> FileRejected:
    return FileRejected(f"This file is {what}, which cannot be analysed. Upload {SUPPORTED}.", status=415)


def _damaged(kind_label: str) -> FileRejected:
    return FileRejected(f"The file looks like {kind_label} but it is damaged and cannot be read.", status=400)


def _suffix(name: str) -> str:
    return PurePath(name).suffix.lower()


def _pdf_checked(stream: IO[bytes]) -> Inspected:
    from pypdf import PdfReader

    try:
        reader = PdfReader(stream)
        if reader.is_encrypted:
            raise FileRejected(
                "The PDF is password-protected (encrypted). Remove the password and upload it again.", status=400
            )
        pages = len(reader.pages)
    except FileRejected:
        raise
    except Exception:  # pypdf raises many kinds (PdfReadError, ValueError, KeyError...) on a broken file
        logger.info("Unreadable PDF upload", exc_info=True)
        raise _damaged("a PDF") from None
    if pages == 0:
        raise FileRejected("The PDF has no pages.", status=400)
    return Inspected(kind=Kind.PDF, content_type=CONTENT_TYPES[Kind.PDF], pages=pages)


def _zip_checked(stream: IO[bytes]) -> Inspected:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _damaged("an Excel workbook (ZIP)") from None
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names:
            raise _unsupported("a Word document (save it as PDF first)")
        if "ppt/presentation.xml" in names:
            raise _unsupported("a PowerPoint presentation (save it as PDF first)")
        raise _unsupported("a ZIP archive")
    stream.seek(0)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        sheets = len(workbook.sheetnames)
        workbook.close()
    except Exception:  # openpyxl raises KeyError, ValueError, XML errors... on a broken workbook
        logger.info("Unreadable XLSX upload", exc_info=True)
        raise _damaged("an Excel workbook") from None
    if not sheets:
        raise FileRejected("The workbook has no sheets.", status=400)
    return Inspected(kind=Kind.XLSX, content_type=CONTENT_TYPES[Kind.XLSX])


def _text_checked(stream: IO[bytes], head: bytes, name: str) -> Inspected:
    """Strict UTF-8 over the whole file (a BOM is fine), then CSV, Markdown or plain text."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    has_text = False
    try:
        while chunk := stream.read(CHUNK_BYTES):
            if b"\x00" in chunk:
                raise _unsupported("binary data")
            has_text = has_text or bool(decoder.decode(chunk).strip())
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FileRejected(
            "The file is not UTF-8 text. Save it as UTF-8 (in Excel: CSV UTF-8) and upload it again.", status=415
        ) from None
    if not has_text:
        raise FileRejected("The file has no text in it (only blank lines or spaces).", status=400)
    kind = _text_kind(head.decode("utf-8-sig", errors="ignore"), name)
    return Inspected(kind=kind, content_type=CONTENT_TYPES[kind])


def _text_kind(sample: str, name: str) -> str:
    suffix = _suffix(name)
    if suffix in (".csv", ".tsv"):
        return Kind.CSV
    if suffix in (".md", ".markdown"):
        return Kind.MARKDOWN
    if suffix != ".txt" and looks_tabular(sample):
        return Kind.CSV
    lines = sample.splitlines()
    if suffix != ".txt" and sum(line.startswith(MARKDOWN_MARKS) for line in lines) >= 2:
        return Kind.MARKDOWN
    return Kind.TEXT


def csv_dialect(sample: str) -> type[csv.Dialect] | None:
    """The delimiter and quoting of a CSV sample, or None when it does not look like a table."""
    lines = [line for line in sample.splitlines() if line.strip()][:20]
    if len(lines) < 2:
        return None
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        return None


def looks_tabular(sample: str) -> bool:
    """At least two columns, the same number on the first lines."""
    dialect = csv_dialect(sample)
    if dialect is None:
        return False
    lines = [line for line in sample.splitlines() if line.strip()][:10]
    widths = {len(row) for row in csv.reader(lines[:-1] or lines, dialect)}  # the last may be cut mid-row
    return len(widths) == 1 and widths.pop() >= 2


def file_inspect(*, stream: IO[bytes], name: str) -> Inspected:
    """The file's kind and MIME type from its content; FileRejected (with its status) when it cannot be analysed.

    Leaves `stream` at its start."""
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    try:
        if not head:
            raise FileRejected("The file is empty.", status=400)
        if b"%PDF-" in head[:1024]:
            return _pdf_checked(stream)
        if head.startswith(b"PK\x03\x04"):
            return _zip_checked(stream)
        for magic, what in KNOWN_BINARIES:
            if head.startswith(magic):
                raise _unsupported(what)
        return _text_checked(stream, head, name)
    finally:
        stream.seek(0)
