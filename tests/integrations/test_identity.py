"""Identity stitching in the pipeline's customer step: anonymous histories join the customer who identifies, keys
of one hashed e-mail join one person, every join is recorded and undoable, and the analysis counts people."""

import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from integrations.analysis.selectors import analysis_overview
from integrations.identity import identity_merge_undo
from integrations.models import Customer, CustomerDayRollup, Event, IdentityMerge, StitchedEvent
from integrations.pipeline.schema import EventRecord
from integrations.pipeline.store import events_store
from marketing_ai.errors import Conflict, PermissionDenied
from tests.integrations.raw_overview import raw_overview
from tests.integrations.test_rollups import rollup_rows, totals_only
from tests.integrations.threaded_store import store_from_threads

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 10, 9, tzinfo=UTC)
PERIOD = {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31)}
HASH = hashlib.sha256(b"ada@example.com").hexdigest()


def event(n: int, event_type: str, *, key: str = "", anon: str = "", minutes: int = 0, **extra) -> EventRecord:
    return EventRecord(
        external_id=f"e{n}",
        event_type=event_type,
        occurred_at=DAY + timedelta(minutes=minutes or n),
        customer_key=key,
        anonymous_id=anon,
        **extra,
    )


def browse_then_buy() -> tuple[list[EventRecord], list[EventRecord]]:
    browse = [
        event(1, "page_view", anon="cid.1"),
        event(2, "view_item", anon="cid.1"),
        event(3, "add_to_cart", anon="cid.1"),
    ]
    buy = [
        event(4, "begin_checkout", anon="cid.1", key="u1"),
        event(5, "purchase", anon="cid.1", key="u1", value=Decimal("40.00"), currency="EUR"),
    ]
    return browse, buy


@pytest.fixture
def source(workspace):
    from integrations.models import DataSource

    return DataSource.objects.create(workspace=workspace, source_type="gtm", name="Site")


@pytest.fixture
def shop(workspace):
    from integrations.models import DataSource

    return DataSource.objects.create(workspace=workspace, source_type="shopify", name="Shop")


def test_an_anonymous_browse_then_a_purchase_is_one_person_in_the_segments_and_the_funnel(workspace, source):
    browse, buy = browse_then_buy()
    events_store(source=source, records=browse)
    events_store(source=source, records=buy)

    person = Customer.objects.get(workspace=workspace)
    assert person.customer_key == "u1"
    assert (person.event_count, person.purchase_count, person.total_value) == (5, 1, Decimal("40.00"))
    assert set(Event.objects.values_list("customer_key", flat=True)) == {"u1"}
    overview = analysis_overview(workspace=workspace, **PERIOD)
    assert [step["customers"] for step in overview["funnel"]["steps"]][:4] == [1, 1, 1, 1]
    assert overview == raw_overview(workspace=workspace, **PERIOD)
    merge = IdentityMerge.objects.get()
    assert (merge.kind, merge.value, merge.customer_key, merge.reason) == ("anonymous", "cid.1", "u1", "identified")
    assert merge.evidence["externalId"] == "e4"
    assert StitchedEvent.objects.filter(merge=merge).count() == 3


def test_a_visitor_identified_in_the_same_batch_is_one_person(workspace, source):
    browse, buy = browse_then_buy()

    events_store(source=source, records=browse + buy)

    assert list(Customer.objects.values_list("customer_key", "event_count")) == [("u1", 5)]
    assert analysis_overview(workspace=workspace, **PERIOD) == raw_overview(workspace=workspace, **PERIOD)


def test_later_anonymous_events_of_an_identified_visitor_are_stored_under_the_customer(workspace, source):
    browse, buy = browse_then_buy()
    events_store(source=source, records=browse + buy)

    events_store(source=source, records=[event(6, "page_view", anon="cid.1", minutes=600)])

    assert Event.objects.get(external_id="e6").customer_key == "u1"
    assert Customer.objects.get().event_count == 6
    assert StitchedEvent.objects.count() == 4


def test_a_shop_customer_id_and_the_same_hashed_email_from_the_pixel_are_one_person(workspace, source, shop):
    pixel = [
        event(1, "view_item", key=f"email:{HASH}", email_sha256=HASH),
        event(2, "add_to_cart", key=f"email:{HASH}", email_sha256=HASH, value=Decimal("12.00"), currency="EUR"),
    ]
    events_store(source=source, records=pixel)
    assert Customer.objects.count() == 2 - 1  # only the pixel's key so far

    order = event(3, "purchase", key="7712", email="ada@example.com", email_sha256=HASH, first_name="Ada")
    order.value, order.currency = Decimal("55.00"), "EUR"
    events_store(source=shop, records=[order])

    person = Customer.objects.get(workspace=workspace)
    assert (person.customer_key, person.first_name, person.event_count) == ("7712", "Ada", 3)
    assert set(Event.objects.values_list("customer_key", flat=True)) == {"7712"}
    merge = IdentityMerge.objects.get()
    assert (merge.kind, merge.value, merge.reason) == ("customer", f"email:{HASH}", "same_email")
    assert analysis_overview(workspace=workspace, **PERIOD) == raw_overview(workspace=workspace, **PERIOD)
    assert CustomerDayRollup.objects.filter(customer=person).count() == 2  # one per source


