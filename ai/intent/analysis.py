"""Model-assisted intent analysis: with a model provider configured, the model is asked for JSON that is
validated against INTENT_SCHEMA; no model, or invalid output, gives the offline classifier's answer."""

import json
from functools import lru_cache

import jsonschema
from asgiref.sync import async_to_sync
from django.conf import settings

from marketing_ai.db import db_sync_to_async

from ..providers.base import ChatRequest
from ..providers.kept import clients_per_call
from ..router import complete, providers_for
from .classifier import INTENT_SCHEMA, intent_classify, intent_result, tokens_of

INTENT_SYSTEM = (
    "Classify the marketer's message for a digital-marketing assistant. Intents: campaign_recommendation "
    "(which campaign/segment/offer to run), performance_question (their own data, metrics, funnel, segments "
    "sizes), data_source_help (connecting Shopify, Google Tag Manager, the Meta Pixel, CSV, syncing), "
    "content_creation (write ads, emails, posts), general_marketing (marketing knowledge not about their "
    "data), greeting (hello, thanks, bye), other. Reply with JSON only: "
    '{"intent": ..., "confidence": 0..1, "entities": {"segments": [], "channels": [], "metrics": []}}.'
)


def intent_request(text: str) -> ChatRequest:
    return ChatRequest(
        messages=[{"role": "user", "content": text[:2000]}],
        system=INTENT_SYSTEM,
        purpose="intent",
        max_tokens=200,
        temperature=0.0,
        json_schema=INTENT_SCHEMA,
    )


@lru_cache(maxsize=1)
def _intent_validator() -> jsonschema.protocols.Validator:
    # Built once: `jsonschema.validate` checks the schema itself on every call, on the event loop, at many times the
    # cost of the validation (figures: bench/README.md, "bench/hot_paths.py").
    validator_class = jsonschema.validators.validator_for(INTENT_SCHEMA)
    validator_class.check_schema(INTENT_SCHEMA)
    return validator_class(INTENT_SCHEMA)


def intent_from_model_output(raw: str, offline: dict) -> dict:
    """Validate the model's JSON; the offline answer when it is not valid. Entities found offline are kept."""
    try:
        data = json.loads(raw)
        _intent_validator().validate(data)
    except (ValueError, jsonschema.ValidationError):
        return offline
    entities = dict(offline["entities"])
    for key, value in (data.get("entities") or {}).items():
        if isinstance(value, list) and value and key not in entities:
            entities[key] = [str(v) for v in value][:10]
    return intent_result(data["intent"], data["confidence"], entities) | {"source": "model"}


def intent_analyze(*, text: str, workspace=None) -> dict:
    """Classify a message: by the configured model when there is one (validated JSON), else offline. Sync."""
    with clients_per_call():
        return async_to_sync(aintent_analyze)(text=text, workspace=workspace)


async def aintent_analyze(
    *, text: str, workspace=None, providers: list | None = None, ledger: list[dict] | None = None
) -> dict:
    """`intent_analyze` for async callers (the chat stream, which passes the providers it resolved and the
    ledger that collects its ProviderCalls)."""
    return await _amodel_intent(
        text=text, offline=intent_classify(text=text), workspace=workspace, providers=providers, ledger=ledger
    )


async def aintent_for_answer(
    *, text: str, workspace=None, providers: list | None = None, ledger: list[dict] | None = None
) -> dict:
    """The intent a chat answer is shaped by: the offline classifier's when it is sure (confidence at least
    INTENT_LOCAL_CONFIDENCE), else `aintent_analyze`'s.

    Asking the model is a whole round trip before the answer's own call starts, while the classifier answers
    at once; the threshold weighs how many messages skip the model against how accurate the classifier is on
    those (bench/intent_accuracy.py, `confidenceGate`; figures in bench/README.md). The model is asked about the
    rest.
    """
    offline = intent_classify(text=text)
    if offline["confidence"] >= settings.INTENT_LOCAL_CONFIDENCE:
        return offline
    return await _amodel_intent(text=text, offline=offline, workspace=workspace, providers=providers, ledger=ledger)


async def _amodel_intent(*, text: str, offline: dict, workspace, providers: list | None, ledger) -> dict:
    if not tokens_of(text):
        return offline
    if providers is None:
        providers = await db_sync_to_async(providers_for)(workspace=workspace)
    if providers[0].name == "local":
        return offline
    raw, _usage = await complete(
        request=intent_request(text),
        workspace=workspace,
        purpose="intent",
        llm_only=True,
        providers=providers,
        ledger=ledger,
    )
    return intent_from_model_output(raw, offline)
