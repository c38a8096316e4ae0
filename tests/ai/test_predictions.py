"""Predictions: an honest refusal on too little data, training on a time split with held-out metrics against a
recency baseline, scoring with confidence labels, roll back, rescoring on new events, audiences over predictions,
the chat's answer, roles and tenant isolation."""

import json
from datetime import date, timedelta

import pytest
from django.template.defaultfilters import floatformat
from django.utils import timezone

from accounts.models import Membership
from ai.predictions.jobs import predictions_score_customers
from ai.predictions.models import CustomerPrediction, PredictionModel
from integrations.models import Customer, DataSource
from tests.ai.prediction_data import histories_create
from tests.integrations.analysis_data import Events, source_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_store_minimums(settings):
    settings.PREDICTIONS_MIN_CUSTOMERS = 60
    settings.PREDICTIONS_MIN_BUYERS = 10


@pytest.fixture
def train(jwt_api_client, django_capture_on_commit_callbacks):
    """POST models/train; the job runs as it would after commit; returns what a client then reads."""

    def post(client=jwt_api_client):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/models/train", {"kind": "customer"}, format="json")
        assert response.status_code == 202, response.content
        return client.get(f"/api/models/{response.json()['id']}").json()

    return post


@pytest.fixture
def store(workspace):
    histories_create(workspace, customers=160)
    return workspace


def test_too_little_history_is_refused_with_the_reason_and_nothing_is_predicted(train, workspace):
    events = Events(workspace, source_create(workspace))
    for days in (13, 3):
        events.add("a", "purchase", "10", when=timezone.now() - timedelta(days=days))
    events.save()

    model = train()

    assert model["status"] == "refused"
    assert "need 74 days of customer history" in model["message"] and "this workspace has 11." in model["message"]
    assert model["isActive"] is False and model["metrics"] == {}
    assert not CustomerPrediction.objects.exists()


def test_too_few_customers_is_refused_even_with_a_long_history(train, workspace):
    histories_create(workspace, customers=20)

    model = train()

    assert model["status"] == "refused"
    assert "at least 60 are needed" in model["message"]
    assert not CustomerPrediction.objects.exists()


def test_training_splits_by_time_measures_on_the_later_window_and_scores_everyone(train, store):
    model = train()

    assert (model["status"], model["isActive"], model["version"]) == ("ready", True, 1)
    split = model["split"]
    train_cutoff, held_out_cutoff = date.fromisoformat(split["trainCutoff"]), date.fromisoformat(split["heldOutCutoff"])
    assert held_out_cutoff - train_cutoff == timedelta(days=30)  # learn on one window, check on the next
    assert date.fromisoformat(split["end"]) - held_out_cutoff == timedelta(days=30)
    head = model["metrics"]["purchase30d"]
    assert 0.5 < head["auc"] <= 1 and 0 < head["baselineAuc"] <= 1
    assert head["positives"] > 0 and head["customers"] >= head["positives"]
    assert {"brier", "ece", "bins"} <= set(head["calibration"])
    assert "auc" in model["metrics"]["churnRisk"]
    value = model["metrics"]["value30d"]  # against last quarter's spend per month, on the same customers
    assert {"mae", "baselineMae", "noSpendMae", "rmse", "baselineRmse", "baselineSpearman"} <= set(value)
    assert -1 <= value["spearman"] <= 1 and value["actualTotal"] > 0
    active = Customer.objects.filter(workspace=store, last_seen_at__gte=timezone.now() - timedelta(days=365)).count()
    assert model["scoredCustomers"] == active == CustomerPrediction.objects.count()


