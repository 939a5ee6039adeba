"""Soak: a real `keyproxy serve` under a long mixed load on loopback, watched for memory, fd and task leaks.

    uv run python bench/soak.py [--minutes 10] [--concurrency 64] [--out soak.json]

Starts the fake upstream (`keyproxy fake-upstream`) and `keyproxy serve` (through bench/soak_probe.py,
which adds a task counter outside the product) with two providers of four keys each: `soak` always
answers, `flaky` has a fault armed on one of its keys every half second (429 with Retry-After, 500, 503,
a 403 that sends the proxy to probe the key, garbage, streams cut before or after their first chunk,
slow streams). `--concurrency` clients then loop over a mix of whole answers, streams read to the end,
streams the client leaves after the first chunk, requests to `flaky`, malformed requests and wrong
proxy keys. Every `--sample-every` seconds the proxy's RSS, open fds and live asyncio tasks are read; fds and
tasks are also read idle, before the load and after it has drained, where a leak cannot hide among
requests in flight. Prints a summary and writes the JSON result to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

BENCH = Path(__file__).resolve().parent
PROXY_KEY = "kp-soak-0123456789abcdef"
KEYS = {name: [f"sk-{name}-{n}-0123456789abcdef" for n in range(1, 5)] for name in ("soak", "flaky")}
FAULTS: list[dict[str, Any]] = [
    {"kind": "rate_limit", "retry_after": 1, "times": 3},
    {"kind": "server_error", "times": 3},
    {"kind": "unavailable", "times": 2},
    {"kind": "forbidden", "times": 1},
    {"kind": "garbage", "times": 2},
    {"kind": "cut_before_first_chunk", "times": 3},
    {"kind": "cut_after_first_chunk", "times": 3},
    {"kind": "slow", "delay": 0.05, "times": 4},
]
LOGS = ("upstream.log", "proxy.log")
PROMPT = "soak " * 40
"""Forty words: the fake echoes them back, so a stream has some forty chunks."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Proxy:
    """The fake upstream and the proxy processes, and the readings of the proxy's /proc entry."""

    def __init__(self, workdir: Path, *, trace: bool) -> None:
        self.workdir = workdir
        self.upstream_port, self.port = free_port(), free_port()
        self.status_file = workdir / "probe.json"
        base = f"http://127.0.0.1:{self.upstream_port}/v1"
        lines = [f"PROXY_API_KEY={PROXY_KEY}", "KEYPROXY_LOG_LEVEL=warning"]
        for name, keys in KEYS.items():
            lines.append(f"{name.upper()}_API_BASE={base}")
            lines += [f"{name.upper()}_API_KEY_{n}={key}" for n, key in enumerate(keys, 1)]
        (workdir / ".env").write_text("\n".join(lines) + "\n")
        upstream = [sys.executable, "-m", "keyproxy", "fake-upstream", "--port", str(self.upstream_port)]
        self.logs = [open(workdir / name, "wb") for name in LOGS]  # noqa: SIM115
        self.upstream = subprocess.Popen(upstream, cwd=workdir, stdout=self.logs[0], stderr=subprocess.STDOUT)
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(workdir / "data")]
        probe = [sys.executable, str(BENCH / "soak_probe.py"), str(self.status_file), *(["--trace"] if trace else [])]
        self.process = subprocess.Popen(
            [*probe, "--", *serve], cwd=workdir, stdout=self.logs[1], stderr=subprocess.STDOUT
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def memory(self) -> dict[str, int]:
        """Resident KiB: in all, and split into anonymous memory (the heap) and pages of mapped files (the
        interpreter and libraries, faulted in as code paths are first used)."""
        fields = {"VmRSS:": "rss_kib", "RssAnon:": "anon_kib", "RssFile:": "file_kib"}
        found = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name = line.split(maxsplit=1)[0] if line else ""
            if name in fields:
                found[fields[name]] = int(line.split()[1])
        return found

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    async def probe(self, sig: signal.Signals = signal.SIGUSR1, within: float = 10.0) -> dict[str, Any]:
        """Ask the proxy for its live task count (SIGUSR1) or a tracemalloc snapshot (SIGUSR2) and wait for
        the status file to change."""
        before = self.status_file.stat().st_mtime_ns if self.status_file.exists() else 0
        self.process.send_signal(sig)
        for _ in range(int(within / 0.05)):
            await asyncio.sleep(0.05)
            if self.status_file.exists() and self.status_file.stat().st_mtime_ns != before:
                result: dict[str, Any] = json.loads(self.status_file.read_text())
                return result
        return {"tasks": None, "growth": []}

    async def idle_reading(self) -> dict[str, Any]:
        probe = await self.probe()
        return {**self.memory(), "fds": self.fds(), "tasks": probe.get("tasks")}

    def stop(self) -> int | None:
        for process in (self.process, self.upstream):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = []
        for process in (self.process, self.upstream):
            try:
                codes.append(process.wait(40))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        for log in self.logs:
            log.close()
        return codes[0]


class Load:
    """The clients: each loops over the mix until the deadline; outcomes are counted by kind and status."""

    def __init__(self, url: str, upstream: str, seed: int, patience: float) -> None:
        self.url = url
        self.patience = patience
        self.upstream = upstream
        self.random = random.Random(seed)
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.requests = 0
        self.busy = 0
        self.running, self.idle = asyncio.Event(), asyncio.Event()
        self.running.set()
        self.mix = [
            (30, self.whole), (30, self.stream), (12, self.leave_stream), (8, self.flaky_whole),
            (12, self.flaky_stream), (4, self.bad_request), (1, self.wrong_key), (3, self.models),
        ]  # fmt: skip

    def pick(self) -> Any:
        return self.random.choices([f for _, f in self.mix], [w for w, _ in self.mix])[0]

    async def client(self, session: aiohttp.ClientSession, deadline: float) -> None:
        while time.monotonic() < deadline:
            await self.running.wait()
            action = self.pick()
            self.busy += 1
            self.idle.clear()
            try:
                outcome = await action(session)
            except TimeoutError:
                outcome = "gave-up"
            except aiohttp.ClientError as exc:
                outcome = type(exc).__name__
            finally:
                self.busy -= 1
                if not self.busy:
                    self.idle.set()
            self.outcomes[f"{action.__name__} {outcome}"] += 1
            self.requests += 1

    async def faults(self, deadline: float) -> None:
        # A session of its own: the clients' connections are all busy when the proxy is.
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while time.monotonic() < deadline:
                fault = {"key": self.random.choice(KEYS["flaky"]), **self.random.choice(FAULTS)}
                with contextlib.suppress(TimeoutError, aiohttp.ClientError):
                    async with session.post(f"{self.upstream}/_fake/faults", json=fault) as response:
                        await response.read()
                await asyncio.sleep(0.5)

    async def chat(
        self, session: aiohttp.ClientSession, model: str, *, stream: bool, leave: bool = False, patience: float = 60
    ) -> str:
        body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "stream": stream}
        headers = {"authorization": f"Bearer {PROXY_KEY}"}
        timeout = aiohttp.ClientTimeout(total=patience)
        url = f"{self.url}/v1/chat/completions"
        async with session.post(url, json=body, headers=headers, timeout=timeout) as response:
            if leave and response.status == 200:
                await response.content.readline()
                # Closing the connection mid-body is how a client leaves; the proxy must notice.
                response.close()
                return "left"
            await response.read()
            return str(response.status)

    async def whole(self, session: aiohttp.ClientSession) -> str:
        return await self.chat(session, "soak/fake-chat", stream=False)

    async def stream(self, session: aiohttp.ClientSession) -> str:
        return await self.chat(session, "soak/fake-chat", stream=True)

    async def leave_stream(self, session: aiohttp.ClientSession) -> str:
        return await self.chat(session, "soak/fake-chat", stream=True, leave=True)

    async def flaky_whole(self, session: aiohttp.ClientSession) -> str:
        return await self.chat(session, "flaky/fake-chat", stream=False, patience=self.patience)

    async def flaky_stream(self, session: aiohttp.ClientSession) -> str:
        return await self.chat(session, "flaky/fake-chat", stream=True, patience=self.patience)

    async def bad_request(self, session: aiohttp.ClientSession) -> str:
        body = {"model": "soak/fake-chat", "messages": []}
        headers = {"authorization": f"Bearer {PROXY_KEY}"}
        async with session.post(f"{self.url}/v1/chat/completions", json=body, headers=headers) as response:
            await response.read()
            return str(response.status)

    async def wrong_key(self, session: aiohttp.ClientSession) -> str:
        async with session.get(f"{self.url}/v1/models", headers={"authorization": "Bearer wrong"}) as response:
            await response.read()
            return str(response.status)

    async def models(self, session: aiohttp.ClientSession) -> str:
        headers = {"authorization": f"Bearer {PROXY_KEY}"}
        async with session.get(f"{self.url}/v1/models", headers=headers) as response:
            await response.read()
            return str(response.status)


