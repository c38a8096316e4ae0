"""Campaign recommendations: the no-data answer, one per non-empty segment from real numbers, model JSON."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from ai.models import ProviderCall
from campaigns.models import CampaignRecommendation
from campaigns.recommendations import recommendations_generate
from tests.integrations.analysis_data import Events, source_create

pytestmark = pytest.mark.django_db

EXPECTED = {
    "cart_abandoners": 2,
    "potential_customers": 2,
    "high_value_customers": 1,
    "new_visitors": 1,
    "engaged_users": 2,
    "repeat_customers": 1,
}


def store_data(workspace, *, with_repeat=True):
    source = source_create(workspace)
    when = timezone.now() - timedelta(days=2)
    events = Events(workspace, source)
    events.add("c1", "page_view", when=when).add("c1", "add_to_cart", when=when)
    events.add("c2", "page_view", when=when).add("c2", "add_to_cart", when=when).add("c2", "begin_checkout", when=when)
    for kind in ("page_view", "view_item", "add_to_cart"):
        events.add("c3", kind, when=when)
    events.add("c3", "purchase", "150.00", when=when)
    if with_repeat:
        events.add("c4", "purchase", "30.00", when=when, times=2)
    events.add("c5", "page_view", when=when)
    events.save()
    return source


def test_a_workspace_without_data_sources_is_asked_to_connect_one(workspace, user):
    result = recommendations_generate(workspace=workspace, user=user)

    assert result == {"type": "no_data_sources", "message": "Please connect data sources first"}
    assert not CampaignRecommendation.objects.exists()


def test_a_question_about_one_segment_and_channel_gets_recommendations_for_that_segment_and_channel(workspace, user):
    store_data(workspace)

    result = recommendations_generate(workspace=workspace, user=user, segments=["cart_abandoners"], channels=["email"])

    assert [r["segment"] for r in result["recommendations"]] == ["cart_abandoners"]
    assert result["recommendations"][0]["channels"] == ["email"]
    assert CampaignRecommendation.objects.count() == 1


def test_a_question_about_an_empty_segment_says_so_instead_of_proposing_others(workspace, user):
    store_data(workspace, with_repeat=False)

    result = recommendations_generate(workspace=workspace, user=user, segments=["repeat_customers"])

    assert result["recommendations"] == [] and "repeat customers" in result["message"]


def test_offline_there_is_one_stored_recommendation_per_non_empty_segment_citing_its_numbers(workspace, user):
    store_data(workspace)

    result = recommendations_generate(workspace=workspace, user=user)

    assert result["type"] == "recommendations" and result["provider"] == "local"
    by_segment = {r["segment"]: r for r in result["recommendations"]}
    assert {name: r["audienceSize"] for name, r in by_segment.items()} == EXPECTED
    days = result["range"]["days"]
    for name, rec in by_segment.items():
        assert f"{EXPECTED[name]} customers" in rec["rationale"]
        assert result["range"]["from"] in rec["rationale"] and f"{days} days" in rec["rationale"]
        assert rec["channels"] and rec["offer"] and rec["timing"] and rec["keyMessage"] and rec["objective"]
        assert rec["kpiTargets"]["orders"] >= 1
        assert {"metric": f"segments.{name}.count", "value": EXPECTED[name]} | {
            "from": result["range"]["from"],
            "to": result["range"]["to"],
        } in rec["evidence"]
    # The store made 3 orders worth 210.00: the AOV of 70.00 is quoted.
    assert "3 orders at an average order value of 70.00" in by_segment["high_value_customers"]["rationale"]
    rows = CampaignRecommendation.objects.filter(workspace=workspace)
    assert rows.count() == 6
    assert {row.created_by for row in rows} == {user}
    assert rows.get(segment="cart_abandoners").audience_size == 2
    assert not ProviderCall.objects.exists()


def test_an_empty_segment_gets_no_recommendation(workspace, user):
    store_data(workspace, with_repeat=False)

    result = recommendations_generate(workspace=workspace, user=user)

    assert "repeat_customers" not in {r["segment"] for r in result["recommendations"]}


def test_the_offline_playbook_is_deterministic(workspace, user):
    store_data(workspace)

    first = recommendations_generate(workspace=workspace, user=user)["recommendations"]
    second = recommendations_generate(workspace=workspace, user=user)["recommendations"]

    strip = [{k: v for k, v in r.items() if k not in ("id", "createdAt")} for r in first]
    assert strip == [{k: v for k, v in r.items() if k not in ("id", "createdAt")} for r in second]


def model_answer(segments=EXPECTED) -> str:
    items = [
        {
            "segment": name,
            "name": f"Model campaign for {name}",
            "objective": "Grow revenue",
            "channels": ["email"],
            "audienceSize": count,
            "keyMessage": "Come back",
            "offer": "10% off",
            "timing": "Next week",
            "kpiTargets": {"orders": 1},
            "rationale": f"{count} customers in this segment over the last 30 days.",
        }
        for name, count in segments.items()
    ]
    return "text:" + json.dumps({"recommendations": items})


def test_a_valid_model_answer_is_stored_with_its_provider(fake, workspace, user):
    store_data(workspace)
    fake.behaviours.append(model_answer())

    result = recommendations_generate(workspace=workspace, user=user)

    assert result["provider"] == "openai"
    assert {r["name"] for r in result["recommendations"]} == {f"Model campaign for {n}" for n in EXPECTED}
    assert CampaignRecommendation.objects.filter(provider="openai").count() == 6
    prompt = fake.completions[0]["body"]["messages"][-1]["content"]
    assert '"cart_abandoners": 2' in prompt and '"averageOrderValue": "70.00"' in prompt


def test_invalid_json_is_repaired_once_with_the_validation_errors(fake, workspace, user):
    store_data(workspace)
    fake.behaviours.extend(["text:{not json", model_answer()])

    result = recommendations_generate(workspace=workspace, user=user)

    assert result["provider"] == "openai"
    assert len(fake.completions) == 2
    repair = fake.completions[1]["body"]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "{not json"}
    assert "not valid JSON" in repair[-1]["content"]


def test_a_wrong_answer_twice_falls_back_to_the_offline_playbook(fake, workspace, user):
    store_data(workspace)
    wrong_sizes = {name: count + 5 for name, count in EXPECTED.items()}
    fake.behaviours.extend([model_answer(wrong_sizes), model_answer({"cart_abandoners": 2})])

    result = recommendations_generate(workspace=workspace, user=user)

    assert result["provider"] == "local"
    assert len(fake.completions) == 2
    assert "audienceSize must be 2" in fake.completions[1]["body"]["messages"][-1]["content"]
    assert {r["segment"]: r["audienceSize"] for r in result["recommendations"]} == EXPECTED
    assert CampaignRecommendation.objects.filter(provider="local").count() == 6


def test_a_failing_model_falls_back_to_the_offline_playbook(fake, workspace, user):
    store_data(workspace)
    fake.behaviours.extend(["500", "500"])

    result = recommendations_generate(workspace=workspace, user=user)

    assert result["provider"] == "local" and len(result["recommendations"]) == 6
