"""The rule builder's form: posted rows (`c-<n>-<key>`) to the rules JSON and back. Shape only; the rules are
validated by `rules.rules_validate` in the services, whose field errors are mapped back onto the rows here."""

import re

from accounts.display import label
from integrations.analysis.queries import SEGMENTS

from .rules import COMPARISONS, EVENT_TYPES, PREDICTION_FIELDS, TOTAL_FIELDS, condition_types

ROW_KEY = re.compile(r"^c-(\d{1,2})-type$")
COMPARISON_LABELS = {"gte": "at least", "gt": "more than", "lte": "at most", "lt": "less than", "eq": "exactly"}
BLANK_ROW = {"type": "total", "field": "orders", "op": "gte", "value": "1", "days": 30}


def builder_choices() -> dict:
    """The options of every select of a rule row."""
    return {
        "types": [(kind, text) for kind, text in condition_types().items()],
        "segments": [(name, label(name)) for name in SEGMENTS],
        "event_types": [(name, label(name)) for name in EVENT_TYPES],
        "totals": list(TOTAL_FIELDS.items()),
        "predictions": list(PREDICTION_FIELDS.items()),
        "comparisons": [(op, COMPARISON_LABELS[op]) for op in COMPARISONS],
    }


def rows_from_post(post) -> list[dict]:
    """The posted rows in order, each with the fields of every type (the row's type picks which count)."""
    indexes = sorted(int(match.group(1)) for key in post if (match := ROW_KEY.match(key)))
    rows = []
    for index in indexes:
        value = lambda key, i=index: post.get(f"c-{i}-{key}", "").strip()  # noqa: E731
        rows.append(
            {
                "type": value("type"),
                "segment": value("segment"),
                "segment_op": value("segment_op") or "in",
                "event_type": value("event_type"),
                "event_op": value("event_op") or "did",
                "days": value("days"),
                "field": value("field"),
                "prediction": value("prediction"),
                "op": value("op"),
                "value": value("value"),
            }
        )
    return rows


def rules_from_rows(*, match: str, rows: list[dict]) -> dict:
    """The rules JSON the rows describe (what the API would receive)."""
    conditions = []
    for row in rows:
        kind = row["type"]
        if kind == "segment":
            conditions.append(
                {"type": kind, "segment": row["segment"], "op": row["segment_op"], "days": _int(row["days"])}
            )
        elif kind == "event":
            conditions.append(
                {"type": kind, "eventType": row["event_type"], "op": row["event_op"], "days": _int(row["days"])}
            )
        elif kind == "prediction":
            conditions.append({"type": kind, "field": row["prediction"], "op": row["op"], "value": row["value"]})
        else:
            conditions.append({"type": kind, "field": row["field"], "op": row["op"], "value": row["value"]})
    return {"match": match, "conditions": conditions}


def _int(text: str):
    return int(text) if text.isdigit() else text


def rows_from_rules(rules: dict) -> list[dict]:
    """Rows for the builder from stored rules (editing an audience)."""
    rows = []
    for condition in rules.get("conditions", []):
        row = {**BLANK_ROW, "type": condition["type"], "segment_op": "in", "event_op": "did"}
        if condition["type"] == "segment":
            row.update(segment=condition["segment"], segment_op=condition["op"], days=condition["days"])
        elif condition["type"] == "event":
            row.update(event_type=condition["eventType"], event_op=condition["op"], days=condition["days"])
        elif condition["type"] == "prediction":
            row.update(prediction=condition["field"], op=condition["op"], value=condition["value"])
        else:
            row.update(field=condition["field"], op=condition["op"], value=condition["value"])
        rows.append(row)
    return rows


def blank_row() -> dict:
    return {**BLANK_ROW, "segment_op": "in", "event_op": "did"}


def row_errors(errors: dict, count: int) -> tuple[list[list[str]], list[str]]:
    """Field errors of `rules.conditions[i].x` as one list per row, and the others (match, name...) apart."""
    per_row: list[list[str]] = [[] for _ in range(count)]
    general = []
    for key, messages in errors.items():
        found = re.match(r"^rules\.conditions\[(\d+)\](?:\.(\w+))?$", key)
        if found and int(found.group(1)) < count:
            where = f"{found.group(2)}: " if found.group(2) else ""
            per_row[int(found.group(1))].extend(f"{where}{message}" for message in messages)
        else:
            general.extend(messages)
    return per_row, general
