"""Shopify Admin API client: GraphQL pull with cursor pagination, cost-based throttling and 429 backoff.

Docs: https://shopify.dev/docs/api/usage/rate-limits (THROTTLED, extensions.cost.throttleStatus, Retry-After).
"""

import time
from collections.abc import Callable, Iterator
from datetime import datetime

import httpx
from django.conf import settings

from marketing_ai.errors import ApplicationError, ProviderUnavailable

from .shopify import numeric_id

ORDERS_QUERY = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name email createdAt updatedAt processedAt cancelledAt displayFinancialStatus currencyCode
      totalPriceSet { shopMoney { amount currencyCode } }
      customer { id email firstName lastName }
      lineItems(first: 50) { nodes { sku name quantity product { id } originalUnitPriceSet { shopMoney { amount } } } }
      refunds { id createdAt totalRefundedSet { shopMoney { amount } } }
    }
  }
}
"""
CUSTOMERS_QUERY = """
query Customers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id email firstName lastName createdAt updatedAt numberOfOrders amountSpent { amount currencyCode } }
  }
}
"""
QUERIES = {"orders": ORDERS_QUERY, "customers": CUSTOMERS_QUERY}


def _money(node: dict | None, key: str = "shopMoney") -> str | None:
    if not node:
        return None
    inner = node.get(key) if key else node
    return (inner or {}).get("amount")


def _person(node: dict) -> dict:
    """The identity fields of a GraphQL Customer node, REST-named."""
    return {
        "id": numeric_id(node.get("id")),
        "email": node.get("email"),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
    }


def order_from_graphql(node: dict) -> dict:
    """A GraphQL Order node -> the REST/webhook order shape the mapper reads."""
    customer = node.get("customer") or None
    return {
        "id": numeric_id(node.get("id")),
        "name": node.get("name"),
        "email": node.get("email"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "financial_status": (node.get("displayFinancialStatus") or "").lower(),
        "currency": node.get("currencyCode")
        or ((node.get("totalPriceSet") or {}).get("shopMoney") or {}).get("currencyCode"),
        "total_price": _money(node.get("totalPriceSet")),
        "customer": customer and _person(customer),
        "line_items": [
            {
                "product_id": numeric_id((line.get("product") or {}).get("id")),
                "sku": line.get("sku"),
                "title": line.get("name"),
                "quantity": line.get("quantity"),
                "price": _money(line.get("originalUnitPriceSet")),
            }
            for line in ((node.get("lineItems") or {}).get("nodes") or [])
        ],
        "refunds": [
            {
                "id": numeric_id(r.get("id")),
                "created_at": r.get("createdAt"),
                "total_refunded": _money(r.get("totalRefundedSet")),
            }
            for r in node.get("refunds") or []
        ],
    }


def customer_from_graphql(node: dict) -> dict:
    return {
        **_person(node),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "orders_count": node.get("numberOfOrders"),
        "total_spent": _money(node.get("amountSpent"), key=""),
    }


class ShopifyClient:
    """One shop's Admin API. `sleep` is injectable and every wait is scaled by SHOPIFY_BACKOFF_SCALE."""

    def __init__(
        self,
        *,
        shop_domain: str,
        access_token: str,
        api_version: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        version = api_version or settings.SHOPIFY_API_VERSION
        self.base_url = settings.SHOPIFY_API_URL.format(shop=shop_domain, version=version).rstrip("/")
        self.http = httpx.Client(
            headers={"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"},
            timeout=settings.SHOPIFY_TIMEOUT_SECONDS,
            transport=transport,
        )
        self.sleep = sleep
        self.waits: list[float] = []

    def _wait(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), settings.SHOPIFY_MAX_BACKOFF_SECONDS)
        self.waits.append(seconds)
        self.sleep(seconds * settings.SHOPIFY_BACKOFF_SCALE)

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self.http.request(method, self.base_url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable("Shopify could not be reached.") from exc

    def shop(self) -> dict:
        """GET the shop endpoint: proves the domain exists and the token works."""
        response = self._send("GET", "/shop.json")
        if response.status_code in (401, 403):
            raise ApplicationError("Shopify rejected the access token (check its Admin API scopes).")
        if response.status_code == 404:
            raise ApplicationError("No Shopify store answers at this shop domain.")
        if response.status_code >= 400:
            raise ProviderUnavailable(f"Shopify answered {response.status_code}.")
        try:
            return response.json().get("shop") or {}
        except ValueError as exc:
            raise ProviderUnavailable("Shopify sent an unreadable answer.") from exc

    def graphql(self, query: str, variables: dict) -> dict:
        """POST one GraphQL query, honouring 429 Retry-After and THROTTLED cost errors with bounded retries."""
        for _attempt in range(settings.SHOPIFY_MAX_ATTEMPTS):
            response = self._send("POST", "/graphql.json", json={"query": query, "variables": variables})
            if response.status_code == 429:
                self._wait(float(response.headers.get("Retry-After") or 2))
                continue
            if response.status_code in (401, 403):
                raise ApplicationError("Shopify rejected the access token (check its Admin API scopes).")
            if response.status_code >= 500:
                raise ProviderUnavailable(f"Shopify answered {response.status_code}.")
            if response.status_code >= 400:
                raise ApplicationError(f"Shopify refused the query ({response.status_code}).")
            try:
                body = response.json()
            except ValueError as exc:
                raise ProviderUnavailable("Shopify sent an unreadable answer.") from exc
            cost = (body.get("extensions") or {}).get("cost") or {}
            errors = body.get("errors") or []
            if any((error.get("extensions") or {}).get("code") == "THROTTLED" for error in errors):
                self._wait(self._throttle_wait(cost))
                continue
            if errors:
                raise ApplicationError("Shopify refused the query: " + str(errors[0].get("message", ""))[:200])
            status = cost.get("throttleStatus") or {}
            if status and status.get("currentlyAvailable", 1e9) < cost.get("requestedQueryCost", 0):
                self._wait(self._throttle_wait(cost))  # pace the next call before Shopify has to refuse it
            return body.get("data") or {}
        raise ProviderUnavailable("Shopify kept throttling the sync; it will be retried.", retry_after=60)

    @staticmethod
    def _throttle_wait(cost: dict) -> float:
        status = cost.get("throttleStatus") or {}
        needed = float(cost.get("requestedQueryCost") or 100) - float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 50) or 50
        return max(needed / rate, 1.0)

    def pages(
        self, *, resource: str, updated_since: str | None, after: str | None, page_size: int | None = None
    ) -> Iterator[tuple[list[dict], str | None, str | None]]:
        """Yield (REST-shaped objects, endCursor, max updatedAt) page by page, from `after` onwards."""
        search = f"updated_at:>'{updated_since}'" if updated_since else None
        convert = order_from_graphql if resource == "orders" else customer_from_graphql
        while True:
            data = self.graphql(
                QUERIES[resource],
                {"first": page_size or settings.SHOPIFY_PAGE_SIZE, "after": after, "query": search},
            )
            connection = data.get(resource) or {}
            nodes = connection.get("nodes") or []
            info = connection.get("pageInfo") or {}
            after = info.get("endCursor") or after
            stamps = [node.get("updatedAt") for node in nodes if node.get("updatedAt")]
            yield [convert(node) for node in nodes], after, max(stamps, default=None)
            if not info.get("hasNextPage"):
                return


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
