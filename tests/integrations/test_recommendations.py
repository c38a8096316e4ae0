"""Product recommendations: co-purchase and co-view scores from the events, per customer and per segment, each
with its reason; incremental refreshes equal full ones; API, pages, jobs and the live message."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Membership
from integrations.identity import identity_merge_undo
from integrations.models import Customer as CustomerModel
from integrations.models import (
    CustomerProduct,
    DataSource,
    IdentityMerge,
    Product,
    ProductPair,
    RecommendationState,
)
from integrations.pipeline.schema import EventRecord
from integrations.pipeline.store import events_store
from integrations.recommendations.refresh import workspaces_due
from integrations.recommendations.selectors import products_to_feature, recommendations_for_customer
from integrations.recommendations.services import recommendations_refresh
from integrations.tasks import recommendations_refresh_due_task
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

NAMES = {"A": "Tent", "B": "Sleeping Bag", "C": "Mug", "D": "Socks", "E": "Stove"}


def item(product: str) -> dict:
    return {"items": [{"item_id": product, "item_name": NAMES.get(product, product)}]}


class Events:
    def __init__(self):
        self.n = 0

    def __call__(self, key: str, event_type: str, product: str, *, days: int = 0) -> EventRecord:
        self.n += 1
        return EventRecord(
            external_id=f"r{self.n}",
            event_type=event_type,
            occurred_at=timezone.now() - timedelta(days=5 - days, minutes=self.n),
            customer_key=key,
            value=Decimal("10.00") if event_type == "purchase" else None,
            currency="EUR" if event_type == "purchase" else "",
            properties=item(product),
        )


@pytest.fixture
def source(workspace):
    return DataSource.objects.create(workspace=workspace, source_type="shopify", name="Shop")


@pytest.fixture
def shop(workspace, source):
    """Five customers bought the tent and the sleeping bag, one the tent and a mug, three only the sleeping bag,
    one the mug alone, four the socks alone; customer `new` bought only the tent. Two viewed the stove and the
    tent, three put the tent in their cart without buying (one of them viewed the stove), two viewed socks."""
    event = Events()
    records = []
    for n in range(5):
        records += [event(f"ab{n}", "purchase", "A"), event(f"ab{n}", "purchase", "B")]
    records += [event("ac", "purchase", "A"), event("ac", "purchase", "C")]
    records += [event(f"b{n}", "purchase", "B") for n in range(3)]
    records += [event("c", "purchase", "C"), event("new", "purchase", "A")]
    records += [event(f"d{n}", "purchase", "D") for n in range(4)]
    for key in ("v1", "v2"):
        records += [event(key, "view_item", "E"), event(key, "view_item", "A")]
    records += [event(f"x{n}", "add_to_cart", "A") for n in range(3)] + [event("x0", "view_item", "E")]
    records += [event(f"w{n}", "view_item", "D") for n in range(2)]
    events_store(source=source, records=records)
    return event


def test_scores_have_the_support_confidence_and_lift_of_the_purchases(workspace, shop):
    recommendations_refresh(workspace_id=workspace.id)

    new = CustomerModel.objects.get(customer_key="new")
    bag = recommendations_for_customer(customer=new)[0]
    # A's buyers: 5 + ac + new = 7; 5 of them bought B. B's buyers: 8 of the 15 buyers.
    assert (bag.product_id, bag.name, bag.basis, bag.support) == ("B", "Sleeping Bag", "bought_together", 5)
    assert bag.confidence == round(5 / 7, 4)
    assert bag.lift == round((5 / 7) / (8 / 15), 2)
    assert bag.reason == "bought together with Tent by 5 customers"
    assert ProductPair.objects.get(kind="purchase", product_id="A", other_id="B").customers == 5
    assert Product.objects.get(product_id="A").buyers == 7


def test_a_customer_is_never_offered_what_they_bought_and_weak_pairs_are_left_out(workspace, shop):
    recommendations_refresh(workspace_id=workspace.id)

    offered = {
        r.product_id: r for r in recommendations_for_customer(customer=CustomerModel.objects.get(customer_key="ab0"))
    }

    assert "A" not in offered and "B" not in offered
    assert offered["C"].basis == "popular"  # A -> C: only one customer, below the minimum support of 2


def test_what_a_customer_looked_at_comes_before_co_views(workspace, shop):
    recommendations_refresh(workspace_id=workspace.id)

    carted = CustomerModel.objects.get(customer_key="x1")  # put the tent in the cart, bought nothing
    looked, seen, *others = recommendations_for_customer(customer=carted)

    assert (looked.product_id, looked.basis, looked.reason) == (
        "A",
        "looked_not_bought",
        "viewed or put in the cart 1 time, not bought yet",
    )
    # 3 of the tent's 5 viewers viewed the stove, which 3 of the 7 viewers viewed.
    assert (seen.product_id, seen.basis, seen.support) == ("E", "viewed_together", 3)
    assert seen.lift == round(0.6 / (3 / 7), 2)
    assert seen.reason == "viewed together with Tent by 3 customers"
    assert {r.basis for r in others} == {"popular"}


def test_before_the_first_refresh_there_is_nothing_and_the_api_says_so(jwt_api_client, workspace, shop):
    customer = CustomerModel.objects.get(customer_key="new")

    body = jwt_api_client.get(f"/api/product-recommendations?customer={customer.id}").json()
    state = jwt_api_client.get("/api/product-recommendations/state").json()

    assert body["count"] == 0 and body["results"] == []
    assert state["status"] == "never" and state["refreshedAt"] is None


def snapshot(workspace) -> dict:
    return {
        "customer_products": set(
            CustomerProduct.objects.filter(workspace=workspace).values_list(
                "customer_key", "product_id", "purchases", "views", "last_at"
            )
        ),
        "pairs": set(
            ProductPair.objects.filter(workspace=workspace).values_list("kind", "product_id", "other_id", "customers")
        ),
        "products": set(
            Product.objects.filter(workspace=workspace).values_list("product_id", "name", "buyers", "viewers")
        ),
    }


def test_incremental_refreshes_end_where_a_full_refresh_does_through_new_events_merges_and_undos(
    workspace, source, user
):
    rng = random.Random(3)
    event = Events()

    def batch(size):
        made = []
        for _ in range(size):
            person = rng.randrange(25)
            key = rng.choice([f"u{person}", f"u{person}", f"email:h{person}", ""])
            record = event(key, rng.choice(["purchase", "view_item", "add_to_cart"]), rng.choice("ABCDE"))
            record.anonymous_id = f"cid{person}" if rng.random() < 0.6 else ""
            record.email_sha256 = f"h{person}" if key.startswith("u") and rng.random() < 0.3 else ""
            made.append(record)
        return made

    events_store(source=source, records=batch(150))
    recommendations_refresh(workspace_id=workspace.id)
    for step in range(4):
        events_store(source=source, records=batch(60))
        if step == 2:
            for merge in IdentityMerge.objects.filter(undone_at=None)[:5]:
                identity_merge_undo(merge=merge, user=user)
        state = recommendations_refresh(workspace_id=workspace.id)
        assert state.mode == "incremental"
        incremental = snapshot(workspace)
        recommendations_refresh(workspace_id=workspace.id, full=True)
        assert snapshot(workspace) == incremental, step


def test_a_refresh_announces_itself_to_the_workspace_live(workspace, shop, django_capture_on_commit_callbacks):
    from marketing_ai import live

    sent = []
    original = live._PUBLISHER.put
    live._PUBLISHER.put = lambda group, kind, key, message: sent.append((group, kind, message))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            recommendations_refresh(workspace_id=workspace.id)
    finally:
        live._PUBLISHER.put = original

    assert [(group, kind) for group, kind, _m in sent] == [(f"workspace-{workspace.id}", "recommendations")]
    assert sent[0][2]["data"]["products"] == 5 and sent[0][2]["data"]["mode"] == "full"


def test_the_beat_refreshes_only_workspaces_with_new_events(workspace, shop, source):
    source.last_event_at = timezone.now()
    source.save(update_fields=["last_event_at"])
    assert workspaces_due() == [workspace.id]

    assert recommendations_refresh_due_task() == 1

    assert RecommendationState.objects.get(workspace=workspace).status == "succeeded"
    assert workspaces_due() == []


def test_the_api_pages_a_customers_recommendations_with_their_reasons(jwt_api_client, workspace, shop):
    recommendations_refresh(workspace_id=workspace.id)
    customer = CustomerModel.objects.get(customer_key="new")

    first = jwt_api_client.get(f"/api/product-recommendations?customer={customer.id}&pageSize=1").json()

    assert first["count"] >= 2 and first["next"]
    assert first["results"][0] == {
        "productId": "B",
        "name": "Sleeping Bag",
        "score": round(5 / 7, 4),
        "basis": "bought_together",
        "reason": "bought together with Tent by 5 customers",
        "support": 5,
        "confidence": round(5 / 7, 4),
        "lift": round((5 / 7) / (8 / 15), 2),
        "becauseProductId": "A",
        "becauseName": "Tent",
    }


def test_a_segments_recommendations_say_how_many_of_its_customers_stand_behind_them(jwt_api_client, workspace, shop):
    recommendations_refresh(workspace_id=workspace.id)

    body = jwt_api_client.get("/api/product-recommendations?segment=cart_abandoners").json()

    looked, seen = body["results"][:2]
    assert (looked["productId"], looked["basis"], looked["support"]) == ("A", "looked_not_bought", 3)
    assert looked["reason"] == "viewed or put in the cart by 3 of this segment's 3 customers, who did not buy it"
    assert (seen["productId"], seen["basis"]) == ("E", "viewed_together")
    assert seen["reason"] == "viewed together with Tent by 3 customers; 3 of this segment's 3 customers viewed Tent"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("customer=abc", "customer"),
        ("segment=nope", "segment"),
        ("segment=cart_abandoners&from=2026-13-01", "from"),
    ],
)
def test_bad_queries_answer_400_in_the_error_shape(jwt_api_client, query, field):
    response = jwt_api_client.get(f"/api/product-recommendations?{query}")

    assert response.status_code == 400
    assert response.json()["statusCode"] == 400 and field in response.json()["errors"]


def test_another_workspaces_customer_is_a_404(other_jwt_api_client, workspace, shop):
    customer = CustomerModel.objects.get(customer_key="new")

    response = other_jwt_api_client.get(f"/api/product-recommendations?customer={customer.id}")

    assert response.status_code == 404 and response.json()["statusCode"] == 404


def test_an_editor_refreshes_on_demand_and_a_viewer_is_refused(
    jwt_api_client, other_workspace_user, workspace, shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queued = jwt_api_client.post("/api/product-recommendations/refresh", {"full": True}, format="json")

    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    assert RecommendationState.objects.get(workspace=workspace).status == "succeeded"
    Membership.objects.create(user=other_workspace_user, workspace=workspace, role=Membership.Role.VIEWER)
    other_workspace_user.current_workspace = workspace
    other_workspace_user.save()
    refused = api_client_for(other_workspace_user).post("/api/product-recommendations/refresh", {}, format="json")
    assert refused.status_code == 403 and refused.json()["statusCode"] == 403


def test_the_customer_and_segment_pages_show_the_recommendations(logged_in_client, workspace, shop):
    recommendations_refresh(workspace_id=workspace.id)
    customer = CustomerModel.objects.get(customer_key="new")

    page = logged_in_client.get(f"/sources/customers/{customer.id}/").content.decode()
    segment = logged_in_client.get("/analytics/segments/cart_abandoners/").content.decode()

    assert "Recommended next" in page and "Sleeping Bag" in page and "Bought together with Tent by 5 customers" in page
    assert "Products to offer this segment" in segment and "Stove" in segment and "Not bought yet" in segment
    block = logged_in_client.get(f"/sources/recommendations/?customer={customer.id}", HTTP_HX_REQUEST="true")
    assert block.status_code == 200 and "Sleeping Bag" in block.content.decode()


def test_the_refresh_button_queues_a_refresh_and_shows_the_block(
    logged_in_client, workspace, shop, django_capture_on_commit_callbacks
):
    customer = CustomerModel.objects.get(customer_key="new")
    assert "not computed yet" in logged_in_client.get(f"/sources/customers/{customer.id}/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            f"/sources/recommendations/refresh/?customer={customer.id}", HTTP_HX_REQUEST="true"
        )

    assert response.status_code == 200
    assert logged_in_client.get(f"/sources/customers/{customer.id}/").content.decode().count("Sleeping Bag") >= 1


def test_campaign_content_is_asked_to_feature_the_segments_products(workspace, shop):
    recommendations_refresh(workspace_id=workspace.id)

    featured = products_to_feature(workspace=workspace, segment="cart_abandoners")
    fallback = products_to_feature(workspace=workspace, segment="")

    assert [p.name for p in featured[:2]] == ["Tent", "Stove"]
    assert "3 of this segment's 3 customers" in featured[1].reason
    assert [p.product_id for p in fallback] == ["B", "A", "D"]  # the best sellers: 8, 7 and 4 buyers


def test_dummy_data_has_bundles_that_the_recommendations_find(workspace, user, django_capture_on_commit_callbacks):
    from integrations.services import dummy_data_start

    with django_capture_on_commit_callbacks(execute=True):
        for source_type in ("gtm", "shopify"):
            dummy_data_start(workspace=workspace, source_type=source_type, count=1500, user=user, seed="bundles")
    recommendations_refresh(workspace_id=workspace.id)

    top = ProductPair.objects.filter(workspace=workspace, kind="purchase").order_by("-customers").first()
    from integrations.dummy import BUNDLES

    assert any({top.product_id, top.other_id} <= set(bundle) for bundle in BUNDLES)
    assert IdentityMerge.objects.filter(workspace=workspace, kind="anonymous").exists()
    assert CustomerModel.objects.filter(workspace=workspace, purchase_count__gte=2).exists()
    assert datetime.now(UTC) - CustomerModel.objects.filter(workspace=workspace).order_by(
        "last_seen_at"
    ).first().last_seen_at > timedelta(days=40)
