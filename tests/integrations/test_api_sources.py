"""Data-source API: per-type config validation, connection tests against fake providers, masked secrets."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.models import DataSource

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_meta(settings):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            good = "access_token=EAAB-good-token-0123456789" in self.path
            body = json.dumps({"id": "123456789012345", "name": "Pixel"} if good else {"error": {"code": 190}})
            self.send_response(200 if good else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.META_GRAPH_URL = f"http://127.0.0.1:{server.server_address[1]}/{{version}}"
    yield seen
    server.shutdown()
    server.server_close()


def create(api, source_type, config, name="My source"):
    return api.post("/api/data-sources", {"sourceType": source_type, "name": name, "config": config}, format="json")


def test_creating_a_gtm_source_returns_its_write_key(jwt_api_client, workspace):
    response = create(jwt_api_client, "gtm", {"containerId": "gtm-abc1234", "measurementId": "G-XYZ123"})
    assert response.status_code == 201
    body = response.json()
    assert body["sourceType"] == "gtm" and body["config"] == {"containerId": "GTM-ABC1234", "measurementId": "G-XYZ123"}
    assert body["writeKey"].startswith("wk_") and body["collectUrl"].endswith(body["writeKey"])
    assert DataSource.objects.get(id=body["id"]).workspace == workspace


def test_bad_config_gets_a_message_per_field(jwt_api_client):
    response = create(jwt_api_client, "gtm", {"containerId": "UA-1234", "measurementId": "nope", "extra": 1})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"config.containerId", "config.measurementId", "config.extra"}
    response = create(jwt_api_client, "shopify", {"shopDomain": "example.com", "apiVersion": "v1"})
    assert set(response.json()["errors"]) == {"config.shopDomain", "config.accessToken", "config.apiVersion"}
    response = create(jwt_api_client, "facebook_pixel", {"pixelId": "12ab"})
    assert set(response.json()["errors"]) == {"config.pixelId"}
    assert DataSource.objects.count() == 0


def test_an_unknown_source_type_is_400(jwt_api_client):
    response = create(jwt_api_client, "tiktok", {})
    assert response.status_code == 400 and "sourceType" in response.json()["errors"]


def test_shopify_source_is_created_after_a_real_call_and_its_secrets_are_masked(jwt_api_client, fake_shopify):
    config = {
        "shopDomain": "demo.myshopify.com",
        "accessToken": fake_shopify.token,
        "webhookSecret": "whsec-0123456789",
    }
    response = create(jwt_api_client, "shopify", config)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert fake_shopify.requests[0]["path"].endswith("/demo.myshopify.com/admin/api/2025-10/shop.json")
    assert fake_shopify.token not in json.dumps(body) and "whsec-0123456789" not in json.dumps(body)
    assert body["config"]["accessToken"].startswith("••••") and body["writeKey"] is None
    assert body["webhookUrl"] == f"/api/webhooks/shopify/{body['id']}"
    source = DataSource.objects.get(id=body["id"])
    assert source.secrets["accessToken"] == fake_shopify.token and "accessToken" not in source.config
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM integrations_datasource WHERE id = %s", [source.id])
        assert fake_shopify.token not in cursor.fetchone()[0]


def test_shopify_refusing_the_token_is_a_400_with_the_reason(jwt_api_client, fake_shopify):
    response = create(jwt_api_client, "shopify", {"shopDomain": "demo.myshopify.com", "accessToken": "wrong"})
    assert response.status_code == 400
    assert "access token" in response.json()["message"]
    assert DataSource.objects.count() == 0


def test_an_unreachable_shop_is_a_400_with_the_reason(jwt_api_client, settings):
    settings.SHOPIFY_API_URL = "http://127.0.0.1:9/{shop}/admin/api/{version}"
    response = create(jwt_api_client, "shopify", {"shopDomain": "demo.myshopify.com", "accessToken": "x" * 20})
    assert response.status_code == 400 and "could not be reached" in response.json()["message"]


def test_a_pixel_with_an_access_token_is_checked_on_the_graph_api(jwt_api_client, fake_meta):
    good = create(
        jwt_api_client, "facebook_pixel", {"pixelId": "123456789012345", "accessToken": "EAAB-good-token-0123456789"}
    )
    assert good.status_code == 201 and good.json()["writeKey"]
    assert fake_meta[0].startswith("/v21.0/123456789012345")
    bad = create(
        jwt_api_client, "facebook_pixel", {"pixelId": "123456789012345", "accessToken": "EAAB-bad-token-000000000"}
    )
    assert bad.status_code == 400 and "Meta" in bad.json()["message"]


def test_list_get_patch_and_delete(jwt_api_client, gtm_source):
    assert [s["id"] for s in jwt_api_client.get("/api/data-sources").json()["results"]] == [gtm_source.id]
    assert jwt_api_client.get(f"/api/data-sources/{gtm_source.id}").json()["name"] == "Site tag"
    patched = jwt_api_client.patch(
        f"/api/data-sources/{gtm_source.id}",
        {"name": "Renamed", "status": "paused", "config": {"containerId": "GTM-NEW9999"}},
        format="json",
    )
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["status"], patched.json()["config"]["containerId"]) == (
        "Renamed",
        "paused",
        "GTM-NEW9999",
    )
    bad = jwt_api_client.patch(f"/api/data-sources/{gtm_source.id}", {"config": {"containerId": "x"}}, format="json")
    assert bad.status_code == 400 and "config.containerId" in bad.json()["errors"]
    assert jwt_api_client.delete(f"/api/data-sources/{gtm_source.id}").status_code == 204
    assert not DataSource.objects.exists()


def test_another_workspace_source_is_a_404_everywhere(other_jwt_api_client, gtm_source):
    base = f"/api/data-sources/{gtm_source.id}"
    assert other_jwt_api_client.get(base).status_code == 404
    assert other_jwt_api_client.patch(base, {"name": "x"}, format="json").status_code == 404
    assert other_jwt_api_client.delete(base).status_code == 404
    assert other_jwt_api_client.post(base + "/sync").status_code == 404
    assert other_jwt_api_client.get("/api/data-sources").json()["results"] == []
    assert DataSource.objects.filter(id=gtm_source.id, name="Site tag").exists()


def test_anonymous_callers_are_401(anonymous_api_client):
    assert anonymous_api_client.get("/api/data-sources").status_code == 401
