"""What is in a file, read as a stream: tables profiled, documents cut into quotable passages.

Nothing here holds a whole file in memory. A CSV is read row by row with the csv module and a workbook through
openpyxl's read-only mode; each row goes into a scratch SQLite table on disk, and the profile (counts, sums,
min/max, distinct and top values) is computed there in SQL. PDFs are read page by page with pypdf, text and
Markdown line by line. `on_progress(fraction)` is called as the reading moves on (0.0 to 1.0).
"""

import contextlib
import csv
import io
import logging
import math
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO

from .detection import HEAD_BYTES, csv_dialect
from .models import FileUpload

logger = logging.getLogger(__name__)

Kind = FileUpload.Kind
Progress = Callable[[float], None]

MAX_COLUMNS = 60
MAX_SHEETS = 10
INSERT_BATCH_ROWS = 5_000
PROGRESS_EVERY_ROWS = 20_000
TOP_VALUES = 5
SAMPLE_ROWS = 5
CELL_PREVIEW_CHARS = 80
PASSAGE_CHARS = 1_500
MAX_PASSAGES = 2_000
MAX_HEADINGS = 30
DATE_SAMPLE = 50
BOOLEAN_WORDS = ("true", "false", "yes", "no")
CURRENCY_MARKS = "$€£¥ "
CSV_FIELD_LIMIT = 1024 * 1024


class ExtractionError(Exception):
    """The file passed the upload checks but its content cannot be read to the end; the message is for the user."""


@dataclass
class Passage:
    label: str
    text: str
    page: int | None = None


@dataclass
class Extracted:
    profile: dict
    passages: list[Passage] = field(default_factory=list)


NUMBER_START = frozenset("0123456789-+.$€£¥")


