"""OpenAPI wiring shared by every app's API: the DESIGN §4 error body, paginated list bodies, and the error answers
that every operation can give whether or not its view names them (a postprocessing hook).

Schemathesis checks the served schema against the live API (tests/test_schema_contract.py), so what is written
here is what the API answers."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer(
    "Error",
    {
        "statusCode": serializers.IntegerField(),
        "message": serializers.CharField(),
        # Field name -> messages; a nested field (a source's config) holds its own field -> messages.
        "errors": serializers.DictField(child=serializers.JSONField(), required=False),
    },
)
ERROR_REF = {"$ref": "#/components/schemas/Error"}

# Why each status can answer an operation; the hook adds those that apply and the view did not name.
ERROR_DESCRIPTIONS = {
    "400": "Invalid input: a field, a query parameter or a body that cannot be read (`errors` per field).",
    "401": "Missing, invalid or expired credentials.",
    "403": "Signed in, but the role may not do this (or the browser's CSRF token is missing).",
    "404": "No such object in the current workspace.",
    "409": "The object is not in a state that allows this, or it changed meanwhile.",
    "413": "The request body is too large.",
    "415": "The request body's content type is not accepted.",
    "429": "Too many requests or attempts; see `Retry-After`.",
    "502": "A provider outside (Shopify, Meta, an AI provider) could not be reached or failed.",
    "503": "A service this needs (the broker, the cache) is unavailable; see `Retry-After`.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}
PAGINATED: dict[str, serializers.Serializer] = {}


def errors(*codes: int) -> dict:
    """`responses` entries for these status codes, each with the error body."""
    return {code: OpenApiResponse(ERROR) for code in codes}


def paginated(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a `PageNumberPagination` page of `serializer_class`: `{count, next, previous, results}`."""
    name = serializer_class.__qualname__.replace(".", "").removesuffix("Output").replace("Api", "")
    if name not in PAGINATED:
        PAGINATED[name] = inline_serializer(
            f"Paginated{name}List",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": serializer_class(many=True),
            },
        )
    return PAGINATED[name]


PAGE_PARAMETERS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}, "description": "Page number."},
    {
        "name": "pageSize",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
        "description": "Results per page (default 50).",
    },
]


def _page_parameters_document(operation: dict) -> None:
    """A paginated answer takes `page` and `pageSize`, with their bounds, whether or not the view named them."""
    ok = operation.get("responses", {}).get("200", {})
    reference = ok.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    if not reference.startswith("#/components/schemas/Paginated"):
        return
    names = {parameter["name"] for parameter in PAGE_PARAMETERS}
    kept = [parameter for parameter in operation.get("parameters", []) if parameter["name"] not in names]
    operation["parameters"] = kept + PAGE_PARAMETERS


def _status_codes_for(method: str, operation: dict) -> list[str]:
    secured = operation.get("security") != []
    codes = ["400", "404", "429"]  # 404: a path id, a filter's id or a page past the end
    if secured:
        codes += ["401", "403"]
    if method in WRITE_METHODS:
        codes += ["409", "502", "503"]
    if "requestBody" in operation:
        codes += ["413", "415"]
    return codes


def error_responses_document(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation lists the error answers it can give, every paginated
    one its page parameters, every optional query parameter that an empty value means "not given"."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    if "Error" not in schemas:  # no view named it yet: the hook is its only user
        schemas["Error"] = {
            "type": "object",
            "properties": {
                "statusCode": {"type": "integer"},
                "message": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {}},
            },
            "required": ["statusCode", "message"],
        }
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            _page_parameters_document(operation)
            for parameter in operation.get("parameters", []):
                # DRF reads `?to=` like a form's empty field: as if it were left out.
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            responses = operation.setdefault("responses", {})
            for code in _status_codes_for(method, operation):
                responses.setdefault(
                    code,
                    {"description": ERROR_DESCRIPTIONS[code], "content": {"application/json": {"schema": ERROR_REF}}},
                )
    return result
