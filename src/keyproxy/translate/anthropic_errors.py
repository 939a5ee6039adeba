"""Anthropic's error types: the one table of each type's HTTP status and what it means for a key.

The Anthropic adapter classifies an upstream's error body by it, the stream translator an `error`
event that arrives mid-stream, and the Anthropic dialect names the type its clients read for a status.
"""

from __future__ import annotations

from dataclasses import dataclass

from keyproxy.errors import (
    UpstreamClientError,
    UpstreamForbidden,
    UpstreamKeyRejected,
    UpstreamModelRefused,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamStatusError,
)


@dataclass(frozen=True, slots=True)
class ErrorType:
    name: str
    status: int
    error: type[UpstreamStatusError]
    """What the type says about the key that met it: types say more than statuses (a 529 is an
    overload, not a bad key; a billing error benches the key whether whole or mid-stream)."""


TYPES: tuple[ErrorType, ...] = (
    ErrorType("invalid_request_error", 400, UpstreamClientError),
    ErrorType("authentication_error", 401, UpstreamKeyRejected),
    ErrorType("billing_error", 402, UpstreamKeyRejected),
    ErrorType("permission_error", 403, UpstreamForbidden),
    ErrorType("not_found_error", 404, UpstreamModelRefused),
    ErrorType("request_too_large", 413, UpstreamClientError),
    ErrorType("rate_limit_error", 429, UpstreamRateLimited),
    ErrorType("api_error", 500, UpstreamServerError),
    ErrorType("timeout_error", 504, UpstreamServerError),
    ErrorType("overloaded_error", 529, UpstreamServerError),
)
BY_NAME = {kind.name: kind for kind in TYPES}
# 503 has no type of its own; overloaded is the one Anthropic's clients retry.
_BY_STATUS = {kind.status: kind.name for kind in TYPES} | {503: "overloaded_error"}


def type_for_status(status: int) -> str:
    """The error type an Anthropic client expects with `status`."""
    return _BY_STATUS.get(status) or ("invalid_request_error" if status < 500 else "api_error")
