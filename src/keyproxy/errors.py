"""The one error hierarchy of keyproxy, classified by type and status code, never by message text.

KeyproxyError
├── ConfigError                     a configuration value is invalid; names the variable
│   └── InvalidConfiguration        every error one load found, together
├── DatabaseUnavailable             the state database cannot be used (and must not be replaced)
├── RequestError                    the client's request cannot be served as sent
│   ├── InvalidRequest              400  bad JSON, missing model, unknown provider
│   │   └── PreviousResponseNotFound 400 previous_response_id names no stored response
│   ├── AuthenticationFailed        401  missing or wrong proxy key
│   ├── OriginNotAllowed            403  a browser page from an origin the proxy does not serve
│   ├── NotFound                    404  no such route
│   │   ├── ModelNotFound           404  filtered out or not offered
│   │   └── ResponseNotFound        404  no stored response with that id
│   ├── Conflict                    409  what a request would create exists already (a runtime key)
│   └── PayloadTooLarge             413  body over the configured limit
├── UpstreamError                   one attempt with one key failed; `error_class` drives the engine
│   ├── UpstreamUnreachable         connection refused, reset, DNS failure    (transient)
│   │   └── UpstreamProxyFailed     the outbound proxy is down or refused     (transient)
│   ├── UpstreamTimeout             connect, read or write timeout            (transient)
│   ├── InvalidUpstreamResponse     garbage or empty body, stream cut early   (transient)
│   └── UpstreamStatusError         an HTTP error status, class from STATUS_ERRORS
│       ├── UpstreamRateLimited     429                                      (rate limited)
│       ├── UpstreamQuotaExhausted  429 with a quota error type              (quota exhausted)
│       ├── UpstreamKeyRejected     401                                      (key rejected)
│       │   ├── UpstreamForbidden   403: the key, or what was asked? a probe of the key decides
│       │   └── UpstreamModelRefused  403/404 naming the model: this key may not use it (rejected for it)
│       ├── UpstreamServerError     5xx, 529                                 (transient)
│       └── UpstreamClientError     400, 404, 413, 422, other 4xx            (client error)
│           └── UpstreamContextTooLong  the prompt exceeds the model's context
└── GatewayError                    the final answer when no attempt could succeed
    ├── NoKeyForModel               404: no key declares the model (<P>_API_KEY_<N>_MODELS)
    ├── NoKeyAvailable              429 or 503 with Retry-After
    ├── DeadlineExceeded            504
    ├── UpstreamFailed              502
    ├── LocalExhaustion             503  this machine is out of sockets or memory: no verdict on any key
    └── ShuttingDown                503  the proxy is stopping and its drain time ran out
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class ErrorClass(enum.Enum):
    """What an upstream failure means for the key that produced it."""

    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    KEY_REJECTED = "key_rejected"
    TRANSIENT = "transient"
    CLIENT_ERROR = "client_error"


class KeyproxyError(Exception):
    """Root of every error keyproxy raises on purpose."""

    status: int = 500
    error_type: str = "server_error"
    code: str | None = None
    param: str | None = None
    """The request field the error is about, for dialects that name it (the Responses API's)."""
    tried: tuple[str, str, int] | None = None
    """For a failure after upstreams were tried: the provider, the key that answered it (masked; "-" when
    no one key did) and the attempts made, which the request's record (the access log, the metrics) shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(KeyproxyError):
    error_type = "config_error"

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class InvalidConfiguration(ConfigError):
    def __init__(self, errors: tuple[ConfigError, ...]) -> None:
        KeyproxyError.__init__(self, "; ".join(str(error) for error in errors))
        self.variable = errors[0].variable
        self.problem = errors[0].problem
        self.errors = errors


class DatabaseUnavailable(KeyproxyError):
    """The directory cannot be created or written, the file is locked or written by a newer keyproxy.
    A proxy keeps state in memory only; a command reading the file says why and stops."""

    error_type = "state_error"
    code = "database_unavailable"


class RequestError(KeyproxyError):
    status = 400
    error_type = "invalid_request_error"


class InvalidRequest(RequestError):
    code = "invalid_request"


class PreviousResponseNotFound(InvalidRequest):
    code = "previous_response_not_found"
    param = "previous_response_id"

    def __init__(self, response_id: str) -> None:
        super().__init__(f"Previous response with id '{response_id}' not found.")


class AuthenticationFailed(RequestError):
    status = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class OriginNotAllowed(RequestError):
    status = 403
    error_type = "permission_error"
    code = "origin_not_allowed"


class NotFound(RequestError):
    status = 404
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class ResponseNotFound(NotFound):
    code = "response_not_found"

    def __init__(self, response_id: str) -> None:
        super().__init__(f"Response with id '{response_id}' not found.")


class Conflict(RequestError):
    status = 409
    code = "conflict"


class PayloadTooLarge(RequestError):
    status = 413
    code = "payload_too_large"


class UpstreamError(KeyproxyError):
    """One attempt failed. `retry_after` is the upstream's own hint in seconds, when it gave one."""

    status = 502
    error_type = "upstream_error"
    error_class = ErrorClass.TRANSIENT

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamUnreachable(UpstreamError):
    code = "upstream_unreachable"


class UpstreamProxyFailed(UpstreamUnreachable):
    """The outbound proxy refused or could not be reached: that route is down, the key is not at fault."""

    code = "upstream_proxy_failed"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class InvalidUpstreamResponse(UpstreamError):
    code = "invalid_upstream_response"


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an error status; `body` is what it said (already scrubbed of keys)."""

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.upstream_status = upstream_status
        self.body = body
        self.headers = dict(headers or {})


class UpstreamRateLimited(UpstreamStatusError):
    status = 429
    error_type = "rate_limit_error"
    code = "rate_limited"
    error_class = ErrorClass.RATE_LIMITED


class UpstreamQuotaExhausted(UpstreamStatusError):
    status = 429
    error_type = "insufficient_quota"
    code = "quota_exhausted"
    error_class = ErrorClass.QUOTA_EXHAUSTED


class UpstreamKeyRejected(UpstreamStatusError):
    code = "upstream_key_rejected"
    error_class = ErrorClass.KEY_REJECTED


class UpstreamForbidden(UpstreamKeyRejected):
    """A 403 says "no" without saying whether to the key or to the request (OpenRouter answers 403 for
    moderation-flagged input). The engine probes the key before it benches it (engine/forbidden.py)."""

    code = "upstream_forbidden"
    permission = False
    """The upstream's structured error is its permission refusal (Anthropic `permission_error`, Google
    `PERMISSION_DENIED`): from a key that works otherwise, what is refused is this request's model."""


