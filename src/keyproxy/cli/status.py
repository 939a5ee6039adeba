"""`keyproxy status` and `keyproxy reset-key`: ask a running instance, found through the same configuration."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from keyproxy.cli.loading import load
from keyproxy.config import CliOptions
from keyproxy.errors import KeyproxyError


def status(options: CliOptions, *, as_json: bool) -> int:
    answer = ask(options, "GET", "/v1/status")
    if answer is None:
        return 1
    if as_json:
        sys.stdout.write(json.dumps(answer, indent=2) + "\n")
        return 0
    now = answer["now"]
    rows = [("provider", "key", "tier", "status", "in flight", "detail")]
    for provider, data in answer["providers"].items():
        for key in data["keys"]:
            cells = (key["key"], str(key["priority"]), key["status"], str(key["in_flight"]), _detail(key, now))
            rows.append((provider, *cells))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
    return 0


def reset_key(options: CliOptions, provider: str, key: str | None) -> int:
    answer = ask(options, "POST", "/v1/admin/reset", {"provider": provider, "key": key})
    if answer is None:
        return 1
    sys.stdout.write(f"{answer['provider']}: lifted {answer['lifted']} cooldown(s) or bench(es)\n")
    return 0


def _detail(key: dict[str, Any], now: float) -> str:
    parts = []
    if key.get("proxy"):
        parts.append(f"via {key['proxy']}{_proxy_health(key.get('proxy_health'), now)}")
    if key.get("models") is not None:
        parts.append(f"serves only {', '.join(key['models'])}")
    if key["benched_until"]:
        parts.append(f"benched ({key['bench_reason']}) for {_left(key['benched_until'], now)}")
    parts.extend(f"{c['model']}: {_why(c['reason'])} for {_left(c['until'], now)}" for c in key["cooldowns"])
    parts.extend(_held(hold, now) for hold in key.get("held", ()))
    return "; ".join(parts)


def _held(hold: dict[str, Any], now: float) -> str:
    model = "every model" if hold["model"] == "*" else hold["model"]
    if hold["by"] == "fair_cycle":
        return f"{model}: exhausted, waits for the other keys (fair cycle) for at most {_left(hold['until'], now)}"
    return f"{model}: at its custom cap for {_left(hold['until'], now)}"


def _proxy_health(health: dict[str, Any] | None, now: float) -> str:
    if not health or health["state"] == "unknown":
        return ""
    if health["state"] == "up":
        return f" (up for {_left(now, health['since'])})" if health["since"] else " (up)"
    tries = f", {health['failures']} connection(s) failed" if health["failures"] > 1 else ""
    return f" (down for {_left(now, health['since'])}{tries}: {health['problem']})"


def _why(reason: str) -> str:
    # A model cooldown for a rejection is the upstream saying this key may not use that model.
    return "refused to this key" if reason == "key_rejected" else reason


def _left(until: float, now: float) -> str:
    seconds = max(0, round(until - now))
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) if seconds >= 60 else f"{seconds}s"


def ask(
    options: CliOptions, method: str, path: str, body: dict[str, Any] | None = None, *, quiet: bool = False
) -> Any:
    """The running proxy's JSON answer, or None when none answers (said on stderr unless `quiet`).

    A proxy that answers with an error raises it: the caller must not fall back to other data as if no
    proxy were running (a wrong proxy key would otherwise show stale figures without a word)."""
    settings = load(options)
    if settings is None:
        return None
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "[::]") else settings.host
    url = f"http://{host}:{settings.port}{path}"
    headers = {"Content-Type": "application/json"}
    # Every route the CLI calls is an admin route: the admin key opens them when one is set.
    key = settings.admin_api_key or settings.proxy_api_key
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise KeyproxyError(f"{url} answered {error.code}: {_message(error.read()) or error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        if not quiet:
            sys.stderr.write(f"keyproxy: no keyproxy answering at {url} ({error}); is `keyproxy serve` running?\n")
    return None


def _message(body: bytes) -> str | None:
    """The error message of a JSON error body in any dialect's shape; None when the body is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else None
