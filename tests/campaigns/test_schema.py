"""The OpenAPI schema matches what the campaign and data-source endpoints return (nullable fields, list shapes)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(
    "component, field",
    [
        ("Campaign", "recommendationId"),
        ("DataSource", "lastSyncAt"),
        ("BrandProfile", "updatedAt"),
        ("Step", "decidedAt"),
    ],
)
def test_nullable_fields_are_documented_as_nullable(schema, component, field):
    components = schema["components"]["schemas"]
    name = next(key for key in components if key.startswith(component) and field in components[key]["properties"])
    assert components[name]["properties"][field].get("nullable") is True


def test_variant_list_is_documented_as_an_object_with_results(schema):
    operation = schema["paths"]["/api/campaigns/{campaign_id}/variants"]["get"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][ref]["properties"]["results"]["type"] == "array"
