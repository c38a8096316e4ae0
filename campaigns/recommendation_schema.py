"""The JSON a model must return for campaign recommendations, and the checks beyond the schema.

Besides the shape, a valid answer covers every non-empty segment exactly once, states each segment's real
audience size, and its rationale cites the count and the analysed date range.
"""

import json
import re

import jsonschema

RECOMMENDATION_ITEM = {
    "type": "object",
    "required": [
        "segment",
        "name",
        "objective",
        "channels",
        "audienceSize",
        "keyMessage",
        "offer",
        "timing",
        "kpiTargets",
        "rationale",
    ],
    "properties": {
        "segment": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 3, "maxLength": 200},
        "objective": {"type": "string", "minLength": 3, "maxLength": 500},
        "channels": {"type": "array", "minItems": 1, "maxItems": 6, "items": {"type": "string", "minLength": 2}},
        "audienceSize": {"type": "integer", "minimum": 0},
        "keyMessage": {"type": "string", "minLength": 3},
        "offer": {"type": "string", "minLength": 2, "maxLength": 500},
        "timing": {"type": "string", "minLength": 2, "maxLength": 500},
        "kpiTargets": {"type": "object", "minProperties": 1},
        "rationale": {"type": "string", "minLength": 10},
    },
}

RECOMMENDATIONS_SCHEMA = {
    "type": "object",
    "required": ["recommendations"],
    "properties": {"recommendations": {"type": "array", "items": RECOMMENDATION_ITEM}},
}


def _cites(text: str, number: int) -> bool:
    """Whether the text quotes the number, plainly or with thousands separators (1234 or 1,234)."""
    return bool(re.search(rf"(?<![\d.,]){number}(?![\d])|(?<![\d.,]){number:,}(?![\d])", text))


def recommendations_parse(raw: str, *, segments: dict[str, int], date_range: dict) -> tuple[list[dict], list[str]]:
    """(recommendations, errors) for a model's raw answer; errors empty means valid."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return [], [f"The answer is not valid JSON: {exc.msg} at position {exc.pos}."]
    validator = jsonschema.Draft202012Validator(RECOMMENDATIONS_SCHEMA)
    errors = [
        f"{'/'.join(str(p) for p in error.absolute_path) or 'root'}: {error.message}"
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        return [], errors[:20]
    items = data["recommendations"]
    produced = [item["segment"] for item in items]
    for name in segments:
        if produced.count(name) != 1:
            errors.append(f"Give exactly one recommendation for segment {name} (found {produced.count(name)}).")
    for name in set(produced) - set(segments):
        errors.append(f"Segment {name} is not one of the non-empty segments: {', '.join(segments)}.")
    days = str(date_range.get("days", ""))
    for item in items:
        count = segments.get(item["segment"])
        if count is None:
            continue
        if item["audienceSize"] != count:
            errors.append(f"{item['segment']}: audienceSize must be {count}, the segment's size.")
        if not _cites(item["rationale"], count):
            errors.append(f"{item['segment']}: the rationale must cite the segment size {count}.")
        rationale = item["rationale"]
        if date_range.get("from", "-") not in rationale and f"{days} days" not in rationale:
            errors.append(
                f"{item['segment']}: the rationale must cite the date range ({date_range.get('from')} to "
                f"{date_range.get('to')}, {days} days)."
            )
    return (items, []) if not errors else ([], errors)