class UpstreamModelRefused(UpstreamKeyRejected):
    """The upstream says, in its structured fields, that this key may not use this model (or that the
    model does not exist for it): the key is excluded for that model only, and the next key is tried."""

    code = "model_not_found"

    def as_client_error(self) -> UpstreamClientError:
        """When every key said so, the client's answer: the upstream's own status and words."""
        refused = UpstreamClientError(
            self.message, upstream_status=self.upstream_status, body=self.body, headers=self.headers
        )
        refused.code = self.code
        return refused


class UpstreamServerError(UpstreamStatusError):
    code = "upstream_server_error"


class UpstreamClientError(UpstreamStatusError):
    """Returned to the client with the upstream's status and message; never retried on another key."""

    error_type = "invalid_request_error"
    code = "upstream_client_error"
    error_class = ErrorClass.CLIENT_ERROR


class UpstreamContextTooLong(UpstreamClientError):
    """A fallback chain may send this prompt to its next target instead."""

    code = "context_length_exceeded"


class GatewayError(KeyproxyError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoKeyForModel(GatewayError):
    """No key of the provider declares the model (`<P>_API_KEY_<N>_MODELS`): a fallback chain goes on to its
    next target; alone, the model is not found there."""

    status = 404
    error_type = "invalid_request_error"
    code = "model_not_found"


class NoKeyAvailable(GatewayError):
    """Every key is cooling, benched or busy. 429 while some key will recover, 503 when none will."""

    status = 429
    error_type = "rate_limit_error"
    code = "no_key_available"

    def __init__(self, message: str, *, retry_after: float | None = None, recoverable: bool = True) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = 429 if recoverable else 503


class DeadlineExceeded(GatewayError):
    status = 504
    error_type = "timeout_error"
    code = "deadline_exceeded"


class UpstreamFailed(GatewayError):
    status = 502
    error_type = "upstream_error"
    code = "upstream_failed"


class LocalExhaustion(GatewayError):
    """The machine keyproxy runs on could not open a connection (too many open files, no buffer space).
    Every key would fail the same way, and none of them is at fault."""

    status = 503
    error_type = "server_error"
    code = "gateway_overloaded"


class ShuttingDown(GatewayError):
    """The proxy was told to stop, and this request outlasted KEYPROXY_DRAIN_SECONDS."""

    status = 503
    error_type = "server_error"
    code = "shutting_down"


STATUS_ERRORS: dict[int, type[UpstreamStatusError]] = {
    400: UpstreamClientError,
    401: UpstreamKeyRejected,
    403: UpstreamForbidden,
    404: UpstreamClientError,
    408: UpstreamServerError,
    409: UpstreamServerError,
    413: UpstreamClientError,
    422: UpstreamClientError,
    429: UpstreamRateLimited,
    529: UpstreamServerError,
}


def status_error_class(status: int) -> type[UpstreamStatusError]:
    """The class for an upstream error status: the table first, then by range."""
    found = STATUS_ERRORS.get(status)
    if found is not None:
        return found
    return UpstreamServerError if status >= 500 else UpstreamClientError
