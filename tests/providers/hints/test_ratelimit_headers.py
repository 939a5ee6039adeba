from __future__ import annotations

import pytest

from keyproxy.providers.hints.ratelimit_headers import Headroom, parse_duration, parse_headroom, reset_hint

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z

OPENAI = {
    "x-ratelimit-limit-requests": "5000",
    "x-ratelimit-remaining-requests": "4999",
    "x-ratelimit-reset-requests": "12ms",
    "x-ratelimit-limit-tokens": "160000",
    "x-ratelimit-remaining-tokens": "40000",
    "x-ratelimit-reset-tokens": "6m0s",
}

ANTHROPIC = {
    "anthropic-ratelimit-requests-limit": "1000",
    "anthropic-ratelimit-requests-remaining": "999",
    "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z",
    "anthropic-ratelimit-tokens-limit": "96000",
    "anthropic-ratelimit-tokens-remaining": "96000",
    "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:01Z",
    "anthropic-ratelimit-input-tokens-limit": "80000",
    "anthropic-ratelimit-input-tokens-remaining": "8000",
    "anthropic-ratelimit-input-tokens-reset": "2026-01-01T00:00:30Z",
    "anthropic-ratelimit-output-tokens-limit": "16000",
    "anthropic-ratelimit-output-tokens-remaining": "16000",
    "anthropic-ratelimit-output-tokens-reset": "2026-01-01T00:00:02Z",
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("1h2m3.5s", 3723.5),
        ("20ms", 0.02),
        ("0.5s", 0.5),
        ("12", 12.0),
        ("7.66s", 7.66),
        ("2m59.56s", 179.56),
        (" 3s ", 3.0),
    ],
)
def test_durations_in_go_syntax_or_bare_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "-5s", "5x", "s", "1s2", "inf", "nan", "1e3"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    assert parse_duration(text) is None


def test_openai_headroom_is_the_scarcest_dimension_with_its_reset() -> None:
    assert parse_headroom(OPENAI, NOW) == Headroom(fraction=0.25, reset_at=NOW + 360)


def test_anthropic_headroom_is_the_scarcest_dimension_with_its_rfc3339_reset() -> None:
    assert parse_headroom(ANTHROPIC, NOW) == Headroom(fraction=0.1, reset_at=NOW + 30)


def test_header_names_are_matched_whatever_their_case() -> None:
    headers = {"X-RateLimit-Limit-Requests": "10", "X-RateLimit-Remaining-Requests": "5"}
    assert parse_headroom(headers, NOW) == Headroom(fraction=0.5, reset_at=NOW)


def test_openrouter_style_reset_in_epoch_milliseconds() -> None:
    headers = {"x-ratelimit-limit": "20", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1767225645000"}
    assert parse_headroom(headers, NOW) == Headroom(fraction=0.0, reset_at=NOW + 45)


def test_a_bare_reset_past_1e9_is_epoch_seconds() -> None:
    headers = {"x-ratelimit-limit": "20", "x-ratelimit-remaining": "10", "x-ratelimit-reset": "1767225610"}
    assert parse_headroom(headers, NOW) == Headroom(fraction=0.5, reset_at=NOW + 10)


def test_a_small_bare_reset_is_seconds_from_now() -> None:
    headers = {"x-ratelimit-limit-requests-day": "14400", "x-ratelimit-remaining-requests-day": "7200"}
    headers["x-ratelimit-reset-requests-day"] = "33011.5"
    assert parse_headroom(headers, NOW) == Headroom(fraction=0.5, reset_at=NOW + 33011.5)


def test_zero_remaining_is_drained_even_without_a_limit() -> None:
    headers = {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20s"}
    assert parse_headroom(headers, NOW) == Headroom(fraction=0.0, reset_at=NOW + 20)


def test_among_drained_dimensions_the_latest_reset_wins() -> None:
    headers = {
        "x-ratelimit-limit-requests": "10",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "5s",
        "x-ratelimit-limit-tokens": "100",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "50s",
    }
    assert parse_headroom(headers, NOW) == Headroom(fraction=0.0, reset_at=NOW + 50)


def test_remaining_without_a_limit_leaves_the_fraction_unknown() -> None:
    headers = {"x-ratelimit-remaining-requests": "40", "x-ratelimit-reset-requests": "1s"}
    assert parse_headroom(headers, NOW) == Headroom(fraction=None, reset_at=NOW)


def test_unreadable_values_are_ignored() -> None:
    headers = {"x-ratelimit-limit-requests": "lots", "x-ratelimit-remaining-requests": "5"}
    assert parse_headroom(headers, NOW) == Headroom(fraction=None, reset_at=NOW)


def test_no_rate_limit_headers_is_none() -> None:
    assert parse_headroom({"content-type": "application/json", "retry-after": "3"}, NOW) is None


def test_reset_hint_is_the_reset_of_the_exhausted_dimension() -> None:
    headers = {**OPENAI, "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}
    assert reset_hint(headers, NOW) == pytest.approx(1.0)


def test_reset_hint_without_an_exhausted_dimension_is_the_latest_reset() -> None:
    assert reset_hint(OPENAI, NOW) == pytest.approx(360.0)


def test_reset_hint_for_anthropic_reads_rfc3339() -> None:
    headers = {**ANTHROPIC, "anthropic-ratelimit-output-tokens-remaining": "0"}
    assert reset_hint(headers, NOW) == pytest.approx(2.0)


def test_reset_hint_is_never_negative() -> None:
    headers = {
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2025-12-31T23:59:00Z",
    }
    assert reset_hint(headers, NOW) == 0.0


def test_reset_hint_without_reset_headers_is_none() -> None:
    assert reset_hint({"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "0"}, NOW) is None
