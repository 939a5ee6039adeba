"""`keyproxy keys list|add|remove|disable|enable|test`: a running proxy's keys changed from the shell.

`add` reads the key from stdin (or a prompt that does not echo it), never from the command line, which
other users of the machine can read in the process list.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any
from urllib.parse import quote

from keyproxy.cli.status import ask
from keyproxy.config import CliOptions
from keyproxy.errors import KeyproxyError


def keys(options: CliOptions, action: str, provider: str | None, key: str | None) -> int:
    if action == "list":
        return _list(options, provider)
    if provider is None:
        raise KeyproxyError(f"keys {action} needs a provider")
    if action == "add":
        return _add(options, provider)
    if action == "test":
        return _test(options, provider, key)
    if key is None:
        raise KeyproxyError(f"keys {action} needs the key's id or mask (see `keyproxy keys list {provider}`)")
    if action == "remove":
        answer = ask(options, "DELETE", _path(provider, key))
        if answer is None:
            return 1
        sys.stdout.write(f"{answer['provider']}: removed {answer['id']}\n")
        return 0
    answer = ask(options, "POST", _path(provider, key, action))
    if answer is None:
        return 1
    sys.stdout.write(f"{answer['provider']}: {answer['id']} {'disabled' if answer['disabled'] else 'enabled'}\n")
    return 0


def _list(options: CliOptions, provider: str | None) -> int:
    status = ask(options, "GET", "/v1/status")
    if status is None:
        return 1
    providers: dict[str, Any] = status["providers"]
    if provider is not None and provider not in providers:
        raise KeyproxyError(f"no provider {provider!r}")
    rows = [("provider", "id", "key", "origin", "state")]
    for name, data in providers.items():
        if provider in (None, name):
            rows += [(name, k["id"], k["key"], k["origin"], "disabled" if k["disabled"] else k["status"])
                     for k in data["keys"]]  # fmt: skip
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        sys.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
    return 0


def _add(options: CliOptions, provider: str) -> int:
    prompted = sys.stdin.isatty()
    secret = (getpass.getpass(f"key for {provider} (not shown): ") if prompted else sys.stdin.read()).strip()
    if not secret:
        raise KeyproxyError("no key given: type it at the prompt or pipe it on stdin")
    answer = ask(options, "POST", "/v1/admin/keys", {"provider": provider, "key": secret})
    if answer is None:
        return 1
    sys.stdout.write(f"{answer['provider']}: added {answer['id']} ({answer['key']})\n")
    return 0


def _test(options: CliOptions, provider: str, key: str | None) -> int:
    """Every key of the provider (or the one named) probed; 0 when each is alive."""
    if key is None:
        status = ask(options, "GET", "/v1/status")
        if status is None:
            return 1
        if provider not in status["providers"]:
            raise KeyproxyError(f"no provider {provider!r}")
        named = [entry["id"] for entry in status["providers"][provider]["keys"]]
    else:
        named = [key]
    alive = True
    for name in named:
        answer = ask(options, "POST", _path(provider, name, "test"))
        if answer is None:
            return 1
        code = f" ({answer['status']})" if answer["status"] is not None else ""
        sys.stdout.write(f"{answer['key']}  {answer['id']}  {answer['result']}{code}: {answer['message']}\n")
        alive = alive and answer["result"] == "alive"
    return 0 if alive else 1


def _path(provider: str, key: str, action: str | None = None) -> str:
    path = f"/v1/admin/keys/{quote(provider, safe='')}/{quote(key, safe='')}"
    return f"{path}/{action}" if action else path
