"""Request parsers: DRF's JSON parser, hardened."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from .text import json_is_storable


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, plus a 400 for absurdly deep nesting (json raises RecursionError, not ValueError) and for
    text no database can hold (NUL, unpaired surrogates: marketing_ai/text.py)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        if not json_is_storable(data):
            raise ParseError(
                "it holds NUL characters or unpaired surrogates (\\u0000, \\ud800-\\udfff), which cannot be stored."
            )
        return data
