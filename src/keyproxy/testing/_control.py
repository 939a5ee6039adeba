"""HTTP control of a FakeUpstream from another process: arm and clear faults, read stats.

POST /_fake/faults {key, kind, retry_after, retry_after_ms, delay, times}; DELETE /_fake/faults; GET /_fake/stats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyproxy.redact import mask
from keyproxy.testing._asgi import Receive, Send, json_object, read_body, send_empty, send_json
from keyproxy.testing.faults import Fault
from keyproxy.testing.responses import error_body, invalid_request

if TYPE_CHECKING:
    from keyproxy.testing.fake_upstream import FakeUpstream


async def control(upstream: FakeUpstream, method: str, path: str, receive: Receive, send: Send) -> None:
    if (method, path) == ("POST", "/_fake/faults"):
        data = json_object(await read_body(receive)) or {}
        key = data.get("key")
        if not isinstance(key, str) or not key:
            await send_json(send, 400, invalid_request("key must be a non-empty string", "key"))
            return
        try:
            fault = Fault.from_json(data)
        except ValueError as exc:
            await send_json(send, 400, invalid_request(str(exc)))
            return
        upstream.set_fault(key, fault)
        await send_empty(send, 204)
    elif (method, path) == ("DELETE", "/_fake/faults"):
        upstream.clear_faults()
        await send_empty(send, 204)
    elif (method, path) == ("GET", "/_fake/stats"):
        await send_json(send, 200, _stats(upstream))
    else:
        await send_json(send, 404, error_body(f"Unknown control URL: {method} {path}.", "invalid_request_error"))


def _stats(upstream: FakeUpstream) -> dict[str, Any]:
    """Keyed by the fake's own fingerprints (`upstream.fingerprints`): a fake should not hand out the keys it saw."""
    keys = {
        upstream.fingerprints(key): {
            "masked": mask(key),
            "requests": stats.requests,
            "responses": {str(status): count for status, count in stats.responses.items()},
        }
        for key, stats in upstream.stats.items()
    }
    return {"keys": keys}
