"""`keyproxy usage`: token, request and cost totals, from the running proxy or straight from its data dir."""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import urlencode

from keyproxy.cli.loading import load
from keyproxy.cli.status import ask
from keyproxy.config import CliOptions
from keyproxy.state.sqlite_usage import read_usage
from keyproxy.usage.counters import UsageCounters, report


def usage(options: CliOptions, filters: dict[str, str | None], *, as_json: bool, offline: bool) -> int:
    query = urlencode({name: value for name, value in filters.items() if value})
    answer = None if offline else ask(options, "GET", "/v1/usage" + (f"?{query}" if query else ""), quiet=True)
    if answer is None:
        answer = _from_data_dir(options, filters)
        if answer is None:
            return 1
    if as_json:
        sys.stdout.write(json.dumps(answer, indent=2) + "\n")
        return 0
    rows = [("provider", "key", "model", "requests", "ok", "failed", "prompt", "completion", "cost $")]
    for provider, data in answer["providers"].items():
        for key, entry in data["keys"].items():
            for model, c in entry["models"].items():
                failed = sum(c["failures"].values())
                rows.append((provider, key, model, str(c["requests"]), str(c["successes"]), str(failed),
                             str(c["prompt_tokens"]), str(c["completion_tokens"]), f"{c['cost_usd']:.4f}"))  # fmt: skip
    if len(rows) == 1:
        sys.stdout.write("no usage recorded\n")
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
    return 0


def _from_data_dir(options: CliOptions, filters: dict[str, str | None]) -> dict[str, Any] | None:
    """The stored totals (what was flushed; a running proxy holds at most its last second more)."""
    settings = load(options)
    if settings is None:
        return None
    rows = read_usage(settings.data_dir / "keyproxy.db", filters["provider"], filters["model"],
                      filters["since"], filters["until"])  # fmt: skip
    providers: dict[str, Any] = {}
    totals: dict[tuple[str, str, str], UsageCounters] = {}
    for key, counters in rows:
        slot = (key.provider, key.key_id, key.model)
        totals.setdefault(slot, UsageCounters()).add(counters)
    for (provider, key_id, model), c in totals.items():
        keys = providers.setdefault(provider, {"keys": {}})["keys"]
        keys.setdefault(f"id:{key_id}", {"models": {}})["models"][model] = report(c)
    return {"source": str(settings.data_dir), "providers": providers}