def test_later_events_under_a_joined_key_go_to_the_person(workspace, source, shop):
    events_store(source=source, records=[event(1, "view_item", key=f"email:{HASH}", email_sha256=HASH)])
    events_store(source=shop, records=[event(2, "sign_up", key="7712", email_sha256=HASH)])

    events_store(source=source, records=[event(3, "add_to_cart", key=f"email:{HASH}", email_sha256=HASH)])

    assert list(Customer.objects.values_list("customer_key", "event_count")) == [("7712", 3)]


def test_a_key_of_an_empty_hashed_email_joins_nobody(workspace, source):
    events_store(source=source, records=[event(1, "page_view", key="u1"), event(2, "page_view", key="u2")])

    events_store(source=source, records=[event(3, "view_item", key="email:")])

    assert IdentityMerge.objects.count() == 0
    assert sorted(Customer.objects.values_list("customer_key", flat=True)) == ["email:", "u1", "u2"]


def test_reprocessing_the_same_batches_changes_nothing(workspace, source, shop):
    browse, buy = browse_then_buy()
    batches = [(source, browse), (source, buy), (source, [event(9, "view_item", key=f"email:{HASH}")])]
    batches.append((shop, [event(10, "sign_up", key="7712", email_sha256=HASH)]))
    for store_source, batch in batches:
        events_store(source=store_source, records=batch)
    once = totals_only(rollup_rows())
    joins = list(IdentityMerge.objects.values_list("kind", "value", "customer_key"))

    for store_source, batch in batches + batches[::-1]:
        events_store(source=store_source, records=batch)

    assert totals_only(rollup_rows()) == once
    assert list(IdentityMerge.objects.values_list("kind", "value", "customer_key")) == joins
    assert StitchedEvent.objects.count() == 3 + 1


def test_undo_gives_the_anonymous_history_back_and_the_pipeline_does_not_join_it_again(workspace, source, user):
    browse, buy = browse_then_buy()
    events_store(source=source, records=browse)
    before = totals_only(rollup_rows())
    events_store(source=source, records=buy)

    identity_merge_undo(merge=IdentityMerge.objects.get(), user=user)

    assert Event.objects.filter(customer_key="").count() == 3
    person = Customer.objects.get()
    assert (person.event_count, person.purchase_count) == (2, 1)
    assert StitchedEvent.objects.count() == 0
    assert analysis_overview(workspace=workspace, **PERIOD) == raw_overview(workspace=workspace, **PERIOD)
    events_store(source=source, records=[*buy, event(7, "page_view", anon="cid.1", key="u1", minutes=900)])
    assert Event.objects.filter(customer_key="").count() == 3
    assert IdentityMerge.objects.get().undone_at is not None
    assert before["EventRollup"] != totals_only(rollup_rows())["EventRollup"]  # the buy is still there


def test_undo_of_a_key_join_restores_the_customer_with_its_profile_and_events(workspace, source, shop, user):
    pixel = [
        event(1, "view_item", key=f"email:{HASH}", email_sha256=HASH),
        event(2, "add_to_cart", key=f"email:{HASH}"),
    ]
    events_store(source=source, records=pixel)
    separate = totals_only(rollup_rows())
    events_store(source=shop, records=[event(3, "sign_up", key="7712", email_sha256=HASH, first_name="Ada")])
    events_store(source=shop, records=[event(4, "sign_up", key="7712", minutes=2000)])
    events_store(source=shop, records=[])

    identity_merge_undo(merge=IdentityMerge.objects.get(), user=user)

    customers = dict(Customer.objects.values_list("customer_key", "event_count"))
    assert customers == {f"email:{HASH}": 2, "7712": 2}
    assert Customer.objects.get(customer_key=f"email:{HASH}").email_sha256 == HASH
    assert set(Event.objects.filter(external_id__in=["e1", "e2"]).values_list("customer_key", flat=True)) == {
        f"email:{HASH}"
    }
    assert analysis_overview(workspace=workspace, **PERIOD) == raw_overview(workspace=workspace, **PERIOD)
    assert separate["EventRollup"] <= totals_only(rollup_rows())["EventRollup"] | separate["EventRollup"]