def _number(text: str) -> float | None:
    """The value of a numeric cell ("1234.5", "1,234.50", "$12", "15%"), or None."""
    # Cheap refusals first (most text cells): float() would also take "nan" and "inf", and a dash past the
    # first character without an exponent is a date or a code, not a number.
    if text[0] not in NUMBER_START or ("-" in text[1:] and "e" not in text and "E" not in text):
        return None
    try:
        value = float(text)
    except ValueError:
        cleaned = text.strip(CURRENCY_MARKS).rstrip("%").replace(",", "")
        if not cleaned or cleaned == text:
            return None
        try:
            value = float(cleaned)
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def _cell(value) -> tuple[str | None, float | None]:
    """A cell as (text, number): text for counting and top values, number when it is one."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, int | float):
        return (None, None) if isinstance(value, float) and not math.isfinite(value) else (f"{value:g}", float(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat(), None
    text = str(value).strip()
    return (text, _number(text)) if text else (None, None)


def _rounded(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else round(value, 6)


def _is_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
        return True
    except ValueError:
        pass
    for pattern in ("%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y"):
        try:
            datetime.strptime(text, pattern)  # noqa: DTZ007 (only asks whether it parses)
            return True
        except ValueError:
            continue
    return False


def _column_names(header: Iterable) -> list[str]:
    """Unique, non-empty names for the header cells."""
    names, seen = [], set()
    for index, cell in enumerate(header, start=1):
        name = (str(cell).strip() if cell is not None else "")[:100] or f"column {index}"
        base, suffix = name, 2
        while name.lower() in seen:
            name, suffix = f"{base} ({suffix})", suffix + 1
        seen.add(name.lower())
        names.append(name)
    return names


class TableProfiler:
    """Rows in, a column profile out. Rows wait in a scratch SQLite table on disk, so memory stays flat however
    many there are; each column is stored twice: as text (counts, top values) and as a number when it is one."""

    def __init__(self, *, header: list, name: str, scratch_dir: str):
        self.name = name
        self.all_columns = _column_names(header)
        self.columns = self.all_columns[:MAX_COLUMNS]
        self.width = len(self.columns)
        self.rows = 0
        self.ragged = 0
        self.sample: list[list[str]] = []
        self._batch: list[tuple] = []
        self._db = sqlite3.connect(Path(scratch_dir) / f"table-{id(self)}.sqlite3")
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-16000", "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        fields = ", ".join(f"t{i} TEXT, n{i} REAL" for i in range(self.width))
        self._db.execute(f"CREATE TABLE t ({fields})")
        self._insert = f"INSERT INTO t VALUES ({', '.join(['?'] * 2 * self.width)})"

    def add(self, cells: list) -> None:
        if len(cells) != len(self.all_columns):
            self.ragged += 1
        values: list = []
        extend = values.extend
        for cell in cells[: self.width]:
            if type(cell) is str:  # every CSV cell: the hot path
                text = cell.strip()
                extend((text, _number(text)) if text else (None, None))
            else:
                extend(_cell(cell))
        if len(cells) < self.width:
            values.extend([None] * 2 * (self.width - len(cells)))
        self.rows += 1
        if len(self.sample) < SAMPLE_ROWS:
            self.sample.append([(values[2 * i] or "")[:CELL_PREVIEW_CHARS] for i in range(self.width)])
        self._batch.append(tuple(values))
        if len(self._batch) >= INSERT_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._db.executemany(self._insert, self._batch)
            self._batch = []

    def _aggregates(self) -> list[tuple]:
        """Per column, in one scan of the table: filled, numeric, integral, booleans, sum, min, max, mean of the
        numbers, and min/max of the text."""
        words = ", ".join(f"'{word}'" for word in BOOLEAN_WORDS)
        parts = []
        for index in range(self.width):
            text, number = f"t{index}", f"n{index}"
            parts += [
                f"COUNT({text})",
                f"COUNT({number})",
                f"SUM({number} = CAST({number} AS INTEGER))",
                f"SUM(lower({text}) IN ({words}))",
                f"SUM({number})",
                f"MIN({number})",
                f"MAX({number})",
                f"AVG({number})",
                f"MIN({text})",
                f"MAX({text})",
            ]
        row = self._db.execute(f"SELECT {', '.join(parts)} FROM t").fetchone()
        return [row[i : i + 10] for i in range(0, len(row), 10)]

    def _groups(self, index: int) -> tuple[int, list[dict]]:
        """Distinct values and the most common ones, from one grouping of the column."""
        text = f"t{index}"
        rows = self._db.execute(
            f"SELECT {text}, c, COUNT(*) OVER () FROM (SELECT {text}, COUNT(*) AS c FROM t "
            f"WHERE {text} IS NOT NULL GROUP BY {text}) ORDER BY c DESC, 1 LIMIT ?",
            (TOP_VALUES,),
        ).fetchall()
        distinct = rows[0][2] if rows else 0
        return distinct, [{"value": value[:CELL_PREVIEW_CHARS], "count": count} for value, count, _ in rows]

    def _column(self, index: int, name: str, aggregates: tuple) -> dict:
        filled, numeric, integral, booleans, total, low, high, mean, text_low, text_high = aggregates
        distinct, tops = self._groups(index) if filled else (0, [])
        column = {"name": name, "type": "empty", "filled": filled, "empty": self.rows - filled, "distinct": distinct}
        if not filled:
            return column
        if numeric == filled:
            column["type"] = "integer" if integral == numeric else "number"
        elif numeric >= 0.9 * filled:
            column["type"], column["invalid"] = "number", filled - numeric
        elif booleans == filled:
            column["type"] = "boolean"
        elif all(_is_date(value) for value in self._sample(index)):
            column["type"] = "date"
        else:
            column["type"] = "text"
        if column["type"] in ("integer", "number"):
            column |= {"sum": _rounded(total), "min": _rounded(low), "max": _rounded(high), "mean": _rounded(mean)}
        elif column["type"] == "date" and _iso(text_low) and _iso(text_high):
            column |= {"min": text_low, "max": text_high}
        repeats = distinct < filled  # all-distinct values (ids, e-mails) have no "most common"
        if repeats and (column["type"] not in ("integer", "number") or distinct <= 10):
            column["topValues"] = tops
        return column

    def _sample(self, index: int) -> list[str]:
        text = f"t{index}"
        return [
            row[0] for row in self._db.execute(f"SELECT {text} FROM t WHERE {text} IS NOT NULL LIMIT ?", (DATE_SAMPLE,))
        ]

    def finish(self) -> dict:
        """The profile of the rows added; the scratch table is dropped."""
        self._flush()
        try:
            aggregates = self._aggregates()
            columns = [self._column(index, name, aggregates[index]) for index, name in enumerate(self.columns)]
        finally:
            self._db.close()
        return {
            "name": self.name,
            "rowCount": self.rows,
            "columnCount": len(self.all_columns),
            "columnsProfiled": self.width,
            "raggedRows": self.ragged,
            "columns": columns,
            "sampleRows": self.sample,
        }


def _iso(value: str | None) -> bool:
    if not value:
        return False
    try:
        datetime.fromisoformat(value)
        return True
    except ValueError:
        return False


def _money(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def column_passage_text(table: dict, column: dict) -> str:
    """One column's profile as a sentence the chat can quote."""
    text = f"Column {column['name']} ({column['type']}): {column['filled']:,} of {table['rowCount']:,} rows filled"
    if column.get("sum") is not None:
        text += (
            f"; sum {_money(column['sum'])}, min {_money(column['min'])}, max {_money(column['max'])}, "
            f"average {_money(column['mean'])}"
        )
    elif column.get("min"):
        text += f"; from {column['min']} to {column['max']}"
    if column.get("topValues"):
        tops = ", ".join(f"{top['value']} ({top['count']:,})" for top in column["topValues"])
        text += f"; most common: {tops}"
    return text + f"; {column['distinct']:,} distinct values."


