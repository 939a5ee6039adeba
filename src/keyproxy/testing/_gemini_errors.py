"""The Gemini dialect: the key in `x-goog-api-key` or `?key=`, errors as google.rpc statuses with details."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keyproxy.testing._delivery import JsonReply
from keyproxy.testing.faults import Fault, FaultKind

_STATUSES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more information on "
    "this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
)
_INVALID_KEY = "API key not valid. Please pass a valid API key."

# `{model}` is the model as named in the path.
_FAULTS: dict[FaultKind, tuple[int, str]] = {
    FaultKind.RATE_LIMIT: (429, _QUOTA_MESSAGE),
    FaultKind.QUOTA: (429, _QUOTA_MESSAGE),
    # Gemini answers a bad key with 400, not 401.
    FaultKind.UNAUTHORIZED: (400, _INVALID_KEY),
    FaultKind.FORBIDDEN: (403, "The caller does not have permission"),
    FaultKind.SERVER_ERROR: (500, "An internal error has occurred. Please retry or report the problem."),
    FaultKind.UNAVAILABLE: (503, "The service is currently unavailable."),
    FaultKind.OVERLOADED: (503, "The model is overloaded. Please try again later."),
    FaultKind.BAD_REQUEST: (400, "The input token count exceeds the maximum number of tokens allowed (1048576)."),
    FaultKind.NOT_FOUND: (
        404,
        "models/{model} is not found for API version v1beta, or is not supported for generateContent. "
        "Call ListModels to see the list of available models and their supported methods.",
    ),
    FaultKind.UNPROCESSABLE: (400, "Request contains an invalid argument."),
}

_QUOTA_IDS = {
    FaultKind.RATE_LIMIT: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
    FaultKind.QUOTA: "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
}
_DEFAULT_RETRY_DELAY = 30.0
_RPC = "type.googleapis.com/google.rpc."


def google_error(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Google leaves `details` out when there are none."""
    error: dict[str, Any] = {"code": status, "message": message, "status": _STATUSES.get(status, "UNKNOWN")}
    if details:
        error["details"] = details
    return {"error": error}


class GeminiDialect:
    __slots__ = ()

    def key(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
        return headers.get("x-goog-api-key") or query.get("key") or None

    def refusal(self, headers: Mapping[str, str]) -> JsonReply | None:
        return None

    def missing_key(self) -> JsonReply:
        return self.error(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )

    def fault(self, fault: Fault, *, key: str, model: str) -> JsonReply | None:
        entry = _FAULTS.get(fault.kind)
        if entry is None:
            return None
        status, message = entry
        return JsonReply(status, google_error(status, message.format(model=model), _details(fault)))

    def error(self, status: int, message: str) -> JsonReply:
        return JsonReply(status, google_error(status, message))


GEMINI = GeminiDialect()


def _details(fault: Fault) -> list[dict[str, Any]]:
    if fault.kind is FaultKind.UNAUTHORIZED:
        return [
            {
                "@type": _RPC + "ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {"@type": _RPC + "LocalizedMessage", "locale": "en-US", "message": _INVALID_KEY},
        ]
    quota_id = _QUOTA_IDS.get(fault.kind)
    if quota_id is None:
        return []
    violation = {
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
        "quotaId": quota_id,
    }
    return [
        {"@type": _RPC + "QuotaFailure", "violations": [violation]},
        {"@type": _RPC + "RetryInfo", "retryDelay": f"{_retry_delay(fault):g}s"},
    ]


def _retry_delay(fault: Fault) -> float:
    if fault.retry_after is not None:
        return fault.retry_after
    if fault.retry_after_ms is not None:
        return fault.retry_after_ms / 1000
    return _DEFAULT_RETRY_DELAY
