"""The analytics API: overview, validation, segment audiences with evidence, CSV and Meta exports, isolation."""

import hashlib

import pytest

from tests.integrations.analysis_data import Events, customer_create, source_create

pytestmark = pytest.mark.django_db

OVERVIEW = "/api/analytics/overview"
RANGE = "from=2026-03-01&to=2026-03-30"


def customers_url(name, suffix="customers"):
    return f"/api/analytics/segments/{name}/{suffix}?{RANGE}"


@pytest.fixture
def source(workspace):
    return source_create(workspace)


@pytest.fixture
def abandoners(workspace, source):
    """Two abandoners (carol twice in cart, gina once) and a buyer; profiles with e-mails for two of them."""
    events = Events(workspace, source)
    events.add("carol", "add_to_cart", "30", times=2).add("gina", "add_to_cart", "20")
    events.add("buyer", "add_to_cart").add("buyer", "purchase", "250")
    events.save()
    customer_create(workspace, "carol", email="  Carol.Buyer@Example.COM ", first_name="Carol")
    customer_create(workspace, "buyer", email="buyer@example.com")
    return workspace


def test_overview_answers_the_analysis_in_camel_case(jwt_api_client, abandoners):
    response = jwt_api_client.get(f"{OVERVIEW}?{RANGE}")

    assert response.status_code == 200
    body = response.json()
    assert body["range"] == {"from": "2026-03-01", "to": "2026-03-30", "days": 30, "timeZone": "UTC"}
    assert body["rowCounts"] == {"events": 5, "customers": 3}
    assert body["segments"]["cart_abandoners"]["count"] == 2
    assert body["revenue"] == "250.00"
    assert {"averageOrderValue", "eventsBySource", "timeSeries", "engagement", "funnel"} <= set(body)


def test_overview_requires_authentication(anonymous_api_client):
    assert anonymous_api_client.get(OVERVIEW).status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("source=abc", "source"),
        ("source=0", "source"),
        ("from=2026-03-10&to=2026-03-01", "to"),
        ("from=2000-01-01&to=2026-03-01", "from"),
    ],
)
def test_overview_rejects_bad_filters_with_a_400_naming_the_field(jwt_api_client, query, field):
    response = jwt_api_client.get(f"{OVERVIEW}?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert list(body["errors"]) == [field]


def test_a_source_of_another_workspace_is_a_404(jwt_api_client, other_workspace_user):
    foreign = source_create(other_workspace_user.current_workspace)

    response = jwt_api_client.get(f"{OVERVIEW}?source={foreign.id}")

    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Data source not found."}


def test_the_other_workspace_sees_none_of_these_events(other_jwt_api_client, abandoners):
    body = other_jwt_api_client.get(f"{OVERVIEW}?{RANGE}").json()

    assert body["rowCounts"] == {"events": 0, "customers": 0}
    assert other_jwt_api_client.get(customers_url("cart_abandoners")).json()["count"] == 0


def test_segment_customers_say_why_each_is_in_the_segment(jwt_api_client, abandoners):
    response = jwt_api_client.get(customers_url("cart_abandoners"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    by_key = {member["customerKey"]: member for member in body["results"]}
    assert set(by_key) == {"carol", "gina"}
    carol = by_key["carol"]
    assert carol["email"] == "  Carol.Buyer@Example.COM "
    assert carol["firstName"] == "Carol"
    assert carol["why"]["addToCart"] == 2
    assert carol["why"]["purchases"] == 0
    assert carol["why"]["lastAddToCartAt"].startswith("2026-03-10T12:00:00")
    assert carol["reason"] == "Added to cart 2 time(s) and never purchased."
    assert by_key["gina"]["customerId"] and by_key["gina"]["email"] == ""  # a profile from its events alone


def test_high_value_members_show_their_spend_and_the_threshold(jwt_api_client, abandoners):
    body = jwt_api_client.get(customers_url("high_value_customers")).json()

    assert [(m["customerKey"], m["why"]) for m in body["results"]] == [
        ("buyer", {"purchases": 1, "purchaseValue": "250.00", "threshold": "100.00"})
    ]


def test_segment_customers_are_paginated(jwt_api_client, workspace, source):
    events = Events(workspace, source)
    for n in range(7):
        events.add(f"v{n}", "page_view")
    events.save()

    first = jwt_api_client.get(customers_url("new_visitors") + "&pageSize=3").json()
    last = jwt_api_client.get(customers_url("new_visitors") + "&pageSize=3&page=3").json()

    assert first["count"] == 7
    assert len(first["results"]) == 3
    assert first["next"]
    assert len(last["results"]) == 1


def test_segment_customer_queries_do_not_grow_with_the_page(
    jwt_api_client, workspace, source, django_assert_max_num_queries
):
    events = Events(workspace, source)
    for n in range(40):
        events.add(f"v{n}", "page_view")
        customer_create(workspace, f"v{n}", email=f"v{n}@example.com")
    events.save()

    with django_assert_max_num_queries(8):
        response = jwt_api_client.get(customers_url("new_visitors") + "&pageSize=40")

    assert len(response.json()["results"]) == 40


def test_an_unknown_segment_is_a_404(jwt_api_client):
    for suffix in ("customers", "customers/export", "meta-audience"):
        response = jwt_api_client.get(customers_url("big_spenders", suffix))
        assert response.status_code == 404
        assert response.json()["statusCode"] == 404


def test_segment_export_is_a_csv_of_every_member(jwt_api_client, abandoners):
    response = jwt_api_client.get(customers_url("cart_abandoners", "customers/export"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="cart_abandoners.csv"' in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("customer_key,email,first_name,last_name,events")
    assert len(lines) == 3
    assert any(line.startswith("carol,") and "never purchased" in line for line in lines)


def test_meta_audience_file_holds_sha256_of_trimmed_lowercased_emails(jwt_api_client, abandoners, workspace):
    customer_create(workspace, "gina", email_sha256="AB" * 32)  # only the hash is known

    response = jwt_api_client.get(customers_url("cart_abandoners", "meta-audience"))

    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "email"
    expected = "090841f6fa35f6b826452a8851c5ba8c8c8cac7554e38721d8d36cdc2c006930"  # sha256("carol.buyer@example.com")
    assert sorted(lines[1:]) == sorted([expected, "ab" * 32])
    assert hashlib.sha256(b"buyer@example.com").hexdigest() not in lines  # not an abandoner


def test_exports_respect_tenant_isolation(other_jwt_api_client, abandoners):
    response = other_jwt_api_client.get(customers_url("cart_abandoners", "meta-audience"))

    assert b"".join(response.streaming_content).decode() == "email\n"
