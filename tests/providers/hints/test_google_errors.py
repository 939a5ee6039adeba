from __future__ import annotations

from typing import Any

from keyproxy.providers.hints.google_errors import GoogleQuota, parse_google_error

HELP = {
    "@type": "type.googleapis.com/google.rpc.Help",
    "links": [
        {
            "description": "Learn more about Gemini API quotas",
            "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
        }
    ],
}


def resource_exhausted(*details: dict[str, Any]) -> dict[str, Any]:
    """The inner `error` object of a Gemini API 429, as it is recorded in the wild."""
    return {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": list(details),
    }


def quota_failure(*quota_ids: str, metric: str = "generate_content_free_tier_requests") -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [
            {
                "quotaMetric": f"generativelanguage.googleapis.com/{metric}",
                "quotaId": quota_id,
                "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                "quotaValue": "250",
            }
            for quota_id in quota_ids
        ],
    }


def retry_info(delay: object) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


def test_a_per_minute_limit_gives_the_retry_delay() -> None:
    error = resource_exhausted(
        quota_failure(
            "GenerateContentInputTokensPerModelPerMinute-FreeTier",
            metric="generate_content_free_tier_input_token_count",
        ),
        HELP,
        retry_info("26s"),
    )
    assert parse_google_error(error) == GoogleQuota(retry_after=26.0, daily=False)


def test_a_per_day_violation_among_others_marks_the_quota_daily() -> None:
    error = resource_exhausted(
        HELP,
        quota_failure(
            "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
        ),
        retry_info("47s"),
    )
    assert parse_google_error(error) == GoogleQuota(retry_after=47.0, daily=True)


def test_fractional_retry_delays_keep_their_fraction() -> None:
    assert parse_google_error(resource_exhausted(retry_info("25.465784708s"))) == GoogleQuota(25.465784708, False)


def test_a_retry_delay_as_seconds_and_nanos_is_read_too() -> None:
    error = resource_exhausted(retry_info({"seconds": "3", "nanos": 500_000_000}))
    assert parse_google_error(error) == GoogleQuota(retry_after=3.5, daily=False)


def test_a_daily_quota_without_retry_info_has_no_delay() -> None:
    error = resource_exhausted(quota_failure("GenerateRequestsPerDayPerProjectPerModel-FreeTier"))
    assert parse_google_error(error) == GoogleQuota(retry_after=None, daily=True)


def test_error_info_naming_a_per_day_limit_marks_the_quota_daily() -> None:
    error_info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {"quota_limit": "Gemini25ProRequestsPerDayPerUserPerTier", "quota_limit_value": "100"},
    }
    assert parse_google_error(resource_exhausted(error_info)) == GoogleQuota(retry_after=None, daily=True)


def test_a_whole_response_body_is_unwrapped() -> None:
    body = {"error": resource_exhausted(retry_info("5s"))}
    assert parse_google_error(body) == GoogleQuota(retry_after=5.0, daily=False)


def test_a_per_minute_violation_alone_says_nothing_usable() -> None:
    error = resource_exhausted(quota_failure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"), HELP)
    assert parse_google_error(error) is None


def test_an_error_without_details_is_none() -> None:
    error = {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}
    assert parse_google_error(error) is None


def test_malformed_details_are_skipped() -> None:
    error = resource_exhausted(
        "not a detail",  # type: ignore[arg-type]
        retry_info("soon"),
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": "none"},
        retry_info("9s"),
    )
    assert parse_google_error(error) == GoogleQuota(retry_after=9.0, daily=False)
