"""Intent analysis: the offline classifier's quality on held-out examples, entities, and the model path."""

import json
from collections import Counter

import pytest

from ai.intent.analysis import intent_analyze
from ai.intent.classifier import INTENTS, NaiveBayes, examples_load, intent_classify, split_examples
from ai.models import ProviderCall


def test_the_labelled_set_is_large_balanced_and_uses_known_intents():
    examples = examples_load()
    per_intent = Counter(e["intent"] for e in examples)

    assert len(examples) >= 250
    assert set(per_intent) == set(INTENTS)
    assert min(per_intent.values()) >= 30


def test_the_classifier_reaches_the_quality_floor_on_held_out_examples():
    train, test = split_examples(examples_load())
    assert not {e["text"] for e in train} & {e["text"] for e in test}
    model = NaiveBayes().fit(train)

    accuracy = sum(model.predict(e["text"])[0] == e["intent"] for e in test) / len(test)

    assert len(test) >= 50
    assert accuracy >= 0.85


def test_a_campaign_question_is_recognised_with_its_entities():
    result = intent_classify(text="Which email campaign should I send to my cart abandoners in the last 30 days?")

    assert result["intent"] == "campaign_recommendation"
    assert result["requiresAuth"] is True
    assert (result["module"], result["action"]) == ("campaigns", "recommend_campaigns")
    assert 0 < result["confidence"] <= 1
    assert result["entities"]["segments"] == ["cart_abandoners"]
    assert result["entities"]["channels"] == ["email"]
    assert result["entities"]["dateRange"] == {"lastDays": 30}


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("recomend a campain for my vip custmers", "campaign_recommendation"),
        ("whats my revenu this month", "performance_question"),
        ("how do i conect my shopify store", "data_source_help"),
        ("wrte an instagram caption for our sale", "content_creation"),
        ("hello there!", "greeting"),
        ("what is the capital of Peru?", "other"),
    ],
)
def test_typos_and_loose_phrasing_still_classify(text, intent):
    assert intent_classify(text=text)["intent"] == intent


def test_metrics_and_sources_are_extracted():
    entities = intent_classify(text="What was my revenue and AOV from Shopify last week?")["entities"]

    assert {"revenue", "average_order_value"} <= set(entities["metrics"])
    assert entities["sources"] == ["shopify"]
    assert entities["dateRange"] == {"relative": "last_week"}


def test_an_empty_message_is_other_without_auth():
    assert intent_classify(text="  ")["intent"] == "other"
    assert intent_classify(text="  ")["requiresAuth"] is False


@pytest.mark.django_db
def test_with_a_model_configured_its_valid_json_answer_is_used(fake, workspace):
    fake.behaviours.append("text:" + json.dumps({"intent": "general_marketing", "confidence": 0.7, "entities": {}}))

    result = intent_analyze(text="Which segment should I email about shoes?", workspace=workspace)

    assert result["intent"] == "general_marketing" and result["confidence"] == 0.7
    assert result["module"] == "chat" and result["entities"]["channels"] == ["email"]
    assert fake.completions[0]["body"]["response_format"] == {"type": "json_object"}
    assert ProviderCall.objects.get().purpose == "intent"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reply",
    ["text:this is not json", "text:" + json.dumps({"intent": "world_domination", "confidence": 2})],
)
def test_invalid_model_output_falls_back_to_the_offline_classifier(fake, workspace, reply):
    fake.behaviours.append(reply)

    result = intent_analyze(text="Which segment should I target with a campaign?", workspace=workspace)

    assert result["intent"] == "campaign_recommendation"
    assert "source" not in result


@pytest.mark.django_db
def test_a_failing_model_falls_back_to_the_offline_classifier(fake, workspace):
    fake.behaviours.extend(["500", "500"])

    result = intent_analyze(text="hello", workspace=workspace)

    assert result["intent"] == "greeting"
    assert list(ProviderCall.objects.values_list("status", flat=True)) == ["error", "error"]


@pytest.mark.django_db
def test_without_a_model_no_call_is_made(settings, workspace):
    settings.AI_PROVIDERS = ["local"]

    assert intent_analyze(text="hi", workspace=workspace)["intent"] == "greeting"
    assert not ProviderCall.objects.exists()
