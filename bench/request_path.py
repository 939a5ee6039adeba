"""keyproxy's own cost per request, in process: the app driven through ASGI in front of MockTransport.

No sockets, no upstream, no load generator: what is left is the work keyproxy adds to each request
(routing, the envelope, key choice, the store, the adapter, relaying, usage, the access log and the
metrics; logging is set up as `keyproxy serve` does, its stderr sent to /dev/null), so two commits can be
compared within a few percent on a machine whose speed drifts. The shared harness (`run.sh`) stays the
measure of the whole proxy; this one points at the request path.

    uv run python bench/request_path.py [--requests 20000] [--runs 7] [--kind plain|stream|both]
        [--capture off|errors|all] [--redis redis://127.0.0.1:6379/0] [--access-log text|json|off] [--metrics on|off]
        [--concurrency 64] [--uvloop]

Under `valgrind --tool=callgrind`, the difference between two request counts gives the instructions per
request, which do not drift with the machine's speed. With `--redis`, key state is shared through that
Redis (under a prefix of its own, removed at the end) as with KEYPROXY_REDIS_URL: the difference to a run
without it is what sharing costs keyproxy per request (Redis's own CPU comes on top). The app's fake clock
then moves STEP per request, so the store's view of the pool ages per request, under callgrind as natively.
`--concurrency 64 --uvloop` keeps 64 requests in flight on uvloop, as a loaded `keyproxy serve` does: the
Redis calls of one loop turn share a write. Callgrind's counts then differ by a few thousand instructions
from run to run (the flush loop and the logging thread run by wall-clock time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from keyproxy.capture import CaptureWriter
from keyproxy.cli.serve import settle_collector
from keyproxy.clock import Clock, SystemClock
from keyproxy.config import Credential, ProviderSettings, Settings
from keyproxy.config.settings import AccessLogMode, CaptureMode, CaptureSettings, StateSettings
from keyproxy.logs import configure_logging
from keyproxy.state.base import StateStore
from keyproxy.state.memory import MemoryStore
from keyproxy.testing import FakeClock
from keyproxy.transport import MockResponse, MockTransport, UpstreamRequest
from keyproxy.wiring import build_app

STEP = 1 / 2700
"""Seconds the fake clock moves per request with --redis: keyproxy with Redis served about 2,700 requests a
second at c=64 (performance.md), so its view of a pool ages by this much per request."""
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


def app(
    capture: CaptureMode = "off", data_dir: Path = Path("data"), clock: Clock | None = None,
    state: StateStore | None = None, access_log: AccessLogMode = "text", metrics: bool = True,
) -> Any:  # fmt: skip
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
        data_dir=data_dir, access_log=access_log, metrics=metrics,
    )  # fmt: skip
    return build_app(settings, transport=MockTransport(answer), clock=clock or FakeClock(), state=state)


SCOPE = {
    "type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": [], "query_string": b"",
    "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
}  # fmt: skip
"""A request's scope as uvicorn makes it over TCP: the access log writes the client's address."""


async def run(application: Any, body: bytes, count: int, clock: FakeClock | None = None) -> tuple[float, float]:
    """Seconds per request over `count` requests, one after another: wall-clock, and this process's CPU.
    With `clock`, it moves STEP per request, as the app's time moves on a loaded instance."""
    scope = dict(SCOPE)
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
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        request_pending[0] = True
        await application(scope, receive, send)
        if clock is not None:
            clock.advance(STEP)
    return (time.perf_counter() - started) / count, (time.process_time() - cpu) / count