async def wait_ready(url: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {within} s")
            await asyncio.sleep(0.1)


async def soak(proxy: Proxy, args: argparse.Namespace) -> dict[str, Any]:
    await wait_ready(f"http://127.0.0.1:{proxy.upstream_port}/_fake/stats")
    await wait_ready(f"{proxy.url}/health")
    idle_before = await proxy.idle_reading()
    load = Load(proxy.url, f"http://127.0.0.1:{proxy.upstream_port}", args.seed, args.patience)
    started = time.monotonic()
    deadline = started + args.seconds
    samples: list[dict[str, Any]] = []
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        workers = [asyncio.create_task(load.client(session, deadline)) for _ in range(args.concurrency)]
        workers.append(asyncio.create_task(load.faults(deadline)))
        marked = False
        while time.monotonic() < deadline:
            await asyncio.sleep(min(args.sample_every, max(0.0, deadline - time.monotonic())))
            elapsed = time.monotonic() - started
            probe = await proxy.probe()
            samples.append(
                {"t": round(elapsed, 1), "requests": load.requests, **proxy.memory(),
                 "fds": proxy.fds(), "tasks": probe.get("tasks")}
            )  # fmt: skip
            if args.trace and not marked and elapsed >= args.warmup:
                await idle_snapshot(proxy, load, args.settle[0])
                marked = True
        await asyncio.gather(*workers)
    elapsed = time.monotonic() - started
    # Idle looks: soon after the load (the proxy has finished what the clients left), and once the upstream
    # connections it keeps alive have timed out, so that what is left open would be a leak.
    idle_after: dict[str, Any] = {}
    waited = 0.0
    for settle in args.settle:
        await asyncio.sleep(settle - waited)
        waited = settle
        idle_after[f"{settle:g}s"] = await proxy.idle_reading()
    growth = (await proxy.probe(signal.SIGUSR2, within=120)).get("growth", []) if args.trace else []
    return summarise(args, load, samples, idle_before, idle_after, elapsed, growth)


async def idle_snapshot(proxy: Proxy, load: Load, settle: float) -> None:
    """The tracemalloc baseline, taken with the clients paused and the proxy idle, as the last one is: what
    differs between the two is what the proxy kept, not what it had in flight."""
    load.running.clear()
    if load.busy:
        await load.idle.wait()
    await asyncio.sleep(settle)
    await proxy.probe(signal.SIGUSR2, within=120)
    load.running.set()


def summarise(
    args: argparse.Namespace,
    load: Load,
    samples: list[dict[str, Any]],
    idle_before: dict[str, Any],
    idle_after: dict[str, dict[str, Any]],
    elapsed: float,
    growth: list[dict[str, Any]],
) -> dict[str, Any]:
    warm = [s for s in samples if s["t"] >= args.warmup] or samples
    first, after_warmup, last = samples[0], warm[0], samples[-1]
    return {
        "seconds": round(elapsed, 1),
        "concurrency": args.concurrency,
        "requests": load.requests,
        "requests_per_second": round(load.requests / elapsed, 1),
        "outcomes": dict(sorted(load.outcomes.items())),
        "idle_before": idle_before,
        "idle_after": idle_after,
        "rss_first_sample_kib": first["rss_kib"],
        "rss_after_warmup_kib": after_warmup["rss_kib"],
        "warmup_seconds": args.warmup,
        "rss_last_sample_kib": last["rss_kib"],
        "rss_change_from_first": round(last["rss_kib"] / first["rss_kib"] - 1, 4),
        "rss_change_after_warmup": round(last["rss_kib"] / after_warmup["rss_kib"] - 1, 4),
        "rss_peak_kib": max(s["rss_kib"] for s in samples),
        "anon_kib": {"first": first["anon_kib"], "after_warmup": after_warmup["anon_kib"], "last": last["anon_kib"]},
        "file_kib": {"first": first["file_kib"], "after_warmup": after_warmup["file_kib"], "last": last["file_kib"]},
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
        "samples": samples,
        "tracemalloc_growth": growth,
    }


def report(result: dict[str, Any]) -> str:
    before, after = result["idle_before"], list(result["idle_after"].values())[-1]
    settled = list(result["idle_after"])[-1]
    errors = sum(
        n
        for name, n in result["outcomes"].items()
        if name.split()[-1] not in ("left", "gave-up") and not name.split()[-1][0].isdigit()
    )
    return "\n".join(
        [
            f"{result['requests']} requests in {result['seconds']} s ({result['requests_per_second']}/s) "
            f"at concurrency {result['concurrency']}; {errors} client-side errors",
            f"RSS: first sample {result['rss_first_sample_kib'] / 1024:.1f} MiB, after {result['warmup_seconds']} s "
            f"warm-up {result['rss_after_warmup_kib'] / 1024:.1f} MiB, last {result['rss_last_sample_kib'] / 1024:.1f}"
            f" MiB ({result['rss_change_after_warmup']:+.1%} after warm-up, {result['rss_change_from_first']:+.1%} "
            f"from the first sample), peak {result['rss_peak_kib'] / 1024:.1f} MiB",
            "of which anonymous (first / after warm-up / last): {first} / {after_warmup} / {last} KiB, "
            "mapped files: ".format(**result["anon_kib"])
            + "{first} / {after_warmup} / {last} KiB".format(**result["file_kib"]),
            f"idle before / {settled} after the load: fds {before['fds']} / {after['fds']}, "
            f"tasks {before['tasks']} / {after['tasks']}, "
            f"RSS {before['rss_kib'] / 1024:.1f} / {after['rss_kib'] / 1024:.1f} MiB",
        ]
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, help="overrides --minutes (a smoke run)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sample-every", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the 'after warm-up' RSS")
    parser.add_argument(
        "--settle",
        type=lambda text: [float(t) for t in text.split(",")],
        default=[3.0, 65.0],
        help="seconds after the load's end of each idle look (comma list; the proxy keeps upstream connections 60 s)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--patience", type=float, default=5.0,
        help="seconds a client waits for `flaky`: with its keys all cooling the proxy waits for one, and a "
        "client leaving while it waits is one more way of going away",
    )  # fmt: skip
    parser.add_argument("--trace", action="store_true", help="tracemalloc in the proxy: growth after warm-up")
    parser.add_argument("--out", type=Path, help="write the JSON result here")
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = args.minutes * 60
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="keyproxy-soak-") as workdir:
        proxy = Proxy(Path(workdir), trace=args.trace)
        try:
            result = asyncio.run(soak(proxy, args))
        finally:
            exit_code = proxy.stop()
        logs = {name: (Path(workdir) / name).read_text(errors="replace").splitlines() for name in LOGS}
    result["proxy_exit_code"] = exit_code
    result["log_lines"] = {name: len(lines) for name, lines in logs.items()}
    result["proxy_log_tail"] = logs["proxy.log"][-5:]
    print(report(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if exit_code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
