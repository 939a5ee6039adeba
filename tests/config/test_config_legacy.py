"""The old proxy's variables keyproxy does not apply: each named once, with what it would have done."""

from __future__ import annotations

import pytest

from keyproxy.config.legacy import not_applied


@pytest.mark.parametrize(
    ("variable", "named"),
    [
        ("FAIR_CYCLE_QUOTA_THRESHOLD_GEMINI", "FAIR_CYCLE_QUOTA_THRESHOLD_"),
        ("MONTHLY_BUDGET_OPENAI", "MONTHLY_BUDGET"),
        ("SESSION_STICKY_WAIT_SECONDS", "KEYPROXY_AFFINITY"),
        ("MAX_RETRIES_GEMINI", "KEYPROXY_MAX_ATTEMPTS"),
        ("QWEN_CODE_OAUTH_1", "_OAUTH_<N>"),
        ("IFLOW_API_KEY_1", "IFLOW_"),
        ("GEMINI_CLI_QUOTA_REFRESH_INTERVAL", "GEMINI_CLI_QUOTA_REFRESH_INTERVAL"),
        ("GEMINI_CLI_2_TOKEN_URI", "GEMINI_CLI_TOKEN_URI"),
        ("OPENAI_API_HEADERS", "_API_HEADERS"),
    ],
)
def test_an_old_variable_that_changes_nothing_is_named_with_what_it_did(variable: str, named: str) -> None:
    [message] = not_applied({variable: "1"})
    assert named in message
    assert "not applied" in message


@pytest.mark.parametrize(
    "variable",
    ["IGNORE_MODELS_GEMINI", "WHITELIST_MODELS_GEMINI", "OPENAI_API_KEY_1", "MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI",
     "TRANSIENT_RETRY_DELAY", "KEYPROXY_PROXY_URL", "HTTPS_PROXY", "MYSERVER_MODELS",
     "STREAM_RETRY_ON_REASONING_ONLY", "GEMINI_CLI_PROJECT_ID", "GEMINI_CLI_OAUTH_1", "GEMINI_CLI_2_REFRESH_TOKEN",
     "GEMINI_CLI_ACCESS_TOKEN", "GEMINI_CLI_TOKEN_URI",
     "FAIR_CYCLE_GEMINI", "FAIR_CYCLE_ENABLED_GEMINI",
     "FAIR_CYCLE_DURATION_GEMINI_CLI", "FAIR_CYCLE_TRACKING_MODE_X", "FAIR_CYCLE_CROSS_TIER_X",
     "FAIR_CYCLE_RESET_COOLDOWN_THRESHOLD_X", "EXHAUSTION_COOLDOWN_THRESHOLD", "EXHAUSTION_COOLDOWN_THRESHOLD_GEMINI",
     "CUSTOM_CAP_GEMINI_T2_PRO", "CUSTOM_CAP_COOLDOWN_GEMINI_T2_PRO"],
)  # fmt: skip
def test_variables_keyproxy_applies_are_not_named(variable: str) -> None:
    assert not_applied({variable: "1"}) == []


def test_one_line_per_family_however_many_of_its_variables_are_set() -> None:
    values = {"MONTHLY_BUDGET_GEMINI": "5", "RPD_LIMIT_GEMINI_PRO": "9", "MAX_RETRIES_X": "5"}
    assert len(not_applied(values)) == 2


def test_an_empty_old_variable_is_not_named() -> None:
    assert not_applied({"MONTHLY_BUDGET_GEMINI": " "}) == []
