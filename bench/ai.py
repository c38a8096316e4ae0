"""Benchmark: what the provider router adds to a streamed answer, against each provider's official SDK called
directly on the same local fake (figures and how to read them: bench/README.md, "bench/ai.py").

Usage: .venv/bin/python bench/ai.py [--providers groq,openai,gemini,claude] [--concurrency 1,100] [--answers 40]
       [--rounds 3] [--chunks 20] [--pace-ms 5]

Two processes, so that the fake never shares an event loop with what is measured:
- a fake of the three wire formats (uvicorn): OpenAI-compatible `chat.completion.chunk` SSE (groq, openai),
  Gemini `:streamGenerateContent?alt=sse` and Anthropic `message_start` ... `message_stop`, each answer `--chunks`
  text chunks `--pace-ms` apart, each chunk carrying the wall-clock time it was emitted;
- this process, one asyncio loop, answering the same question two ways, alternately:
  `router`: `ai.router.stream_reply` with that provider (our provider module on its kept client, retries and
  fallback armed, the call logged into a ledger as the chat does);
  `direct`: the provider's SDK called the way its documentation shows (`chat.completions.create(stream=True)`,
  `aio.models.generate_content_stream`, `messages.create(stream=True)`) on one client built with the same
  options (transport, timeout, no SDK retries).

Time to first token = first text received - request start; per chunk = receive time - the fake's emit time.
At `--concurrency N`, N answers run at once (`--rounds` times); at 1, `--answers` run one after another.
The aim: the router adds at most 5 ms p50 to time to first token.
"""

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP = re.compile(r"<(\d+\.\d+)>")
KEY = "bench-key-0000"
MODELS = {"groq": "llama-3.3-70b-versatile", "openai": "gpt-4o-mini", "gemini": "gemini-2.5-flash"}
MODELS["claude"] = "claude-haiku-4-5"
QUESTION = "Which segment should I target this week?"
TARGET_ADDED_TTFT_P50_MS = 5.0


# --- the fake of the three wire formats (its own process) ----------------------------------------------------


def _openai_events(chunks: int):
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "bench"}
    for _index in range(chunks):
        choice = {"index": 0, "delta": {"content": f"<{time.time():.6f}> "}, "finish_reason": None}
        yield b"data: " + json.dumps(base | {"choices": [choice]}).encode() + b"\n\n"
    usage = {"prompt_tokens": 10, "completion_tokens": chunks, "total_tokens": 10 + chunks}
    yield b"data: " + json.dumps(base | {"choices": [], "usage": usage}).encode() + b"\n\ndata: [DONE]\n\n"


def _gemini_events(chunks: int):
    for index in range(chunks):
        candidate = {"content": {"parts": [{"text": f"<{time.time():.6f}> "}], "role": "model"}, "index": 0}
        event = {"candidates": [candidate], "modelVersion": "gemini-2.5-flash"}
        if index == chunks - 1:
            candidate["finishReason"] = "STOP"
            event["usageMetadata"] = {"promptTokenCount": 10, "candidatesTokenCount": chunks, "totalTokenCount": 30}
        yield b"data: " + json.dumps(event).encode() + b"\r\n\r\n"


def _sse(kind: str, payload: dict) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()


def _anthropic_events(chunks: int):
    message = {"id": "msg_bench", "type": "message", "role": "assistant", "content": [], "model": "claude-haiku-4-5"}
    message |= {"stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    first = _sse("message_start", {"type": "message_start", "message": message}) + _sse("content_block_start", block)
    for index in range(chunks):
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ""}}
        delta["delta"]["text"] = f"<{time.time():.6f}> "
        yield (first if index == 0 else b"") + _sse("content_block_delta", delta)
    end = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}}
    yield (
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + _sse("message_delta", end | {"usage": {"output_tokens": chunks}})
        + _sse("message_stop", {"type": "message_stop"})
    )


