"""keyproxy's own cost per request, in process: the app driven through ASGI in front of MockTransport.

No sockets, no upstream, no load generator: what is left is the work keyproxy adds to each request
(routing, the envelope, key choice, the store, the adapter, relaying, usage, the access log and the
metrics; logging is set up as `keyproxy serve` does, its stderr sent to /dev/null), so two commits can be
compared within a few percent on a machine whose speed drifts. The shared harness (`run.sh`) stays the
measure of the whole proxy; this one points at the request path.

    uv run python bench/request_path.py [--requests 20000] [--runs 7] [--kind plain|stream|both]
        [--capture off|errors|all]

Under `valgrind --tool=callgrind`, the difference between two request counts gives the instructions per
request, which do not drift with the machine's speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from keyproxy.capture import CaptureWriter
from keyproxy.clock import Clock
from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import CaptureMode, CaptureSettings, StateSettings
from keyproxy.logs import configure_logging
from keyproxy.testing import FakeClock
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app

KEYS = tuple(f"sk-bench-key-{n}-0123456789" for n in range(1, 5))
ANSWER = msgspec.json.encode(
    {
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "fast",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "x" * 200}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 50, "total_tokens": 60},
    }
)  # fmt: skip
CHUNK = b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"xxxx"}}]}\n\n'
STREAM = CHUNK * 50 + b"data: [DONE]\n\n"


def request_body(stream: bool) -> bytes:
    message = {"role": "user", "content": "hello"}
    return msgspec.json.encode({"model": "bench/fast", "messages": [message], "stream": stream})


def app(capture: CaptureMode = "off", data_dir: Path = Path("data"), clock: Clock | None = None) -> Any:
    async def answer(request: UpstreamRequest) -> MockResponse:
        if b'"stream":true' in (request.body or b""):
            return MockResponse(200, {"content-type": "text/event-stream"}, [STREAM])
        return MockResponse.json(200, ANSWER)

    provider = ProviderSettings(
        name="bench", protocol="openai", base_url="http://upstream.test/v1",
        credentials=tuple(Credential(key, f"BENCH_API_KEY_{n}") for n, key in enumerate(KEYS, 1)),
    )  # fmt: skip
    settings = Settings(
        providers={"bench": provider}, state=StateSettings(backend="memory"), capture=CaptureSettings(mode=capture),
        data_dir=data_dir,
    )  # fmt: skip
    return build_app(settings, transport=MockTransport(answer), clock=clock or FakeClock())


async def run(application: Any, body: bytes, count: int) -> float:
    """Seconds per request over `count` requests, one after another."""
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": [], "query_string": b""}
    request = {"type": "http.request", "body": body, "more_body": False}
    loop = asyncio.get_running_loop()

    async def receive() -> dict[str, Any]:
        if request_pending[0]:
            request_pending[0] = False
            return request
        return await loop.create_future()  # the client stays connected

    async def send(message: dict[str, Any]) -> None:
        return None

    request_pending = [True]
    started = time.perf_counter()
    for _ in range(count):
        request_pending[0] = True
        await application(scope, receive, send)
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--kind", choices=["plain", "stream", "both"], default="both")
    parser.add_argument("--capture", choices=["off", "errors", "all"], default="off")
    args = parser.parse_args()
    kinds = ["plain", "stream"] if args.kind == "both" else [args.kind]

    async def measure() -> dict[str, list[float]]:
        results: dict[str, list[float]] = {kind: [] for kind in kinds}
        with tempfile.TemporaryDirectory() as folder:
            application = app(args.capture, Path(folder))
            writer = None
            if args.capture != "off":
                # The capture writer's thread alone (the app's other background jobs would run on the fake clock),
                # and no bound on its queue: the benchmark never yields, so a bounded one would drop what it falls
                # behind on.
                writer = CaptureWriter(
                    Path(folder), lambda: KEYS, retention_days=7, max_total_bytes=1 << 40, queue_size=0
                )
                application._capture.writer = writer
                writer.open()
            for _ in range(args.runs):
                for kind in results:
                    results[kind].append(await run(application, request_body(kind == "stream"), args.requests))
            # Stopped as a server stops (without the background jobs, which a fake clock would spin): what the
            # app still holds (access lines gathered since the last hand-over) goes to the logging thread.
            for step in application.shutdown:
                await step()
            if writer is not None:
                writer.close()
                print(f"capture: {writer.written} exchanges written, {writer.dropped} dropped")
        return results

    with open(os.devnull, "w") as devnull, tempfile.TemporaryDirectory() as log_dir:
        with contextlib.redirect_stderr(devnull):
            stop_logging = configure_logging("INFO", KEYS, Path(log_dir))
        try:
            results = asyncio.run(measure())
        finally:
            stop_logging()
    for kind, seconds in results.items():
        print(f"{kind}: median {statistics.median(seconds) * 1e6:.1f} us/request, best {min(seconds) * 1e6:.1f}")


if __name__ == "__main__":
    main()
