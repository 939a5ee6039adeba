"""The Anthropic dialect: the key in `x-api-key` (or as a bearer token), a required `anthropic-version`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyproxy.testing._delivery import JsonReply
from keyproxy.testing._dialect import bearer
from keyproxy.testing.faults import Fault, FaultKind
from keyproxy.translate.anthropic_errors import TYPES

# `{model}` is the model as requested.
_FAULTS: dict[FaultKind, tuple[int, str]] = {
    FaultKind.RATE_LIMIT: (429, "This request would exceed your organization's rate limit of 50 requests per minute."),
    FaultKind.QUOTA: (429, "This request would exceed your organization's monthly usage limit."),
    FaultKind.UNAUTHORIZED: (401, "invalid x-api-key"),
    FaultKind.FORBIDDEN: (403, "Your API key does not have permission to use the specified resource."),
    FaultKind.SERVER_ERROR: (500, "Internal server error"),
    FaultKind.UNAVAILABLE: (503, "Service unavailable"),
    FaultKind.OVERLOADED: (529, "Overloaded"),
    FaultKind.BAD_REQUEST: (400, "prompt is too long: 210000 tokens > 200000 maximum"),
    FaultKind.NOT_FOUND: (404, "model: {model}"),
    FaultKind.UNPROCESSABLE: (400, "messages: the request could not be processed"),
}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    # Anthropic documents one status per error type; for any other status (a 503) it says api_error.
    kind = next((known.name for known in TYPES if known.status == status), "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


class AnthropicDialect:
    __slots__ = ()

    def key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        # Recent SDKs send the API key as a bearer token; older ones and curl use x-api-key.
        return headers.get("x-api-key") or bearer(headers)

    def refusal(self, headers: Mapping[str, str]) -> JsonReply | None:
        if headers.get("anthropic-version"):
            return None
        return self.error(400, "anthropic-version: header is required")

    def missing_key(self) -> JsonReply:
        return self.error(401, "x-api-key header is required")

    def fault(self, fault: Fault, *, key: str, model: str) -> JsonReply | None:
        entry = _FAULTS.get(fault.kind)
        if entry is None:
            return None
        status, message = entry
        return self.error(status, message.format(model=model))

    def error(self, status: int, message: str) -> JsonReply:
        return JsonReply(status, anthropic_error(status, message))


ANTHROPIC = AnthropicDialect()
