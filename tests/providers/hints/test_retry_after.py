from __future__ import annotations

from keyproxy.providers.hints.retry_after import parse_retry_after

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def test_seconds() -> None:
    assert parse_retry_after({"retry-after": "17"}, NOW) == 17.0


def test_milliseconds_win_over_seconds() -> None:
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "2"}, NOW) == 1.5


def test_http_date_becomes_seconds_from_now() -> None:
    assert parse_retry_after({"retry-after": "Tue, 14 Nov 2023 22:14:00 GMT"}, NOW) == 40.0


def test_a_date_in_the_past_means_now() -> None:
    assert parse_retry_after({"retry-after": "Tue, 14 Nov 2023 22:00:00 GMT"}, NOW) == 0.0


def test_garbage_or_negative_is_no_hint() -> None:
    assert parse_retry_after({"retry-after": "soon"}, NOW) is None
    assert parse_retry_after({"retry-after": "-5"}, NOW) is None
    assert parse_retry_after({}, NOW) is None
