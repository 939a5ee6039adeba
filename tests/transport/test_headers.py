"""Response headers: case-insensitive lookups, repeated headers joined, and the views a reader iterates."""

from __future__ import annotations

from keyproxy.transport.headers import Headers

RAW = [
    (b"Content-Type", b"application/json"),
    (b"X-RateLimit-Remaining-Requests", b"99"),
    (b"Vary", b"a"),
    (b"vary", b"b"),
]


def test_names_are_found_in_any_case_and_repeats_are_one_joined_value() -> None:
    headers = Headers(RAW)
    assert (headers["content-type"], headers.get("VARY"), "x-ratelimit-remaining-requests" in headers) == (
        "application/json", "a, b", True,
    )  # fmt: skip


def test_items_and_keys_are_the_lowercased_names_with_their_values() -> None:
    headers = Headers(RAW)
    assert list(headers.items()) == [
        ("content-type", "application/json"), ("x-ratelimit-remaining-requests", "99"), ("vary", "a, b"),
    ]  # fmt: skip
    assert list(headers.keys()) == ["content-type", "x-ratelimit-remaining-requests", "vary"]
    assert dict(headers) == dict(headers.items())
