"""Audience rules: the JSON shape, its validation (field errors a client can show) and its compilation to SQL.

```json
{"match": "all",
 "conditions": [
   {"type": "segment", "segment": "cart_abandoners", "op": "in", "days": 30},
   {"type": "event", "eventType": "purchase", "op": "did_not", "days": 60},
   {"type": "total", "field": "orders", "op": "gte", "value": 2},
   {"type": "prediction", "field": "purchase30d", "op": "gte", "value": 0.5}
 ]}
```

`match` is `all` (every condition) or `any` (at least one). Segment and event conditions read the per-customer
day rollups (`CustomerDayRollup`), totals read the customer profile, predictions the stored predictions (a
customer without a confident prediction never matches one). Nothing here scans raw events.
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from integrations.analysis.queries import SEGMENTS, Period, customer_days_in, customer_details
from integrations.models import CustomerDayRollup, Event
from integrations.rollups import TYPE_BITS, analysis_time_zone
from marketing_ai.errors import ApplicationError

MAX_CONDITIONS = 20
MAX_DAYS = 730
MATCHES = ("all", "any")
SEGMENT_OPS = ("in", "not_in")
EVENT_OPS = ("did", "did_not")
COMPARISONS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "eq": "exact"}
# Customer totals: rule field -> (profile field, how a value is read, label).
TOTAL_FIELDS = {
    "orders": "Orders",
    "revenue": "Revenue",
    "events": "Events",
    "lastSeenDays": "Days since last seen",
    "firstSeenDays": "Days since first seen",
}
# Predictions: rule field -> label; the values and their ranges belong to ai.predictions.
PREDICTION_FIELDS = {
    "purchase30d": "Chance to buy in 30 days",
    "churnRisk": "Churn risk",
    "value90d": "Predicted 90-day value",
    "nextOrderDays": "Days to next order",
}
EVENT_TYPES = tuple(choice for choice in Event.EventType.values if choice in TYPE_BITS)
CONDITION_TYPES = ("segment", "event", "total", "prediction")
CONDITION_LABELS = {
    "segment": "Segment",
    "event": "Did / didn't do",
    "total": "Customer total",
    "prediction": "Prediction",
}


def condition_types() -> dict[str, str]:
    """The condition types a rule may use, with their labels."""
    return {kind: CONDITION_LABELS[kind] for kind in CONDITION_TYPES}


class RuleErrors:
    """Collects field errors keyed like `rules.conditions[1].days`, raised together as one 400."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ApplicationError("The audience rules are invalid.", errors=self.errors)


def rules_validate(rules) -> dict:
    """The rules in canonical form (defaults filled in, unknown keys dropped); ApplicationError (400) listing every
    problem with its field path otherwise."""
    errors = RuleErrors()
    if not isinstance(rules, dict):
        errors.add("rules", 'Send an object: {"match": "all", "conditions": [...]}.')
        errors.raise_if_any()
    match = rules.get("match", "all")
    if match not in MATCHES:
        errors.add("rules.match", "Use all or any.")
    conditions = rules.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        errors.add("rules.conditions", "Add at least one condition.")
        conditions = []
    elif len(conditions) > MAX_CONDITIONS:
        errors.add("rules.conditions", f"At most {MAX_CONDITIONS} conditions.")
        conditions = []
    cleaned = [
        _condition_validate(condition, f"rules.conditions[{i}]", errors) for i, condition in enumerate(conditions)
    ]
    errors.raise_if_any()
    return {"match": match, "conditions": cleaned}


def _condition_validate(condition, path: str, errors: RuleErrors) -> dict:
    if not isinstance(condition, dict):
        errors.add(path, "Each condition is an object with a type.")
        return {}
    kind = condition.get("type")
    if kind not in CONDITION_TYPES:
        errors.add(f"{path}.type", f"Use one of: {', '.join(CONDITION_TYPES)}.")
        return {}
    if kind == "segment":
        return {
            "type": kind,
            "segment": _choice(condition, "segment", tuple(SEGMENTS), path, errors),
            "op": _choice(condition, "op", SEGMENT_OPS, path, errors, default="in"),
            "days": _days(condition, path, errors),
        }
    if kind == "event":
        return {
            "type": kind,
            "eventType": _choice(condition, "eventType", EVENT_TYPES, path, errors),
            "op": _choice(condition, "op", EVENT_OPS, path, errors, default="did"),
            "days": _days(condition, path, errors),
        }
    fields = TOTAL_FIELDS if kind == "total" else PREDICTION_FIELDS
    return {
        "type": kind,
        "field": _choice(condition, "field", tuple(fields), path, errors),
        "op": _choice(condition, "op", tuple(COMPARISONS), path, errors),
        "value": _number(
            condition, path, errors, upper=1 if condition.get("field") in ("purchase30d", "churnRisk") else None
        ),
    }


