"""`keyproxy capture tail|show ID`: the exchanges request capture wrote to the data dir, summed up or whole."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from keyproxy.capture import find_record, last_records
from keyproxy.capture.files import FOLDER
from keyproxy.cli.loading import load
from keyproxy.config import CliOptions

# A captured body is whatever a client or upstream sent: it must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def tail(options: CliOptions, count: int, *, as_json: bool) -> int:
    settings = load(options)
    if settings is None:
        return 2
    found = last_records(settings.data_dir / FOLDER, count)
    if not found:
        sys.stderr.write(f"keyproxy: no captured exchanges in {settings.data_dir / FOLDER} (KEYPROXY_CAPTURE is "
                         f"{settings.capture.mode})\n")  # fmt: skip
        return 1
    for record in found:
        _out(json.dumps(record) if as_json else summary(record))
    return 0


def show(options: CliOptions, exchange_id: str, *, as_json: bool) -> int:
    settings = load(options)
    if settings is None:
        return 2
    record = find_record(settings.data_dir / FOLDER, exchange_id)
    if record is None:
        sys.stderr.write(f"keyproxy: no captured exchange {exchange_id} in {settings.data_dir / FOLDER}\n")
        return 1
    _out(json.dumps(record, indent=2) if as_json else "\n".join(details(record)))
    return 0


def summary(record: dict[str, Any]) -> str:
    request, response = record.get("request", {}), record.get("response", {})
    attempts = record.get("attempts", [])
    model = f"{attempts[-1]['provider']}/{attempts[-1]['model']}" if attempts else "-"
    cells = (
        record.get("time", "?"), record.get("id", "?"), str(response.get("status") or "-"),
        f"{request.get('method', '?')} {request.get('path', '?')}", model, f"attempts={len(attempts)}",
        f"{record.get('seconds', 0):.3f}s",
    )  # fmt: skip
    return "  ".join(cells) + ("  failed" if record.get("failed") else "")


def details(record: dict[str, Any]) -> list[str]:
    request, response = record.get("request", {}), record.get("response", {})
    failed = " (failed)" if record.get("failed") else ""
    lines = [f"exchange {record.get('id')} at {record.get('time')}, {record.get('seconds', 0):.3f} s, "
             f"client {record.get('client') or '-'}{failed}", "",
             f"--- request: {request.get('method')} {request.get('path')}"]  # fmt: skip
    lines += _message(request)
    for number, call in enumerate(record.get("upstream", []), start=1):
        through = f" (through {call['proxy']})" if call.get("proxy") else ""
        lines += ["", f"--- upstream {number}: {call.get('method')} {call.get('url')}{through}", *_message(call)]
        if call.get("status") is not None:
            lines += ["", f"<-- {call['status']}", *_headers(call.get("response_headers", []))]
            lines += _body(call.get("response", {}))
        if call.get("error"):
            lines += [f"error: {call['error']}"]
    if record.get("attempts"):
        lines += ["", "--- attempts"]
    for attempt in record.get("attempts", []):
        outcome = attempt.get("error_class") or "ok"
        lines.append(f"{attempt.get('attempt')}. {attempt.get('provider')}/{attempt.get('model')} key "
                     f"{attempt.get('key')} status {attempt.get('status')} {outcome} {attempt.get('seconds', 0):.3f} s"
                     + ("" if outcome == "ok" else f": {attempt.get('message')}"))  # fmt: skip
    complete = "" if response.get("complete") else " (the answer did not complete)"
    lines += ["", f"--- response: {response.get('status')}{complete}", *_message(response)]
    return lines


def _message(part: dict[str, Any]) -> list[str]:
    return [*_headers(part.get("headers", [])), *_body(part.get("body", {}))]


def _headers(pairs: list[list[str]]) -> list[str]:
    return [f"{name}: {value}" for name, value in pairs]


def _body(body: dict[str, Any]) -> list[str]:
    size = body.get("bytes", 0)
    if not size:
        return []
    if "base64" in body:
        text = f"({size} bytes, not UTF-8; base64) {body['base64']}"
    else:
        text = body.get("text", "") or "".join(body.get("chunks", []))
    cut = f"[cut: the body had {size} bytes; KEYPROXY_CAPTURE_MAX_BYTES]" if body.get("truncated") else ""
    return ["", text.rstrip("\n"), *([cut] if cut else [])]


def _out(text: str) -> None:
    sys.stdout.write(_CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text) + "\n")