def _table_passages(table: dict, prefix: str) -> list[Passage]:
    names = ", ".join(column["name"] for column in table["columns"])
    overview = Passage(
        label=f"{prefix}overview".strip(),
        text=f"{table['rowCount']:,} rows and {table['columnCount']} columns: {names}.",
    )
    return [overview] + [
        Passage(label=f"{prefix}column {column['name']}", text=column_passage_text(table, column))
        for column in table["columns"]
    ]


def _csv_rows(stream: IO[bytes], *, size: int, on_progress: Progress) -> Iterator[list[str]]:
    head = stream.read(HEAD_BYTES).decode("utf-8-sig", errors="ignore")
    stream.seek(0)
    dialect = csv_dialect(head) or csv.excel
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, dialect)
    previous_limit = csv.field_size_limit(CSV_FIELD_LIMIT)
    try:
        for number, row in enumerate(reader, start=1):
            if number % PROGRESS_EVERY_ROWS == 0:
                on_progress(min(stream.tell() / size, 1.0) if size else 0.0)
            yield row
    except csv.Error as exc:
        raise ExtractionError(f"The CSV cannot be read past line {reader.line_num}: {exc}.") from None
    finally:
        csv.field_size_limit(previous_limit)
        text.detach()  # the caller closes the underlying file


def _profile_rows(rows: Iterator, *, name: str, scratch_dir: str) -> dict | None:
    """The profile of one table (the first non-empty row is its header); None when it has no rows at all."""
    header = None
    for row in rows:
        if any(cell not in (None, "") for cell in row):
            header = list(row)
            break
    if header is None:
        return None
    while header and header[-1] in (None, ""):  # trailing empty header cells (common in workbooks)
        header.pop()
    profiler = TableProfiler(header=header, name=name, scratch_dir=scratch_dir)
    for row in rows:
        if any(cell not in (None, "") for cell in row):
            profiler.add(list(row))
    return profiler.finish()


def tables_profile(*, stream: IO[bytes], kind: str, name: str, size: int, on_progress: Progress) -> Extracted:
    """Profile a CSV (one table) or a workbook (one table per sheet with data, up to MAX_SHEETS)."""
    tables = []
    with tempfile.TemporaryDirectory(prefix="file-profile-") as scratch:
        if kind == Kind.CSV:
            table = _profile_rows(_csv_rows(stream, size=size, on_progress=on_progress), name=name, scratch_dir=scratch)
            tables = [table] if table else []
        else:
            tables = _workbook_tables(stream, scratch=scratch, on_progress=on_progress)
    if not tables:
        raise ExtractionError("The file has no rows to analyse.")
    passages = []
    for table in tables:
        prefix = f"sheet {table['name']}, " if kind == Kind.XLSX else ""
        passages += _table_passages(table, prefix)
    profile = {
        "type": "table",
        "rowCount": sum(table["rowCount"] for table in tables),
        "tables": tables,
    }
    return Extracted(profile=profile, passages=passages)


def _workbook_tables(stream: IO[bytes], *, scratch: str, on_progress: Progress) -> list[dict]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception:
        raise ExtractionError("The workbook cannot be opened.") from None
    try:
        sheets = workbook.worksheets[:MAX_SHEETS]
        tables = []
        for position, sheet in enumerate(sheets):
            expected = sheet.max_row or 0

            def rows(sheet=sheet, position=position, expected=expected):
                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                    if number % PROGRESS_EVERY_ROWS == 0 and expected:
                        on_progress((position + min(number / expected, 1.0)) / len(sheets))
                    yield row

            table = _profile_rows(rows(), name=sheet.title, scratch_dir=scratch)
            if table:
                tables.append(table)
            on_progress((position + 1) / len(sheets))
        return tables
    except ExtractionError:
        raise
    except Exception:
        logger.info("Workbook read failed", exc_info=True)
        raise ExtractionError("The workbook cannot be read to the end; it may be damaged.") from None
    finally:
        workbook.close()


WHITESPACE = re.compile(r"[ \t\u00a0]+")