def fake_app(chunks: int, pace: float):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        path = scope["path"]
        if path.endswith("/chat/completions"):
            events = _openai_events(chunks)
        elif ":streamGenerateContent" in path:
            events = _gemini_events(chunks)
        elif path.endswith("/v1/messages"):
            events = _anthropic_events(chunks)
        else:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for index in range(chunks + 1):
            if 0 < index < chunks:  # the closing events follow the last chunk at once
                await asyncio.sleep(pace)
            event = next(events, None)  # stamped now, as it leaves
            if event is None:
                break
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def run_fake(port: int, chunks: int, pace: float) -> None:
    import uvicorn

    uvicorn.run(fake_app(chunks, pace), host="127.0.0.1", port=port, log_level="warning", lifespan="off")


# --- the two ways of answering -------------------------------------------------------------------------------


def base_url(provider: str, port: int) -> str:
    root = f"http://127.0.0.1:{port}"
    return {"groq": root + "/openai/v1", "openai": root + "/v1", "gemini": root + "/", "claude": root}[provider]


class Answer:
    """What one streamed answer measured: time to first token and the delay of each chunk, in ms."""

    def __init__(self):
        self.started = time.perf_counter()
        self.ttft_ms: float | None = None
        self.chunk_ms: list[float] = []

    def text(self, content: str) -> None:
        now = time.time()
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000
        self.chunk_ms += [(now - float(stamp)) * 1000 for stamp in STAMP.findall(content)]


def router_request():
    from ai.providers.base import ChatRequest

    return ChatRequest(messages=[{"role": "user", "content": QUESTION}], system="Be brief.", max_tokens=200)


async def router_answer(provider_name: str, port: int) -> Answer:
    """One answer through `ai.router.stream_reply`, the provider built as the chat builds it."""
    from ai.providers.registry import provider_build
    from ai.router import stream_reply

    provider = provider_build(
        provider_name, api_key=KEY, base_url=base_url(provider_name, port), model=MODELS[provider_name]
    )
    answer, ledger = Answer(), []
    async for event in stream_reply(request=router_request(), providers=[provider], ledger=ledger):
        if event["type"] == "chunk":
            answer.text(event["content"])
    return answer


def direct_client(provider_name: str, port: int):
    """The SDK's client with the options our provider uses (transport, timeout, no retries)."""
    url = base_url(provider_name, port)
    if provider_name in ("groq", "openai"):
        from ai.providers.openai_compat import client_for

        return client_for(api_key=KEY, base_url=url)
    if provider_name == "gemini":
        from ai.providers.gemini import client_for

        return client_for(api_key=KEY, base_url=url)[0]
    from ai.providers.claude import client_for

    return client_for(api_key=KEY, base_url=url)


