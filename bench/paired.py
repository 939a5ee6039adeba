"""Two keyproxy configurations measured at the same moments: both `keyproxy serve` on one core (CPU 1), both
loaded at once from CPU 0 against the shared harness's fake upstream (nginx), for a few short rounds.

This machine's speed drifts by several percent within a minute, so two runs one after the other differ by
more than a per-request cost of a few percent. Run side by side on one core, the two share the kernel's
time fairly, and whatever slows the machine slows both: the ratio of their requests/s is the inverse ratio
of their CPU per request, within about a percent from round to round.

    uv run python bench/paired.py [--secs 10] [--rounds 6] [--stream]
        bare:KEYPROXY_ACCESS_LOG=off,KEYPROXY_METRICS=false default:
    uv run python bench/paired.py before:@/path/to/other/checkout/src after:

A configuration is `NAME:VAR=VAL,...` (environment for its proxy); `@DIR` puts DIR first on the proxy's
PYTHONPATH (an older checkout's `src`); `+DIR` runs another system folder of the shared harness instead of
`bench/system` (its `start.sh`, the models its `system.env` names), e.g. the Python floor:

    uv run python bench/paired.py floor:+../shared/bench/systems/python-floor,FLOOR_VENV=$PWD/.venv now:

The first is the reference. Needs root (taskset), nginx and wrk, as the shared harness does; stays on
loopback and ends in rounds x secs seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIB = REPO.parent / "shared" / "bench" / "lib"
KEY = "paired-master-key-0123456789"
UPSTREAM = "http://127.0.0.1:18080"
KEYS = ",".join(f"paired-upstream-key-{n:04d}" for n in range(4))


def cpu_seconds(pid: int) -> float:
    """User and system time of every thread of `pid`."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        fields = Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def load(port: int, secs: int, stream: bool, models: dict[str, str]) -> subprocess.Popen[str]:
    env = {**os.environ, "BENCH_MODEL": models["MODEL_STREAM" if stream else "MODEL_PLAIN"], "BENCH_AUTH": KEY}
    env["BENCH_STREAM"] = "1" if stream else "0"
    command = ["taskset", "-c", "0", "wrk", "-t1", "-c64", f"-d{secs}s", "--timeout", "10s"]
    command += ["-s", str(LIB / "chat.lua"), f"http://127.0.0.1:{port}/v1/chat/completions"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def served(wrk: subprocess.Popen[str]) -> int:
    output = wrk.communicate()[0]
    summary = json.loads(next(line for line in output.splitlines() if line.startswith("WRKJSON"))[8:])
    if summary["err_status"] or summary["err_connect"]:
        raise SystemExit(f"errors under load: {summary}")
    return int(summary["requests"])


def models(system: Path) -> dict[str, str]:
    """MODEL_PLAIN and MODEL_STREAM as the system folder's `system.env` sets them."""
    lines = (system / "system.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.startswith(("MODEL_PLAIN=", "MODEL_STREAM=")))


def start(name: str, spec: str, port: int, scratch: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    env = {**os.environ, "PORT": str(port), "STATE_DIR": str(scratch / name), "MASTER_KEY": KEY}
    env |= {"UPSTREAM_PLAIN": f"{UPSTREAM}/plain/v1", "UPSTREAM_STREAM": f"{UPSTREAM}/stream/v1", "UPSTREAM_KEYS": KEYS}
    system = REPO / "bench" / "system"
    for item in filter(None, spec.split(",")):
        if item.startswith("@"):
            env["PYTHONPATH"] = item[1:]
        elif item.startswith("+"):
            system = Path(item[1:]).resolve()
        else:
            variable, _, value = item.partition("=")
            env[variable] = value
    (scratch / name).mkdir()
    log = (scratch / name / "proxy.log").open("wb")
    command = ["taskset", "-c", "1", "bash", str(system / "start.sh")]
    proxy = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    ready = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {KEY}"})
    for _ in range(300):
        try:
            urllib.request.urlopen(ready, timeout=1)
            return proxy, models(system)
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{name} did not start; see {scratch / name / 'proxy.log'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("configs", nargs=2, metavar="NAME:SPEC")
    parser.add_argument("--secs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--stream", action="store_true", help="SSE-50 streams instead of whole answers")
    args = parser.parse_args()
    names = [config.partition(":")[0] for config in args.configs]
    scratch = Path(tempfile.mkdtemp(prefix="paired-"))
    scratch.chmod(0o755)  # nginx's workers read the canned stream from it
    subprocess.run([sys.executable, str(LIB / "gen_upstream.py"), str(scratch)], check=True, stdout=subprocess.DEVNULL)
    nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", str(scratch / "upstream.conf"), "-p", str(scratch)])
    proxies: list[subprocess.Popen[bytes]] = []
    named: list[dict[str, str]] = []
    try:
        for index, config in enumerate(args.configs):
            name, _, spec = config.partition(":")
            proxy, its_models = start(name, spec, 19301 + index, scratch)
            proxies.append(proxy)
            named.append(its_models)
        for wrk in [load(19301 + index, 3, args.stream, named[index]) for index in range(2)]:
            served(wrk)
        ratios, cpu_ratios = [], []
        for round_ in range(args.rounds):
            before = [cpu_seconds(proxy.pid) for proxy in proxies]
            # Started in turns, first one then the other, so neither always has the head start.
            order = [0, 1] if round_ % 2 == 0 else [1, 0]
            loads = {index: load(19301 + index, args.secs, args.stream, named[index]) for index in order}
            done = [served(loads[index]) for index in range(2)]
            cpu = [
                (cpu_seconds(proxy.pid) - then) * 1e3 / count
                for proxy, then, count in zip(proxies, before, done, strict=True)
            ]
            ratios.append(done[1] / done[0])
            cpu_ratios.append(cpu[1] / cpu[0])
            print(
                f"round {round_}: {names[0]} {done[0] / args.secs:.0f}/s {cpu[0]:.4f} ms, "
                f"{names[1]} {done[1] / args.secs:.0f}/s {cpu[1]:.4f} ms, ratio {ratios[-1]:.3f}",
                flush=True,
            )
        print(
            f"{names[1]} / {names[0]}: requests/s {statistics.median(ratios):.3f} "
            f"(rounds {min(ratios):.3f}-{max(ratios):.3f}), CPU per request {statistics.median(cpu_ratios):.3f}"
        )
    finally:
        for proxy in proxies:
            os.killpg(proxy.pid, signal.SIGTERM)
            proxy.wait(10)
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
