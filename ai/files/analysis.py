"""A file's summary, key facts and suggested actions, asked of the provider router as JSON.

The model sees the file's profile and its first passages (a bounded prompt, however large the file). An
answer that is not the JSON asked for is replaced by the offline analysis of the same profile and passages
(ai/providers/local_files.py), which is also what the `local` provider answers when no model is configured.
"""

import json
import logging

from ..providers.base import ChatRequest
from ..providers.local_files import file_analysis_compose
from ..router import complete_sync
from .extraction import Passage

logger = logging.getLogger(__name__)

PROMPT_PASSAGE_CHARS = 12_000
PROMPT_COLUMNS = 40
MAX_ITEMS = 8
ANALYSIS_SYSTEM = (
    "You are a digital-marketing analyst. You are given one uploaded file: its name, its measured profile (for "
    "tables: columns with types, counts, sums, min/max and top values) and passages of its text with their place "
    "(page, section, line). Summarise what the file is and what it shows in two or three sentences, list the key "
    "facts a marketer should know (quote real figures and say where they come from), and suggest concrete "
    'next actions. Answer with JSON only: {"summary": str, "facts": [str], "actions": [str]}.'
)
ANALYSIS_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "facts": {"type": "array", "items": {"type": "string"}},
        "actions": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["summary", "facts", "actions"],
}


def _prompt_profile(profile: dict) -> dict:
    """The profile without what only the page needs (sample rows), and at most PROMPT_COLUMNS columns per table."""
    if profile.get("type") != "table":
        return profile
    tables = [
        {key: value for key, value in table.items() if key != "sampleRows"}
        | {"columns": table["columns"][:PROMPT_COLUMNS]}
        for table in profile["tables"]
    ]
    return profile | {"tables": tables}


def _prompt_passages(passages: list[Passage]) -> list[dict]:
    chosen, used = [], 0
    for passage in passages:
        if used + len(passage.text) > PROMPT_PASSAGE_CHARS:
            break
        chosen.append({"label": passage.label, "text": passage.text})
        used += len(passage.text)
    return chosen


def analysis_context(*, name: str, kind: str, profile: dict, passages: list[Passage]) -> dict:
    return {
        "file": {
            "name": name,
            "kind": kind,
            "profile": _prompt_profile(profile),
            "passages": _prompt_passages(passages),
        }
    }


def analysis_parse(raw: str) -> dict | None:
    """`{summary, facts, actions}` from a model's answer (the JSON object in it), or None when it is not that."""
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(raw[start : end + 1])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("summary"), str) or not data["summary"].strip():
        return None
    lists = {}
    for key in ("facts", "actions"):
        items = data.get(key)
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            return None
        lists[key] = [item.strip()[:500] for item in items if item.strip()][:MAX_ITEMS]
    return {"summary": data["summary"].strip()[:2000], **lists}


def file_analysis_generate(
    *, workspace, name: str, kind: str, profile: dict, passages: list[Passage]
) -> tuple[dict, str]:
    """The analysis and the provider that wrote it ("local" when the offline analysis stands in)."""
    context = analysis_context(name=name, kind=kind, profile=profile, passages=passages)
    request = ChatRequest(
        messages=[{"role": "user", "content": f"Analyse the uploaded file {name}."}],
        system=ANALYSIS_SYSTEM,
        context=context,
        purpose="file_analysis",
        max_tokens=1200,
        temperature=0.2,
        json_schema=ANALYSIS_SCHEMA,
    )
    raw, usage = complete_sync(request=request, workspace=workspace, purpose="file_analysis")
    parsed = analysis_parse(raw)
    if parsed is not None and usage.get("provider") not in (None, "", "fallback"):
        return parsed, usage["provider"]
    if raw:
        logger.info("File analysis answer from %s was not the JSON asked for", usage.get("provider"))
    return file_analysis_compose(context), "local"
