"""Memory a request body costs on its way through keyproxy: peak traced memory during one request / body size.

The app is driven in process, the body delivered in 64 KiB pieces as uvicorn delivers it (each piece a fresh
copy, as the server's is), and the upstream is MockTransport, which keeps nothing: what is left is every copy
keyproxy itself makes between the socket and the upstream send (reading, the envelope, the model-name splice
or the translation).

    uv run python bench/body_memory.py [--mib 30]
"""

from __future__ import annotations

import argparse
import asyncio
import tracemalloc
from typing import Any

import msgspec

from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import StateSettings
from keyproxy.testing import FakeClock, Lifespan
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app

PIECE = 64 * 1024
CHAT_ANSWER = msgspec.json.encode(
    {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
     "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
)  # fmt: skip
MESSAGES_ANSWER = msgspec.json.encode(
    {"id": "m", "type": "message", "role": "assistant", "model": "m", "content": [{"type": "text", "text": "ok"}],
     "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}
)  # fmt: skip
GEMINI_ANSWER = msgspec.json.encode(
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}],
     "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1}}
)  # fmt: skip

CASES = {
    "chat to an OpenAI upstream (model spliced)": ("/v1/chat/completions", "openai/m", "chat"),
    "messages to an Anthropic upstream (model spliced)": ("/v1/messages", "anthropic/m", "messages"),
    "messages to an OpenAI upstream (translated)": ("/v1/messages", "openai/m", "messages"),
    "chat to a Gemini upstream (translated)": ("/v1/chat/completions", "gemini/m", "chat"),
}


def app() -> Any:
    async def answer(request: UpstreamRequest) -> MockResponse:
        if "generateContent" in request.url:
            return MockResponse.json(200, GEMINI_ANSWER)
        if request.url.endswith("/messages"):
            return MockResponse.json(200, MESSAGES_ANSWER)
        return MockResponse.json(200, CHAT_ANSWER)

    def provider(name: str) -> ProviderSettings:
        protocol: Any = name
        key = Credential(f"sk-{name}-0123456789abcdef", name.upper())
        return ProviderSettings(name=name, protocol=protocol, base_url=f"http://{name}.test/v1", credentials=(key,))

    providers = {name: provider(name) for name in ("openai", "anthropic", "gemini")}
    settings = Settings(providers=providers, state=StateSettings(backend="memory"), max_body_bytes=64 << 20)
    return build_app(settings, transport=MockTransport(answer), clock=FakeClock())


def body(model: str, shape: str, size: int) -> bytes:
    text = "x" * size
    if shape == "messages":
        return msgspec.json.encode({"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": text}]})
    return msgspec.json.encode({"model": model, "messages": [{"role": "user", "content": text}]})


async def peak_ratio(application: Any, path: str, raw: bytes) -> tuple[int, float]:
    view = memoryview(raw)
    offsets = list(range(0, len(raw), PIECE))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b""}
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        if not offsets:
            return await asyncio.get_running_loop().create_future()  # type: ignore[no-any-return]
        start = offsets.pop(0)
        return {"type": "http.request", "body": bytes(view[start : start + PIECE]), "more_body": bool(offsets)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    await application(scope, receive, send)
    peak = tracemalloc.get_traced_memory()[1] - base
    return status[0], peak / len(raw)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=30)
    args = parser.parse_args()

    async def measure() -> None:
        application = app()
        async with Lifespan(application):
            tracemalloc.start()
            for name, (path, model, shape) in CASES.items():
                raw = body(model, shape, args.mib << 20)
                status, ratio = await peak_ratio(application, path, raw)
                print(f"{name}: status {status}, peak / body = {ratio:.2f}")

    asyncio.run(measure())


if __name__ == "__main__":
    main()