def test_each_prediction_carries_a_confidence_and_thin_histories_get_no_numbers(train, store, jwt_api_client):
    Events(store, source_create(store, name="Once")).add("one-visit", "page_view", when=timezone.now()).save()
    train()

    thin = Customer.objects.get(customer_key="one-visit")
    body = jwt_api_client.get(f"/api/customers/{thin.id}").json()["predictions"]
    assert body["available"] is False
    assert "Not enough data to predict this customer yet (1 event(s)" in body["reason"]
    assert CustomerPrediction.objects.get(customer=thin).purchase_30d is None

    confident = CustomerPrediction.objects.exclude(confidence="insufficient").select_related("customer").first()
    body = jwt_api_client.get(f"/api/customers/{confident.customer_id}").json()["predictions"]
    assert body["available"] is True
    assert body["purchase30d"] == {
        "value": confident.purchase_30d,
        "confidence": confident.confidence,
        "label": "Chance to buy in the next 30 days",
    }
    assert 0 <= body["churnRisk"]["value"] <= 1
    assert date.fromisoformat(body["nextOrderOn"]["value"]) > timezone.localdate()
    assert float(body["value90d"]["value"]) >= 0


def test_an_admin_rolls_back_to_the_previous_version_and_customers_are_rescored_with_it(train, store, jwt_api_client):
    first, second = train(), train()
    assert (second["version"], second["isActive"]) == (2, True)

    response = jwt_api_client.post(f"/api/models/{first['id']}/activate")

    assert response.status_code == 200 and response.json()["isActive"] is True
    versions = {row["version"]: row["isActive"] for row in jwt_api_client.get("/api/models").json()["results"]}
    assert versions == {1: True, 2: False}
    assert set(CustomerPrediction.objects.values_list("model__version", flat=True)) == {1}


def test_a_refused_version_cannot_be_activated_and_the_active_one_stays(train, store, jwt_api_client, settings):
    good = train()
    settings.PREDICTIONS_MIN_CUSTOMERS = 10_000
    refused = train()

    assert refused["status"] == "refused"
    assert jwt_api_client.post(f"/api/models/{refused['id']}/activate").status_code == 409
    assert PredictionModel.objects.get(is_active=True).id == good["id"]


