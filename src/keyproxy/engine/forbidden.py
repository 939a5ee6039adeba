"""A 403 that does not say whether the key or the request is refused (OpenRouter answers 403 for input its
moderation flags, and fail-over would send that input to every key): a probe of the key decides. A
permission refusal from a key that works is about the model: the next key may hold it."""

from __future__ import annotations

from keyproxy.errors import UpstreamClientError, UpstreamError, UpstreamForbidden, UpstreamModelRefused


def judge_forbidden(error: UpstreamForbidden, key_works: bool | None) -> UpstreamError:
    """What the 403 means, given what one cheap authenticated call with the same key found: refused too,
    the key is bad (benched, as any rejected key); accepted, or no telling (the probe could not reach the
    upstream), the 403 was about the request, and goes back to the client with no verdict on the key."""
    if key_works is False:
        return error
    if key_works and error.permission:
        return UpstreamModelRefused(
            error.message, upstream_status=error.upstream_status, body=error.body, headers=error.headers
        )
    refused = UpstreamClientError(
        error.message, upstream_status=error.upstream_status, body=error.body, headers=error.headers
    )
    refused.code = "upstream_forbidden"
    return refused