@pytest.mark.parametrize("first", ["anonymous", "customer"])
def test_undoing_a_chain_in_either_order_gives_every_event_its_own_key_back(workspace, source, shop, user, first):
    if True:
        events_store(source=source, records=[event(1, "page_view", anon="cid.9")])
        events_store(source=source, records=[event(2, "lead", anon="cid.9", key=f"email:{HASH}", email_sha256=HASH)])
        events_store(source=shop, records=[event(3, "sign_up", key="7712", email_sha256=HASH)])
        assert set(Event.objects.values_list("customer_key", flat=True)) == {"7712"}

        order = sorted(IdentityMerge.objects.all(), key=lambda m: m.kind != first)
        for merge in order:
            identity_merge_undo(merge=merge, user=user)

        keys = dict(Event.objects.values_list("external_id", "customer_key"))
        assert keys == {"e1": "", "e2": f"email:{HASH}", "e3": "7712"}, first
        assert analysis_overview(workspace=workspace, **PERIOD) == raw_overview(workspace=workspace, **PERIOD)


def test_undo_twice_is_a_conflict_and_a_viewer_cannot_undo(workspace, source, user, other_workspace_user):
    from accounts.models import Membership

    browse, buy = browse_then_buy()
    events_store(source=source, records=browse + buy)
    merge = IdentityMerge.objects.get()
    Membership.objects.create(user=other_workspace_user, workspace=workspace, role=Membership.Role.VIEWER)

    with pytest.raises(PermissionDenied):
        identity_merge_undo(merge=merge, user=other_workspace_user)
    identity_merge_undo(merge=merge, user=user)
    with pytest.raises(Conflict):
        identity_merge_undo(merge=merge, user=user)


def random_histories(rng: random.Random, count: int) -> list[EventRecord]:
    """Thirty people browsing on two devices each, sometimes signed in (user id), sometimes known by their hashed
    e-mail only (the pixel), often anonymous."""
    made = []
    for n in range(count):
        person = rng.randrange(30)
        anon = f"cid.{person}.{rng.randrange(2)}" if rng.random() < 0.8 else ""
        key = rng.choice(["", "", f"u{person}", f"email:h{person}"])
        event_type = rng.choice(["page_view", "view_item", "add_to_cart", "purchase"])
        value = Decimal(rng.choice(["9.99", "120.00"])) if event_type == "purchase" else None
        made.append(
            event(
                n,
                event_type,
                key=key,
                anon=anon,
                minutes=1 + rng.randrange(20_000),
                email_sha256=f"h{person}" if key.startswith("u") else "",
                value=value,
                currency="EUR" if value else "",
            )
        )
    return made


def test_random_histories_with_joins_and_undos_keep_the_rollups_equal_to_the_raw_events(workspace, source, shop, user):
    rng = random.Random(5)
    records = random_histories(rng, 400)
    for index, start in enumerate(range(0, len(records), 37)):
        events_store(source=(source, shop)[index % 2], records=records[start : start + 37])

    assert analysis_overview(workspace=workspace, **PERIOD) == raw_overview(workspace=workspace, **PERIOD)
    assert Customer.objects.count() == 30
    for merge in rng.sample(list(IdentityMerge.objects.all()), 12):
        identity_merge_undo(merge=merge, user=user)
    assert analysis_overview(workspace=workspace, **PERIOD) == raw_overview(workspace=workspace, **PERIOD)
    assert Customer.objects.count() > 30


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_concurrent_batches_join_each_identity_once_and_count_each_event_once(workspace, source):
    rng = random.Random(23)
    records = random_histories(rng, 600)
    batches = [records[start : start + 20] for start in range(0, len(records), 20)]
    batches += rng.sample(batches, 10)  # re-deliveries racing the first delivery
    rng.shuffle(batches)

    errors = store_from_threads(source, batches)
    # A history stored by one batch while another joined it is picked up by the visitor's next batch.
    events_store(
        source=source,
        records=[event(10_000 + 2 * n + d, "page_view", anon=f"cid.{n}.{d}") for n in range(30) for d in (0, 1)],
    )

    assert errors == []
    assert Event.objects.count() == 600 + 60
    assert sum(Customer.objects.values_list("event_count", flat=True)) == Event.objects.exclude(customer_key="").count()
    assert analysis_overview(workspace=workspace, **PERIOD) == raw_overview(workspace=workspace, **PERIOD)
    assert IdentityMerge.objects.values("kind", "value").distinct().count() == IdentityMerge.objects.count()