def _choice(condition: dict, key: str, allowed: tuple, path: str, errors: RuleErrors, default=None):
    value = condition.get(key, default)
    if value not in allowed:
        errors.add(f"{path}.{key}", f"Use one of: {', '.join(allowed)}.")
    return value


def _days(condition: dict, path: str, errors: RuleErrors) -> int:
    days = condition.get("days", 30)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors.add(f"{path}.days", f"A whole number of days from 1 to {MAX_DAYS}.")
        return 0
    return days


def _number(condition: dict, path: str, errors: RuleErrors, *, upper: int | None) -> str:
    raw = condition.get("value")
    try:
        if isinstance(raw, bool) or raw is None or raw == "":
            raise InvalidOperation
        value = Decimal(str(raw))
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        errors.add(f"{path}.value", "A number.")
        return ""
    if value < 0 or (upper is not None and value > upper):
        errors.add(f"{path}.value", f"From 0 to {upper}." if upper is not None else "Zero or more.")
    elif value > Decimal("1e12"):
        errors.add(f"{path}.value", "Too large.")
    return str(value)


def rules_condition(*, workspace, rules: dict) -> Q:
    """The validated rules as one filter over the workspace's `Customer` rows."""
    today = timezone.localdate(timezone=_zone(workspace))
    parts = [_condition_q(workspace, condition, today) for condition in rules["conditions"]]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if rules["match"] == "all" else combined | part
    return combined


def _zone(workspace) -> ZoneInfo:
    return ZoneInfo(analysis_time_zone(workspace_id=workspace.id))


def _condition_q(workspace, condition: dict, today) -> Q:
    kind = condition["type"]
    if kind == "segment":
        rule = SEGMENTS[condition["segment"]]
        period = Period(today - timedelta(days=condition["days"] - 1), today)
        members = customer_details(customer_days_in(workspace=workspace, period=period)).filter(
            rule.condition(threshold=workspace.high_value_threshold)
        )
        inside = Q(id__in=members.values("customer_id"))
        return inside if condition["op"] == "in" else ~inside
    if kind == "event":
        days = CustomerDayRollup.objects.filter(
            workspace=workspace, customer=OuterRef("pk"), day__gte=today - timedelta(days=condition["days"] - 1)
        ).annotate(has_type=F("type_mask").bitand(TYPE_BITS[condition["eventType"]]))
        did = Q(Exists(days.filter(has_type__gt=0)))
        return did if condition["op"] == "did" else ~did
    if kind == "total":
        return _total_q(condition)
    from ai.predictions.selectors import prediction_condition  # ai reads integrations; only this rule reads ai

    return prediction_condition(
        workspace=workspace,
        field=condition["field"],
        op=COMPARISONS[condition["op"]],
        value=Decimal(condition["value"]),
    )


def _total_q(condition: dict) -> Q:
    op, value = condition["op"], Decimal(condition["value"])
    field = condition["field"]
    if field in ("lastSeenDays", "firstSeenDays"):
        # "seen N days ago or less" is "seen at or after now - N days": the comparison turns around.
        column = "last_seen_at" if field == "lastSeenDays" else "first_seen_at"
        moment = timezone.now() - timedelta(days=float(value))
        if op == "eq":
            return Q(**{f"{column}__lte": moment, f"{column}__gt": moment - timedelta(days=1)})
        flipped = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}[op]
        return Q(**{f"{column}__{flipped}": moment})
    column = {"orders": "purchase_count", "revenue": "total_value", "events": "event_count"}[field]
    return Q(**{f"{column}__{COMPARISONS[op]}": value})


def rules_describe(rules: dict) -> list[str]:
    """One plain sentence per condition, for pages and campaign snapshots."""
    from accounts.display import label

    sentences = []
    for condition in rules.get("conditions", []):
        kind = condition.get("type")
        if kind == "segment":
            verb = "is" if condition["op"] == "in" else "is not"
            sentences.append(f"{verb.capitalize()} in {label(condition['segment'])} (last {condition['days']} days)")
        elif kind == "event":
            verb = "Did" if condition["op"] == "did" else "Did not"
            sentences.append(f"{verb} {label(condition['eventType']).lower()} in the last {condition['days']} days")
        else:
            names = TOTAL_FIELDS if kind == "total" else PREDICTION_FIELDS
            symbol = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "="}[condition["op"]]
            sentences.append(f"{names[condition['field']]} {symbol} {condition['value']}")
    return sentences
