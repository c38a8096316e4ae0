"""Integrations test helpers: sources made through our services, and a fake Shopify Admin API over real HTTP."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.models import DataSource


@pytest.fixture
def gtm_source(workspace, user):
    return DataSource.objects.create(
        workspace=workspace, source_type="gtm", name="Site tag", config={"containerId": "GTM-ABC1234"}, created_by=user
    )


@pytest.fixture
def pixel_source(workspace, user):
    return DataSource.objects.create(
        workspace=workspace, source_type="facebook_pixel", name="Pixel", config={"pixelId": "123456789012345"}
    )


@pytest.fixture
def sources(workspace):
    """A site (GTM) and a shop (Shopify) of the workspace: the two sources the rollup and window tests mix."""
    return [
        DataSource.objects.create(workspace=workspace, source_type="gtm", name="Site"),
        DataSource.objects.create(workspace=workspace, source_type="shopify", name="Shop"),
    ]


class FakeShopify:
    """Serves /shop.json and /graphql.json from scripted pages; `script` entries may be throttles or errors."""

    def __init__(self):
        self.orders: list[dict] = []
        self.customers: list[dict] = []
        self.page_size = 2
        self.script: list = []  # consumed one per GraphQL call: "throttled", "429", "500", or None (normal)
        self.requests: list[dict] = []
        self.token = "shpat_test_token_123456"
        self.fail_on_page: dict[str, int] = {}  # resource -> 1-based page that answers 500 (once)

    def graphql(self, variables: dict, query: str) -> tuple[int, dict, dict]:
        action = self.script.pop(0) if self.script else None
        if action == "429":
            return 429, {"Retry-After": "2"}, {"errors": "Exceeded 2 calls per second for api client."}
        if action == "throttled":
            return (
                200,
                {},
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": 202,
                            "actualQueryCost": None,
                            "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 2, "restoreRate": 50},
                        }
                    },
                },
            )
        resource = "orders" if "orders(" in query else "customers"
        rows = self.orders if resource == "orders" else self.customers
        since = variables.get("query")
        if since:
            stamp = since.split(">", 1)[1].strip("'")
            rows = [row for row in rows if row["updatedAt"] > stamp]
        start = int(variables["after"].split(":")[1]) if variables.get("after") else 0
        page_number = start // self.page_size + 1
        if self.fail_on_page.get(resource) == page_number:
            del self.fail_on_page[resource]
            return 500, {}, {"errors": "Internal error"}
        page = rows[start : start + self.page_size]
        end = start + len(page)
        body = {
            "data": {resource: {"nodes": page, "pageInfo": {"hasNextPage": end < len(rows), "endCursor": f"c:{end}"}}},
            "extensions": {
                "cost": {
                    "requestedQueryCost": 52,
                    "actualQueryCost": 12,
                    "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 900, "restoreRate": 50},
                }
            },
        }
        return 200, {}, body


def shopify_order(number: int, *, updated: str = "2026-11-01T10:00:00Z", customer: int = 1, total: str = "20.00"):
    return {
        "id": f"gid://shopify/Order/{number}",
        "name": f"#{number}",
        "email": f"buyer{customer}@example.com",
        "createdAt": "2026-10-30T10:00:00Z",
        "updatedAt": updated,
        "processedAt": "2026-10-30T10:00:00Z",
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "currencyCode": "EUR",
        "totalPriceSet": {"shopMoney": {"amount": total, "currencyCode": "EUR"}},
        "customer": {
            "id": f"gid://shopify/Customer/{customer}",
            "email": f"buyer{customer}@example.com",
            "firstName": "Buyer",
            "lastName": str(customer),
        },
        "lineItems": {
            "nodes": [
                {
                    "sku": "SKU-1",
                    "name": "Mug",
                    "quantity": 1,
                    "product": {"id": "gid://shopify/Product/9"},
                    "originalUnitPriceSet": {"shopMoney": {"amount": total}},
                }
            ]
        },
        "refunds": [],
    }


@pytest.fixture
def fake_shopify(settings):
    fake = FakeShopify()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status, headers, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            fake.requests.append({"path": self.path, "token": self.headers.get("X-Shopify-Access-Token")})
            if self.headers.get("X-Shopify-Access-Token") != fake.token:
                return self._send(401, {}, {"errors": "[API] Invalid API key or access token"})
            if self.path.endswith("/shop.json"):
                return self._send(200, {}, {"shop": {"name": "Test shop"}})
            return self._send(404, {}, {"errors": "Not Found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length))
            fake.requests.append({"path": self.path, "variables": payload.get("variables")})
            if self.headers.get("X-Shopify-Access-Token") != fake.token:
                return self._send(401, {}, {"errors": "[API] Invalid API key or access token"})
            status, headers, body = fake.graphql(payload.get("variables") or {}, payload.get("query", ""))
            return self._send(status, headers, body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SHOPIFY_API_URL = f"http://127.0.0.1:{server.server_address[1]}/{{shop}}/admin/api/{{version}}"
    settings.SHOPIFY_BACKOFF_SCALE = 0.0
    fake.url = settings.SHOPIFY_API_URL
    yield fake
    server.shutdown()
    server.server_close()