def _clean(text: str) -> str:
    lines = [WHITESPACE.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


class PassageCutter:
    """Text in, passages of about PASSAGE_CHARS out, cut at line ends; counts words of everything it sees,
    keeps passages only up to MAX_PASSAGES."""

    def __init__(self):
        self.passages: list[Passage] = []
        self.words = 0
        self.characters = 0
        self.truncated = False
        self._buffer: list[str] = []
        self._length = 0
        self._label = ""
        self._page: int | None = None
        self._first_line: int | None = None

    def add(self, line: str, *, label: str = "", page: int | None = None, line_number: int | None = None) -> None:
        """Add one line; without a label, passages are labelled by the line they start at."""
        if (label, page) != (self._label, self._page):
            self.flush()
            self._label, self._page = label, page
        self.words += len(line.split())
        self.characters += len(line)
        if self._length + len(line) > PASSAGE_CHARS:
            self.flush()
        if not self._buffer:
            self._first_line = line_number
        while len(line) > PASSAGE_CHARS:  # one enormous line: split it at a space
            cut = line.rfind(" ", 0, PASSAGE_CHARS)
            cut = cut if cut > 0 else PASSAGE_CHARS
            self._buffer, self._length = [line[:cut]], cut
            self.flush()
            self._first_line = line_number
            line = line[cut:].lstrip()
        if line:
            self._buffer.append(line)
            self._length += len(line) + 1

    def flush(self) -> None:
        text = "\n".join(self._buffer).strip()
        self._buffer, self._length = [], 0
        if not text:
            return
        if len(self.passages) >= MAX_PASSAGES:
            self.truncated = True
            return
        label = self._label or (f"line {self._first_line}" if self._first_line else "text")
        self.passages.append(Passage(label=label, text=text, page=self._page))


def pdf_extract(*, stream: IO[bytes], on_progress: Progress) -> Extracted:
    """Text per page; a page whose text cannot be extracted is counted, not fatal (unless all of them are)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(stream)
        if reader.is_encrypted:
            raise ExtractionError("The PDF is password-protected (encrypted).")
        total = len(reader.pages)
    except ExtractionError:
        raise
    except Exception:
        raise ExtractionError("The PDF is damaged and cannot be read.") from None
    cutter = PassageCutter()
    pages_with_text, unreadable = 0, 0
    for number in range(1, total + 1):
        try:
            text = _clean(reader.pages[number - 1].extract_text() or "")
        except Exception:
            logger.info("PDF page %s unreadable", number, exc_info=True)
            unreadable += 1
            text = ""
        if text:
            pages_with_text += 1
            for line in text.splitlines():
                cutter.add(line, label=f"page {number}", page=number)
        # Parsed pages stay cached in the reader; drop them so that memory does not grow with the page count.
        with contextlib.suppress(AttributeError):
            reader.resolved_objects.clear()
            reader.flattened_pages = None
        on_progress(number / total)
    cutter.flush()
    if unreadable == total:
        raise ExtractionError("No page of the PDF could be read; it may be damaged.")
    profile = {
        "type": "document",
        "pageCount": total,
        "pagesWithText": pages_with_text,
        "unreadablePages": unreadable,
        "words": cutter.words,
        "characters": cutter.characters,
        "passages": len(cutter.passages),
        "truncated": cutter.truncated,
    }
    if not pages_with_text:
        profile["note"] = "No text layer: the PDF holds only images (scanned pages), which are not read."
    return Extracted(profile=profile, passages=cutter.passages)


HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def text_extract(*, stream: IO[bytes], kind: str, size: int, on_progress: Progress) -> Extracted:
    """Passages of a text file by runs of lines, or of a Markdown file by section (its headings label them)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline=None)
    cutter = PassageCutter()
    headings: list[str] = []
    section = ""
    try:
        for number, raw in enumerate(text, start=1):
            line = WHITESPACE.sub(" ", raw).strip()
            if number % PROGRESS_EVERY_ROWS == 0 and size:
                on_progress(min(stream.tell() / size, 1.0))
            heading = HEADING.match(line) if kind == Kind.MARKDOWN else None
            if heading:
                line = section = heading.group(2)[:150]
                if len(headings) < MAX_HEADINGS:
                    headings.append(section)
            label = (f"section {section}" if section else "introduction") if kind == Kind.MARKDOWN else ""
            if line:
                cutter.add(line, label=label, line_number=number)
    finally:
        text.detach()
    cutter.flush()
    profile = {
        "type": "document",
        "words": cutter.words,
        "characters": cutter.characters,
        "passages": len(cutter.passages),
        "truncated": cutter.truncated,
    }
    if kind == Kind.MARKDOWN:
        profile["headings"] = headings
    return Extracted(profile=profile, passages=cutter.passages)


def file_extract(*, stream: IO[bytes], kind: str, name: str, size: int, on_progress: Progress) -> Extracted:
    """Profile or passages of a stored file, by kind; ExtractionError when its content cannot be read."""
    if kind in (Kind.CSV, Kind.XLSX):
        return tables_profile(stream=stream, kind=kind, name=name, size=size, on_progress=on_progress)
    if kind == Kind.PDF:
        return pdf_extract(stream=stream, on_progress=on_progress)
    return text_extract(stream=stream, kind=kind, size=size, on_progress=on_progress)
