"""Benchmark: what a chat answer costs on the shared database thread before its model call (`reply_request`).

Usage: .venv/bin/python bench/chat_setup.py --database-url postgres://.../mai_x_bench [--answers 300] [--rounds 3]

In one process, with nothing else running in it: the database is recreated and migrated, one user gets
`--answers` conversations, then each asks one question through `chat.streaming.reply_request` (the websocket's
`message`: rate limit, question stored, answer row opened, history, grounding context, providers), one after
the other. Prints one JSON document: per round, the median wall and CPU milliseconds of one call. At 200
simultaneous answers these calls queue on each ASGI process's one database thread (marketing_ai/db.py), so
their wall time times the queue's length is what the last answer waits before its model call starts
(bench/chat.py measures that end to end). Figures: bench/README.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How does my funnel look this week?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL (recreated)")
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketing_ai.settings",
            "DATABASE_URL": args.database_url,
            "DATABASE_POOL": "1",
            "AI_PROVIDERS": "openai",
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called: the bench stops before the model call
            "AI_RATE_LIMIT_PER_MINUTE": "0",
        }
    )
    sys.path.insert(0, str(ROOT))
    from bench.chat import database_recreated

    database_recreated(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from accounts.services import user_register
    from chat.selectors import conversation_get_for_user
    from chat.services import conversation_create
    from chat.streaming import reply_request

    user = user_register(
        email="bench@chat.test", password="Bench-Chat-2026!", first_name="Bench", last_name="User", company_name="Bench"
    )
    report = {"benchmark": "reply_request per answer (in-process, PostgreSQL)", "answers": args.answers, "rounds": []}
    for _ in range(args.rounds):
        conversations = [
            conversation_get_for_user(user=user, conversation_id=conversation_create(user=user, title="b")[0].id)
            for _ in range(args.answers)
        ]
        reply_request(conversation=conversations.pop(), content=QUESTION)  # warm caches and connection
        walls, cpus = [], []
        for conversation in conversations:
            wall, cpu = time.perf_counter(), time.process_time()
            reply_request(conversation=conversation, content=QUESTION)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        report["rounds"].append(
            {"wallMsP50": round(statistics.median(walls), 3), "cpuMsP50": round(statistics.median(cpus), 3)}
        )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
