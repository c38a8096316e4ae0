"""Benchmark: two per-call costs on a chat answer's hot path that the code avoids, against what it does instead.

- The streaming-reply lookup asked before every answer: the ORM query (built and compiled on each call) against
  `marketing_ai.db.rows_fetched` running the same SQL (`chat.selectors.message_streaming_for_conversation`).
- The model's intent JSON: `jsonschema.validate`, which checks the schema itself on every call, against the
  validator `ai.intent.analysis` builds once.

Each pair runs in alternating rounds in the same process; the figure is the median microseconds per call over the
rounds. Usage: .venv/bin/python bench/hot_paths.py [--calls 2000] [--rounds 5] [--database-url postgres://...]
Uses its own PostgreSQL database (created and migrated; default `mai_bench_hot_paths`). Prints one JSON document;
figures in bench/README.md.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest import database_reset, django_setup  # noqa: E402 (bench/ is a package once ROOT is on the path)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mai_bench_hot_paths"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round and side")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of each pair")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    return parser.parse_args()


def per_call_us(function, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls * 1e6


def alternating(sides: dict, *, calls: int, rounds: int) -> dict:
    """Median microseconds per call of each side, the sides run in turn `rounds` times (after one warm-up call)."""
    samples = {name: [] for name in sides}
    for function in sides.values():
        function()
    for _ in range(rounds):
        for name, function in sides.items():
            samples[name].append(per_call_us(function, calls))
    return {name: round(statistics.median(values), 2) for name, values in samples.items()}


def streaming_lookup(calls: int, rounds: int) -> dict:
    from accounts.services import user_register
    from chat.models import Conversation, Message
    from chat.selectors import _STREAMING_REPLY_SQL
    from marketing_ai.db import rows_fetched

    user = user_register(email="hot@paths.test", password="Bench-Hot-Paths-1", company_name="Hot")
    conversation = Conversation.objects.create(user=user, workspace=user.current_workspace, title="Bench")
    for n in range(20):
        Message.objects.create(
            conversation=conversation,
            role=Message.Role.USER if n % 2 == 0 else Message.Role.ASSISTANT,
            content=f"message {n}",
            status=Message.Status.COMPLETE,
        )
    params = [conversation.id, Message.Role.ASSISTANT.value, Message.Status.STREAMING.value]

    def orm():
        return list(
            Message.objects.filter(
                conversation_id=conversation.id, role=Message.Role.ASSISTANT, status=Message.Status.STREAMING
            )
            .order_by("-id")
            .values_list("id", flat=True)[:1]
        )

    def plain_sql():
        return rows_fetched(_STREAMING_REPLY_SQL, params)

    assert orm() == [] and plain_sql() == []
    return alternating({"orm_us": orm, "plain_sql_us": plain_sql}, calls=calls, rounds=rounds)


def intent_validation(calls: int, rounds: int) -> dict:
    import jsonschema

    from ai.intent.analysis import _intent_validator
    from ai.intent.classifier import INTENT_SCHEMA, intent_classify

    answer = intent_classify(text="Which customers abandoned their carts this week?")
    validator = _intent_validator()
    return alternating(
        {
            "validate_each_call_us": lambda: jsonschema.validate(answer, INTENT_SCHEMA),
            "validator_built_once_us": lambda: validator.validate(answer),
        },
        calls=calls,
        rounds=rounds,
    )


def main() -> None:
    args = parse_args()
    database_reset(args.database_url)
    django_setup(args.database_url)
    lookup = streaming_lookup(args.calls, args.rounds)
    intent = intent_validation(max(1, args.calls // 10), args.rounds)
    result = {
        "calls": args.calls,
        "rounds": args.rounds,
        "load_average": os.getloadavg()[0],
        "streaming_reply_lookup": lookup | {"ratio": round(lookup["orm_us"] / lookup["plain_sql_us"], 2)},
        "intent_validation": intent
        | {"ratio": round(intent["validate_each_call_us"] / intent["validator_built_once_us"], 1)},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
