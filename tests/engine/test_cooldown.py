from __future__ import annotations

import pytest

from keyproxy.config import EngineSettings
from keyproxy.engine.cooldown import CooldownPolicy
from keyproxy.errors import (
    ErrorClass,
    InvalidUpstreamResponse,
    UpstreamClientError,
    UpstreamKeyRejected,
    UpstreamModelRefused,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)

NOW = 5000.0
POLICY = CooldownPolicy.from_settings(EngineSettings())


def rate_limited(retry_after: float | None = None) -> UpstreamRateLimited:
    return UpstreamRateLimited("slow down", upstream_status=429, retry_after=retry_after)


def test_429_with_retry_after_cools_the_model_for_that_long() -> None:
    verdict = POLICY.verdict(rate_limited(42), failures=0, now=NOW)
    assert verdict is not None
    assert (verdict.kind, verdict.until, verdict.reason) == ("model", NOW + 42, ErrorClass.RATE_LIMITED)


def test_429_without_a_hint_escalates_with_the_failure_streak() -> None:
    waits = [POLICY.verdict(rate_limited(), failures=n, now=NOW).until - NOW for n in range(6)]  # type: ignore[union-attr]
    assert waits == [10, 30, 60, 120, 120, 120]


def test_a_provider_supplied_wait_is_capped() -> None:
    verdict = POLICY.verdict(rate_limited(10 * 86400), failures=0, now=NOW)
    assert verdict is not None and verdict.until == NOW + 86400


def test_quota_exhausted_cools_for_longer() -> None:
    error = UpstreamQuotaExhausted("quota", upstream_status=429)
    verdict = POLICY.verdict(error, failures=0, now=NOW)
    assert verdict is not None and verdict.until - NOW >= 300 and verdict.reason is ErrorClass.QUOTA_EXHAUSTED


def test_a_rejected_key_is_benched_for_every_model() -> None:
    verdict = POLICY.verdict(UpstreamKeyRejected("no", upstream_status=401), failures=0, now=NOW)
    assert verdict is not None and verdict.kind == "key" and verdict.until == NOW + 600


@pytest.mark.parametrize(
    "error",
    [UpstreamServerError("x", upstream_status=503), UpstreamTimeout("t"), InvalidUpstreamResponse("garbage")],
)
def test_transient_failures_cool_briefly(error: Exception) -> None:
    verdict = POLICY.verdict(error, failures=0, now=NOW)  # type: ignore[arg-type]
    assert verdict is not None and verdict.until == NOW + 10 and verdict.reason is ErrorClass.TRANSIENT


def test_a_client_error_leaves_the_key_alone() -> None:
    assert POLICY.verdict(UpstreamClientError("bad", upstream_status=400), failures=3, now=NOW) is None


def test_a_key_refused_for_a_model_is_left_out_for_that_model_only() -> None:
    verdict = POLICY.verdict(UpstreamModelRefused("no such model for you", upstream_status=404), 0, NOW)
    assert verdict is not None and (verdict.kind, verdict.until) == ("model", NOW + 6 * 3600)
    assert not POLICY.benches(UpstreamModelRefused("no", upstream_status=404))
    assert POLICY.benches(UpstreamKeyRejected("no", upstream_status=401))


def test_how_long_a_model_refusal_lasts_is_a_setting_apart_from_the_bench() -> None:
    policy = CooldownPolicy.from_settings(EngineSettings(bench_seconds=600.0, model_refusal_seconds=60.0))
    refused = policy.verdict(UpstreamModelRefused("not for this key", upstream_status=403), 0, NOW)
    rejected = policy.verdict(UpstreamKeyRejected("bad key", upstream_status=401), 0, NOW)
    assert refused is not None and refused.until == NOW + 60
    assert rejected is not None and rejected.until == NOW + 600
