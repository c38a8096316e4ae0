"""Text that no database can hold, and the one rule for it.

PostgreSQL text and jsonb refuse U+0000, and no UTF-8 text (PostgreSQL's or SQLite's) can encode a surrogate
code point, which JSON lets a sender write as an unpaired `\\ud83d` escape. Event intake cleans such text
(`storable_text`); the API refuses it in query strings and JSON bodies with a 400.
"""

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE_IN_REPR = re.compile(r"\\x00|\\ud[89a-f]")  # how repr() spells NUL and surrogates: a C-speed scan


def text_is_storable(text: str) -> bool:
    return "\x00" not in text and (text.isascii() or not _SURROGATE.search(text))


def storable_text(text: str) -> str:
    """The cleaning rule: NUL is removed and an unpaired surrogate becomes U+FFFD (README "Integrations")."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def json_is_storable(value) -> bool:
    """Whether every string (keys included) of a JSON-like value is storable. False positives (a literal
    backslash-x-0-0 in a text) only cost the caller its slow path."""
    return not _UNSTORABLE_IN_REPR.search(repr(value)) or _json_walk_is_storable(value)


def _json_walk_is_storable(value) -> bool:
    if isinstance(value, str):
        return text_is_storable(value)
    if isinstance(value, dict):
        return all(_json_walk_is_storable(key) and _json_walk_is_storable(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(_json_walk_is_storable(item) for item in value)
    return True


def json_storable(value):
    """A JSON-like value with `storable_text` applied to every string, keys included."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {json_storable(key): json_storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_storable(item) for item in value]
    return value