async def direct_answer(provider_name: str, client) -> Answer:
    """One answer from the SDK called directly, the way its documentation shows."""
    answer = Answer()
    model, system = MODELS[provider_name], "Be brief."
    if provider_name in ("groq", "openai"):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": QUESTION}]
        stream = await client.chat.completions.create(model=model, messages=messages, max_tokens=200, stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                answer.text(chunk.choices[0].delta.content)
    elif provider_name == "gemini":
        from google.genai import types

        config = types.GenerateContentConfig(
            system_instruction=system,
            max_output_tokens=200,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        stream = await client.aio.models.generate_content_stream(model=model, contents=QUESTION, config=config)
        async for chunk in stream:
            if chunk.text:
                answer.text(chunk.text)
    else:
        messages = [{"role": "user", "content": QUESTION}]
        stream = await client.messages.create(
            model=model, system=system, messages=messages, max_tokens=200, stream=True
        )
        async for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                answer.text(event.delta.text)
    return answer


# --- measuring -----------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3) if ordered else 0.0


def summary(answers: list[Answer]) -> dict:
    ttft = [a.ttft_ms for a in answers if a.ttft_ms is not None]
    chunks = [delay for a in answers for delay in a.chunk_ms]
    return {
        "answers": len(answers),
        "ttftMs": {"p50": percentile(ttft, 0.5), "p99": percentile(ttft, 0.99)},
        "chunkMs": {"p50": percentile(chunks, 0.5), "p99": percentile(chunks, 0.99)},
        "chunks": len(chunks),
    }


async def measure_provider(provider_name: str, port: int, *, concurrency: int, answers: int, rounds: int) -> dict:
    """Router and direct answers of one provider at one concurrency, alternating so that drift hits both alike."""
    client = direct_client(provider_name, port)
    ways = {
        "router": lambda: router_answer(provider_name, port),
        "direct": lambda: direct_answer(provider_name, client),
    }
    results: dict[str, list[Answer]] = {"router": [], "direct": []}
    for way in ways.values():  # warm both: connections, TLS-free pools, imports
        await asyncio.gather(*(way() for _ in range(min(concurrency, 10))))
    batches = answers if concurrency == 1 else rounds
    for batch in range(batches):
        order = ["router", "direct"] if batch % 2 == 0 else ["direct", "router"]
        for name in order:
            results[name] += await asyncio.gather(*(ways[name]() for _ in range(concurrency)))
    if provider_name == "gemini":
        await client.aio.aclose()
    else:
        await client.close()
    router, direct = summary(results["router"]), summary(results["direct"])
    added = round(router["ttftMs"]["p50"] - direct["ttftMs"]["p50"], 3)
    return {
        "router": router,
        "direct": direct,
        "addedTtftP50Ms": added,
        "ttftP50Ratio": round(router["ttftMs"]["p50"] / direct["ttftMs"]["p50"], 3)
        if direct["ttftMs"]["p50"]
        else None,
        "addedChunkP50Ms": round(router["chunkMs"]["p50"] - direct["chunkMs"]["p50"], 3),
        "addedChunkP99Ms": round(router["chunkMs"]["p99"] - direct["chunkMs"]["p99"], 3),
        "meetsTarget": added <= TARGET_ADDED_TTFT_P50_MS,
    }


async def measure_router(port: int, args) -> dict:
    from ai.providers.kept import kept_clients_close

    figures: dict = {}
    for provider_name in args.providers:
        figures[provider_name] = {}
        for concurrency in args.concurrency:
            figures[provider_name][str(concurrency)] = await measure_provider(
                provider_name, port, concurrency=concurrency, answers=args.answers, rounds=args.rounds
            )
    await kept_clients_close()
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the fake provider server did not start")


def router_bench(args) -> dict:
    """The router part of the AI benchmark: a fake in its own process, then every provider at every concurrency."""
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, __file__, "--fake", str(port), "--chunks", str(args.chunks), "--pace-ms", str(args.pace_ms)]
    )
    try:
        wait_for_port(port)
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_ai.settings")
        import django

        django.setup()
        figures = asyncio.run(measure_router(port, args))
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    return {
        "config": {
            "providers": args.providers,
            "concurrency": args.concurrency,
            "answersAtOne": args.answers,
            "roundsAtMany": args.rounds,
            "chunks": args.chunks,
            "paceMs": args.pace_ms,
            "targetAddedTtftP50Ms": TARGET_ADDED_TTFT_P50_MS,
        },
        "providers": figures,
        "meetsTarget": all(f["meetsTarget"] for per in figures.values() for f in per.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--providers", type=lambda v: v.split(","), default=["groq", "openai", "gemini", "claude"])
    parser.add_argument("--concurrency", type=lambda v: [int(n) for n in v.split(",")], default=[1, 100])
    parser.add_argument("--answers", type=int, default=40, help="answers one after another at concurrency 1")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of N concurrent answers at concurrency N > 1")
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--pace-ms", type=float, default=5.0)
    parser.add_argument("--fake", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake:
        run_fake(args.fake, args.chunks, args.pace_ms / 1000)
        return
    print(json.dumps({"router": router_bench(args)}, indent=2))


if __name__ == "__main__":
    main()
