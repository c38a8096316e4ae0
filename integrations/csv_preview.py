"""CSV preview: the guessed column mapping and the first rows as they would be imported, with per-row errors."""

import io
import itertools

from django.core.files.storage import default_storage
from django.utils import timezone

from marketing_ai.errors import ApplicationError

from .adapters import csv as csv_adapter
from .pipeline.runner import items_map


def csv_preview(*, path: str, mapping: dict | None = None, rows: int = csv_adapter.MAX_ROWS_PREVIEW) -> dict:
    """Headers, mapping, and up to `rows` mapped rows (or their errors) of a stored CSV file."""
    with default_storage.open(path, "rb") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        try:
            headers, reader = csv_adapter.rows_iter(text)
            sample = list(itertools.islice(reader, rows))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApplicationError("The file is not a UTF-8 CSV file.") from exc
    if not headers:
        raise ApplicationError("The file has no header row.")
    mapping = mapping or csv_adapter.mapping_guess(headers)
    mapper = csv_adapter.make_mapper(mapping)
    lines = []
    for number, row in enumerate(sample, start=1):
        result = items_map(items=[row], mapper=mapper, received_at=timezone.now(), start_index=number)
        lines.append(
            {
                "number": number,
                "record": result.records[0] if result.records else None,
                "error": result.rejected[0]["reason"] if result.rejected else "",
            }
        )
    return {"headers": headers, "mapping": mapping, "rows": lines}
