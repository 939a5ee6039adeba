"""OpenAI-shaped error bodies, one per error fault, the model list, and the OpenAI dialect of the router."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keyproxy.redact import mask
from keyproxy.testing._delivery import JsonReply
from keyproxy.testing._dialect import bearer
from keyproxy.testing.faults import Fault, FaultKind


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """`message` may name `{key}` (masked, as real providers do) and `{model}`."""

    status: int
    type: str
    code: str | None
    message: str
    param: str | None = None

    def body(self, *, key: str, model: str) -> dict[str, Any]:
        return error_body(self.message.format(key=mask(key), model=model), self.type, self.code, self.param)


FAULT_ERRORS: dict[FaultKind, ErrorReply] = {
    FaultKind.RATE_LIMIT: ErrorReply(
        429, "requests", "rate_limit_exceeded", "Rate limit reached for {model}. Please try again later."
    ),
    FaultKind.QUOTA: ErrorReply(
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
    ),
    FaultKind.UNAUTHORIZED: ErrorReply(
        401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: {key}."
    ),
    FaultKind.FORBIDDEN: ErrorReply(
        403,
        "request_forbidden",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported.",
    ),
    FaultKind.SERVER_ERROR: ErrorReply(
        500, "server_error", None, "The server had an error while processing your request. Sorry about that!"
    ),
    FaultKind.UNAVAILABLE: ErrorReply(
        503,
        "server_error",
        "service_unavailable",
        "The engine is currently overloaded, please try again later.",
    ),
    FaultKind.OVERLOADED: ErrorReply(529, "overloaded_error", "overloaded", "Overloaded."),
    FaultKind.BAD_REQUEST: ErrorReply(
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 8192 tokens. Please reduce the length of the messages.",
        "messages",
    ),
    FaultKind.NOT_FOUND: ErrorReply(
        404,
        "invalid_request_error",
        "model_not_found",
        "The model `{model}` does not exist or you do not have access to it.",
    ),
    FaultKind.UNPROCESSABLE: ErrorReply(
        422, "invalid_request_error", "unprocessable_entity", "The request could not be processed."
    ),
}

MISSING_KEY = ErrorReply(
    401,
    "invalid_request_error",
    None,
    "You didn't provide an API key. Provide it in an Authorization header: Bearer YOUR_KEY.",
)


def error_body(message: str, type: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def invalid_request(message: str, param: str | None = None) -> dict[str, Any]:
    return error_body(message, "invalid_request_error", None, param)


def model_list(models: Sequence[str], created: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": model, "object": "model", "created": created, "owned_by": "fake"} for model in models],
    }


class OpenAIDialect:
    """The key as `Authorization: Bearer`; errors as `{"error": {message, type, param, code}}`."""

    __slots__ = ()

    def key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        return bearer(headers)

    def refusal(self, headers: Mapping[str, str]) -> JsonReply | None:
        return None

    def missing_key(self) -> JsonReply:
        return JsonReply(MISSING_KEY.status, MISSING_KEY.body(key="", model=""))

    def fault(self, fault: Fault, *, key: str, model: str) -> JsonReply | None:
        error = FAULT_ERRORS.get(fault.kind)
        return None if error is None else JsonReply(error.status, error.body(key=key, model=model))

    def error(self, status: int, message: str) -> JsonReply:
        return JsonReply(status, error_body(message, "invalid_request_error" if status < 500 else "server_error"))


OPENAI = OpenAIDialect()
