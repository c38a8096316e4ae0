"""Bad input gets a clear 4xx in the error shape and changes nothing; never a 500."""

import pytest

from integrations.models import DataSource

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "parameter"),
    [("/api/customers?search=a%00b", "search"), ("/api/events?customer=a%00b&type=page_view", "customer")],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_the_parameter(jwt_api_client, path, parameter):
    response = jwt_api_client.get(path)

    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and "NUL" in body["message"]
    assert list(body["errors"]) == [parameter]


def test_a_nul_in_a_page_query_is_the_400_page(logged_in_client):
    response = logged_in_client.get("/sources/customers/?q=a%00b")

    assert response.status_code == 400 and b"<html" in response.content.lower()


def test_an_encoded_percent_sign_is_not_a_nul(jwt_api_client):
    assert jwt_api_client.get("/api/customers?search=100%2500").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        '{"sourceType": "gtm", "name": "Site", "config": {"containerId": "GTM-ABC1234", "note": "a\\u0000b"}}',
        '{"sourceType": "gtm", "name": "Site \\ud83d", "config": {"containerId": "GTM-ABC1234"}}',
    ],
    ids=["nul", "lone-surrogate"],
)
def test_json_text_no_database_can_hold_is_a_400_and_nothing_is_created(jwt_api_client, body):
    response = jwt_api_client.post("/api/data-sources", data=body, content_type="application/json")

    assert response.status_code == 400
    assert "cannot be stored" in response.json()["message"]
    assert not DataSource.objects.exists()


@pytest.mark.parametrize(("path", "status"), [("/no-such-page/", 404), ("/sources/new/", 400)])
def test_a_malformed_multipart_body_from_a_signed_in_browser_is_a_4xx_page_not_a_500(user, path, status):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    token = "k" * 32  # a CSRF secret: 32 letters or digits
    browser.cookies["csrftoken"] = token

    response = browser.generic(
        "POST", path, b"garbage", content_type="multipart/form-data; boundary=", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == status and b"<html" in response.content.lower()
