"""`keyproxy serve` with an outside look-in for the soak: SIGUSR1 writes the live task count to a file.

    python bench/soak_probe.py STATUS_FILE [--trace] -- serve --port ... (the arguments of `keyproxy`)

The product is untouched: this runs the CLI's own `main` in a process that also has a signal handler, so
the soak counts asyncio tasks without a debug route or setting on the request path. With `--trace`,
tracemalloc records allocations from the start; SIGUSR2 takes a snapshot, the first one becomes the
baseline and each later one writes the biggest growth since it (by traceback) into the status file. Tracing
slows the proxy several times over and adds its own memory, so the soak's figures are taken without it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import Any

from keyproxy.cli.main import main


class Probe:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.baseline: tracemalloc.Snapshot | None = None
        self.growth: list[dict[str, Any]] = []

    def report(self, signum: int, frame: FrameType | None) -> None:
        # Python runs the handler on the main thread, between two bytecodes of the loop's own thread.
        try:
            tasks = len(asyncio.all_tasks(asyncio.get_running_loop()))
        except RuntimeError:
            tasks = -1
        status = {"tasks": tasks, "growth": self.growth}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(status))
        temporary.replace(self.path)

    def snapshot(self, signum: int, frame: FrameType | None) -> None:
        if not tracemalloc.is_tracing():
            return
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        if self.baseline is None:
            self.baseline = snapshot
        else:
            self.growth = self.compare(snapshot)
        self.report(signum, frame)

    def compare(self, snapshot: tracemalloc.Snapshot) -> list[dict[str, Any]]:
        assert self.baseline is not None
        stats = snapshot.compare_to(self.baseline, "traceback")[:15]
        return [
            {
                "size_diff": stat.size_diff,
                "count_diff": stat.count_diff,
                "size": stat.size,
                "where": [f"{f.filename}:{f.lineno}" for f in stat.traceback][-6:],
            }
            for stat in stats
        ]


def run(argv: list[str]) -> int:
    split = argv.index("--")
    own, keyproxy_args = argv[:split], argv[split + 1 :]
    if "--trace" in own:
        tracemalloc.start(8)
    probe = Probe(Path(own[0]))
    signal.signal(signal.SIGUSR1, probe.report)
    signal.signal(signal.SIGUSR2, probe.snapshot)
    return main(keyproxy_args)


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