def test_segment_page_views_then_identify_then_an_order_are_one_customer_with_its_merge_on_its_page(
    client, logged_in_client, workspace
):
    from integrations.models import DataSource
    from tests.integrations.test_tracking_api import post_segment

    segment = DataSource.objects.create(workspace=workspace, source_type="segment", name="Segment")
    anonymous = [
        {"type": "page", "name": "Home", "anonymousId": "a-77", "messageId": "m1", "timestamp": "2026-03-10T09:00:00Z"},
        {
            "type": "track",
            "event": "Product Viewed",
            "anonymousId": "a-77",
            "messageId": "m2",
            "properties": {"product_id": "P1"},
            "timestamp": "2026-03-10T09:01:00Z",
        },
    ]
    post_segment(client, "/v1/batch", {"batch": anonymous}, key=segment.write_key)
    identify = {
        "type": "identify",
        "userId": "u-77",
        "anonymousId": "a-77",
        "messageId": "m3",
        "traits": {"email": "ada@example.com", "firstName": "Ada"},
        "timestamp": "2026-03-10T09:02:00Z",
    }
    order = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u-77",
        "messageId": "m4",
        "properties": {"order_id": "O-9", "revenue": 30, "currency": "EUR"},
        "timestamp": "2026-03-10T09:03:00Z",
    }
    post_segment(client, "/v1/batch", {"batch": [identify, order]}, key=segment.write_key)

    person = Customer.objects.get(workspace=workspace)
    assert (person.customer_key, person.event_count, person.purchase_count) == ("u-77", 4, 1)
    funnel = analysis_overview(workspace=workspace, **PERIOD)["funnel"]["steps"]
    assert funnel[0]["customers"] == funnel[-1]["customers"] == 1
    page = logged_in_client.get(f"/sources/customers/{person.id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Anonymous visitor" in html and "a-77" in html and "Anonymous visitor identified" in html
    assert "Undo" in html


def test_the_api_lists_a_customers_identities_and_an_editor_undoes_one(jwt_api_client, workspace, source):
    browse, buy = browse_then_buy()
    events_store(source=source, records=browse + buy)
    person = Customer.objects.get()

    body = jwt_api_client.get(f"/api/customers/{person.id}").json()
    assert [(i["kind"], i["value"], i["reason"], i["events"]) for i in body["identities"]] == [
        ("anonymous", "cid.1", "identified", 3)
    ]
    merge_id = body["identities"][0]["id"]

    undone = jwt_api_client.post(f"/api/identity-merges/{merge_id}/undo")
    again = jwt_api_client.post(f"/api/identity-merges/{merge_id}/undo")

    assert undone.status_code == 200 and undone.json()["undoneAt"]
    assert again.status_code == 409 and again.json()["statusCode"] == 409
    assert Customer.objects.get().event_count == 2


def test_another_workspace_cannot_see_or_undo_a_merge_and_a_viewer_is_refused(
    other_jwt_api_client, other_workspace_user, workspace, source
):
    from accounts.models import Membership
    from tests.conftest import api_client_for

    events_store(source=source, records=sum(browse_then_buy(), []))
    merge = IdentityMerge.objects.get()

    assert other_jwt_api_client.post(f"/api/identity-merges/{merge.id}/undo").status_code == 404
    Membership.objects.filter(user=other_workspace_user).update(workspace=workspace, role=Membership.Role.VIEWER)
    other_workspace_user.refresh_from_db()
    refused = api_client_for(other_workspace_user).post(f"/api/identity-merges/{merge.id}/undo")
    assert refused.status_code in (403, 404)
    assert IdentityMerge.objects.get().undone_at is None


def test_an_editor_undoes_a_merge_from_the_customer_page(logged_in_client, workspace, source):
    events_store(source=source, records=sum(browse_then_buy(), []))
    person, merge = Customer.objects.get(), IdentityMerge.objects.get()

    response = logged_in_client.post(f"/sources/customers/{person.id}/merges/{merge.id}/undo/", follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert "separated again" in html and "Undone" in html
    assert Customer.objects.get().event_count == 2


def test_staff_undo_merges_from_the_admin(admin_client, workspace, source):
    events_store(source=source, records=sum(browse_then_buy(), []))
    merge = IdentityMerge.objects.get()

    listing = admin_client.get("/admin/integrations/identitymerge/")
    response = admin_client.post(
        "/admin/integrations/identitymerge/",
        {"action": "undo_merges", "_selected_action": [merge.id]},
        follow=True,
    )

    assert listing.status_code == 200 and "cid.1" in listing.content.decode()
    assert "1 merge(s) undone" in response.content.decode()
    assert IdentityMerge.objects.get().undone_at is not None and Customer.objects.get().event_count == 2
