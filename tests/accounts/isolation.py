"""Tenant-isolation assertions that every app's tests reuse (DESIGN §3: another workspace's object is a 404).

from tests.accounts.isolation import assert_hidden_from_other_workspace
assert_hidden_from_other_workspace(other_jwt_api_client, f"/api/campaigns/{campaign.id}")
"""

from collections.abc import Iterable

NOT_FOUND = 404


def assert_hidden_from_other_workspace(
    client, url: str, *, methods: Iterable[str] = ("get", "patch", "put", "delete"), body: dict | None = None
) -> None:
    """Each method on `url` answers 404 in the API error shape for a client of another workspace."""
    for method in methods:
        call = getattr(client, method)
        response = call(url, body or {}, format="json") if method in ("post", "patch", "put") else call(url)
        assert response.status_code == NOT_FOUND, f"{method.upper()} {url} answered {response.status_code}, not 404"
        assert response.json()["statusCode"] == NOT_FOUND


def assert_page_hidden_from_other_workspace(client, url: str) -> None:
    """An HTML page of another workspace's object answers 404 (not 403, not 200)."""
    response = client.get(url)
    assert response.status_code == NOT_FOUND, f"GET {url} answered {response.status_code}, not 404"