async def run_concurrently(
    application: Any, body: bytes, count: int, concurrency: int, clock: FakeClock | None = None
) -> tuple[float, float]:
    """As `run`, with `concurrency` requests in flight at once (each client sends its next when answered)."""
    scope = dict(SCOPE)
    request = {"type": "http.request", "body": body, "more_body": False}
    loop = asyncio.get_running_loop()

    async def send(message: dict[str, Any]) -> None:
        return None

    def receiver() -> Callable[[], Awaitable[dict[str, Any]]]:
        pending = [True]

        async def receive() -> dict[str, Any]:
            if pending[0]:
                pending[0] = False
                return request
            return await loop.create_future()

        return receive

    async def client(requests: int) -> None:
        for _ in range(requests):
            await application(scope, receiver(), send)
            if clock is not None:
                clock.advance(STEP)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(count // concurrency) for _ in range(concurrency)))
    done = count // concurrency * concurrency
    return (time.perf_counter() - started) / done, (time.process_time() - cpu) / done


class StoreClock(SystemClock):
    """The app's fake time for the Redis store's decisions (how old its view is), so a run under callgrind
    reads the pool as often per request as a loaded instance does; real sleeps for its flush loop."""

    def __init__(self, app_clock: FakeClock) -> None:
        self._app_clock = app_clock

    def now(self) -> float:
        return self._app_clock.now()


async def _forget(url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    async for name in client.scan_iter(match=prefix + "*"):
        await client.delete(name)
    await client.aclose()


async def _server_load(url: str) -> tuple[int, int, float]:
    """The commands Redis has run (those inside scripts too), the scripts among them, and the CPU seconds it
    has used, so far (anything else using the same Redis counts as well)."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    stats, cpu = await client.info("commandstats"), await client.info("cpu")
    await client.aclose()
    calls = sum(int(entry["calls"]) for entry in stats.values())
    scripts = sum(int(stats.get(name, {}).get("calls", 0)) for name in ("cmdstat_evalsha", "cmdstat_eval"))
    return calls, scripts, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--kind", choices=["plain", "stream", "both"], default="both")
    parser.add_argument("--capture", choices=["off", "errors", "all"], default="off")
    parser.add_argument("--redis", metavar="URL", help="share key state through this Redis")
    parser.add_argument("--access-log", choices=["text", "json", "off"], default="text")
    parser.add_argument("--metrics", choices=["on", "off"], default="on")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight at once (as c=64)")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop, as `keyproxy serve` does")
    args = parser.parse_args()
    kinds = ["plain", "stream"] if args.kind == "both" else [args.kind]

    async def measure() -> dict[str, list[tuple[float, float]]]:
        results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
        with tempfile.TemporaryDirectory() as folder:
            state, clock = None, None
            if args.redis:
                from keyproxy.state.redis_store import RedisStore

                prefix = f"bench-{uuid.uuid4().hex}:"
                # Requests run back to back, as on a loaded instance: each release rides on the next request's
                # script. The outbox's 5 ms batch would instead fire after every request under callgrind.
                # A long timeout: under callgrind a loop turn of 64 requests can outlast the default 0.5 s, and the
                # store would take Redis for down and measure the local store instead.
                state = RedisStore(
                    args.redis, MemoryStore(), interval=1.0, retention_days=1, prefix=prefix, batch_delay=60.0,
                    timeout=60.0,
                )  # fmt: skip
                # Real sleeps for the store's flush loop alone: on the fake clock it would spin.
                clock = FakeClock()
                await state.start(StoreClock(clock))
            application = app(
                args.capture, Path(folder), clock=clock, state=state, access_log=args.access_log,
                metrics=args.metrics == "on",
            )  # fmt: skip
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
            server = await _server_load(args.redis) if args.redis else None
            settle_collector()  # as `keyproxy serve` does once started
            for _ in range(args.runs):
                for kind in results:
                    body = request_body(kind == "stream")
                    if args.concurrency > 1:
                        timed = await run_concurrently(application, body, args.requests, args.concurrency, clock)
                    else:
                        timed = await run(application, body, args.requests, clock)
                    results[kind].append(timed)
            if state is not None and not state.healthy:
                raise SystemExit("Redis was taken for down during the run: the figures are the local store's")
            if server is not None:
                after, count = await _server_load(args.redis), args.requests * args.runs * len(kinds)
                calls, scripts, cpu = ((now - then) / count for now, then in zip(after, server, strict=True))
                print(f"redis: {calls:.2f} commands/request ({scripts:.2f} scripts), its CPU {cpu * 1e6:.1f} us each")
            # Stopped as a server stops (without the background jobs, which a fake clock would spin): what the
            # app still holds (access lines gathered since the last hand-over) goes to the logging thread.
            for step in application.shutdown:
                await step()
            if args.redis:
                await _forget(args.redis, prefix)
            if writer is not None:
                writer.close()
                print(f"capture: {writer.written} exchanges written, {writer.dropped} dropped")
        return results

    with open(os.devnull, "w") as devnull, tempfile.TemporaryDirectory() as log_dir:
        with contextlib.redirect_stderr(devnull):
            stop_logging = configure_logging("INFO", KEYS, Path(log_dir))
        try:
            if args.uvloop:
                import uvloop

                results = uvloop.run(measure())
            else:
                results = asyncio.run(measure())
        finally:
            stop_logging()
    for kind, runs in results.items():
        wall, cpu = [run[0] for run in runs], [run[1] for run in runs]
        print(
            f"{kind}: median {statistics.median(wall) * 1e6:.1f} us/request, best {min(wall) * 1e6:.1f}; "
            f"CPU median {statistics.median(cpu) * 1e6:.1f} us/request"
        )


if __name__ == "__main__":
    main()
