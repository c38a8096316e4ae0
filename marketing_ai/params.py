"""Query parameters read as strictly as the OpenAPI schema documents them: a value the schema calls invalid is a
400 with the parameter named, never silently the default."""

from rest_framework.exceptions import ValidationError

TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


def query_flag(request, name: str) -> bool:
    """`?name=true|false` (also 1/0, yes/no); absent is false."""
    raw = request.query_params.get(name, "").lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ValidationError({name: ["Enter true or false."]})