def test_new_events_of_a_customer_rescore_that_customer(train, store, client, django_capture_on_commit_callbacks):
    train()
    customer = Customer.objects.exclude(prediction__confidence="insufficient").order_by("id").first()
    before = CustomerPrediction.objects.get(customer=customer)
    source = DataSource.objects.create(
        workspace=store, source_type="gtm", name="Site", config={"containerId": "GTM-X1"}
    )
    body = {
        "client_id": "1.2",
        "user_id": customer.customer_key,
        "events": [{"name": "purchase", "params": {"transaction_id": "T-new", "value": 80, "currency": "EUR"}}]
        + [{"name": "page_view", "params": {"event_id": f"p{i}"}} for i in range(5)],
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/collect/{source.write_key}", json.dumps(body), content_type="application/json")

    assert response.status_code == 202
    after = CustomerPrediction.objects.get(customer=customer)
    assert after.scored_at > before.scored_at
    assert after.events == before.events + 6
    others = CustomerPrediction.objects.exclude(customer=customer)
    assert others.filter(scored_at__gt=before.scored_at).count() == 0  # only the customer with new events


@pytest.mark.parametrize("large_from", [5000, 0], ids=["logistic regression", "gradient boosting"])
def test_rescoring_one_customer_gives_the_prediction_scoring_everyone_gave(train, store, monkeypatch, large_from):
    monkeypatch.setattr("ai.predictions.training.LARGE_DATASET", large_from)
    model = train()
    fields = ("purchase_30d", "churn_risk", "next_order_on", "value_90d", "confidence", "events")
    everyone = {row[0]: row[1:] for row in CustomerPrediction.objects.values_list("customer_id", *fields)}
    assert model["algorithm"] == ("gradient boosting" if large_from == 0 else "logistic regression")

    for customer_id in sorted(everyone)[::16]:
        assert predictions_score_customers(workspace_id=store.id, customer_ids=[customer_id]) == 1
        alone = CustomerPrediction.objects.values_list(*fields).get(customer_id=customer_id)
        assert alone == everyone[customer_id]


def test_an_audience_can_select_customers_by_prediction(
    train, store, jwt_api_client, django_capture_on_commit_callbacks
):
    train()
    rules = {"match": "all", "conditions": [{"type": "prediction", "field": "purchase30d", "op": "gte", "value": 0.5}]}

    with django_capture_on_commit_callbacks(execute=True):
        created = jwt_api_client.post("/api/audiences", {"name": "Likely buyers", "rules": rules}, format="json")

    expected = CustomerPrediction.objects.filter(purchase_30d__gte=0.5).exclude(confidence="insufficient").count()
    assert expected > 0
    assert jwt_api_client.get(f"/api/audiences/{created.json()['id']}").json()["size"] == expected
    bad = {"conditions": [{"type": "prediction", "field": "purchase30d", "op": "gte", "value": 2}]}
    response = jwt_api_client.post("/api/audiences", {"name": "Bad", "rules": bad}, format="json")
    assert response.json()["errors"] == {"rules.conditions[0].value": ["From 0 to 1."]}


def test_the_chat_answers_who_is_likely_to_buy_from_stored_predictions(train, store):
    from ai.providers.base import ChatRequest
    from ai.providers.local_answers import answer_for
    from chat.context import context_build
    from chat.models import Conversation

    conversation = Conversation.objects.create(user=store.memberships.first().user, workspace=store, title="Q")
    question = [{"role": "user", "content": "Who is likely to buy next week?"}]

    before = answer_for(ChatRequest(messages=question, context=context_build(conversation=conversation)))
    assert "I can't predict that yet" in before and "No prediction model has been trained yet." in before

    train()
    from django.core.cache import cache

    cache.clear()
    answer = answer_for(ChatRequest(messages=question, context=context_build(conversation=conversation)))
    top = CustomerPrediction.objects.exclude(confidence="insufficient").order_by("-purchase_30d", "customer_id").first()
    assert f"{round(100 * top.purchase_30d)}% chance to buy in the next 30 days" in answer
    assert (top.customer.email or top.customer.customer_key) in answer


def test_only_admins_train_and_roll_back_and_viewers_read(train, store, user, jwt_api_client):
    model = train()
    Membership.objects.filter(user=user, workspace=store).update(role=Membership.Role.EDITOR)

    assert jwt_api_client.post("/api/models/train", {}, format="json").status_code == 403
    assert jwt_api_client.post(f"/api/models/{model['id']}/activate").status_code == 403
    assert jwt_api_client.get("/api/models").status_code == 200
    assert PredictionModel.objects.count() == 1


def test_another_workspaces_models_are_404_and_invisible(train, store, other_jwt_api_client):
    model = train()

    assert other_jwt_api_client.get(f"/api/models/{model['id']}").status_code == 404
    assert other_jwt_api_client.post(f"/api/models/{model['id']}/activate").status_code == 404
    assert other_jwt_api_client.get("/api/models").json()["count"] == 0


def test_the_predictions_page_shows_quality_likely_buyers_and_versions(train, store, logged_in_client):
    assert "No model yet" in logged_in_client.get("/predictions/").content.decode()
    model = train()

    html = logged_in_client.get("/predictions/").content.decode()

    assert floatformat(model["metrics"]["purchase30d"]["auc"], 3) in html
    assert "from recency alone" in html and "Likely to buy in the next 30 days" in html
    assert floatformat(model["metrics"]["value30d"]["spearman"], 3) in html and "predicting no spend" in html
    assert "v1" in html and "Active" in html


def test_the_customer_page_says_when_it_cannot_predict(store, logged_in_client):
    customer = Customer.objects.filter(workspace=store).first()

    html = logged_in_client.get(f"/sources/customers/{customer.id}/").content.decode()

    assert "We can't predict this customer yet. No prediction model has been trained for this workspace yet." in html
