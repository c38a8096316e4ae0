"""The API error contract (DESIGN §4) for requests no app view handles."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_api_path_answers_404_in_the_error_shape(client):
    response = client.get("/api/does-not-exist/")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Not found."}


def test_declared_body_over_the_limit_answers_413_before_reading_it(client, settings):
    settings.API_MAX_BODY_BYTES = 10
    response = client.post("/api/auth/login", data="x" * 11, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["statusCode"] == 413


def test_schema_is_served_as_openapi(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_docs_page_loads_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "swagger-ui" in body
    assert "cdn" not in body.lower()
