"""CUSTOM_CAP_<P>_T<tier>_<model> and CUSTOM_CAP_COOLDOWN_<P>_T<tier>_<model> read as the old proxy read them."""

from __future__ import annotations

import pytest

from keyproxy.config import CliOptions, ConfigReport, build_settings
from keyproxy.config.settings import CustomCap

KEY = "sk-aaaaaaaaaaaaaaaaaaaa0001"


def report(**values: str) -> ConfigReport:
    base = "http://127.0.0.1:9/v1"
    values = {"GEMINI_API_KEY": KEY, "MY_API_KEY": KEY, "MY_API_BASE": base, "MY_X_API_KEY": KEY, "MY_X_API_BASE": base,
              **values}  # fmt: skip
    return build_settings(values, CliOptions())


def caps(provider: str = "gemini", **values: str) -> tuple[CustomCap, ...]:
    found = report(**values)
    assert found.errors == ()
    return found.settings.providers[provider].custom_caps


@pytest.mark.parametrize(
    ("value", "kind", "number"),
    [("100", "absolute", 100), ("+50", "offset", 50), ("-50", "offset", -50), ("80%", "percent", 80),
     ("12.9", "absolute", 12)],
)  # fmt: skip
def test_a_cap_is_absolute_an_offset_or_a_percentage(value: str, kind: str, number: int) -> None:
    [cap] = caps(CUSTOM_CAP_GEMINI_T2_PRO=value)
    assert (cap.tier, cap.target, cap.kind, cap.value, cap.cooldown) == (2, "pro", kind, number, "quota_reset")


def test_every_segment_after_the_tier_is_the_model_lower_case_with_dashes() -> None:
    [cap] = caps(CUSTOM_CAP_GEMINI_T2_3_G25_FLASH="5")
    assert (cap.tier, cap.target) == (2, "3-g25-flash")


def test_tdefault_is_the_cap_of_tiers_without_their_own() -> None:
    [cap] = caps(CUSTOM_CAP_GEMINI_TDEFAULT_CLAUDE="80%")
    assert (cap.tier, cap.target) == (None, "claude")


def test_a_provider_whose_name_extends_another_takes_its_own_caps() -> None:
    assert caps("my_x", CUSTOM_CAP_MY_X_T1_PRO="7")[0].value == 7
    assert caps("my", CUSTOM_CAP_MY_X_T1_PRO="7") == ()


@pytest.mark.parametrize(
    ("value", "cooldown", "seconds"),
    [("quota_reset", "quota_reset", 0), ("offset:3600", "offset", 3600), ("FIXED:600", "fixed", 600)],
)
def test_a_cap_cooldown_is_read_with_its_seconds(value: str, cooldown: str, seconds: int) -> None:
    [cap] = caps(CUSTOM_CAP_GEMINI_T3_PRO="10", CUSTOM_CAP_COOLDOWN_GEMINI_T3_PRO=value)
    assert (cap.cooldown, cap.cooldown_seconds) == (cooldown, seconds)


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [("CUSTOM_CAP_GEMINI_T2_PRO", "lots", "expected a number of requests"),
     ("CUSTOM_CAP_GEMINI_T2_PRO", "120%", "between 0% and 100%"),
     ("CUSTOM_CAP_GEMINI_TX_PRO", "5", "the tier after _T must be a number or DEFAULT"),
     ("CUSTOM_CAP_GEMINI_T2", "5", "expected T<tier>_<MODEL>"),
     ("CUSTOM_CAP_COOLDOWN_GEMINI_T2_PRO", "offset:1h", "expected quota_reset, offset:<seconds>"),
     ("CUSTOM_CAP_COOLDOWN_GEMINI_T2_PRO", "fixed", "fixed needs a number of seconds")],
)  # fmt: skip
def test_an_invalid_cap_is_an_error_naming_it_and_why(variable: str, value: str, why: str) -> None:
    found = report(**{"CUSTOM_CAP_GEMINI_T2_PRO": "5", variable: value})
    assert any(str(error).startswith(variable) and why in str(error) for error in found.errors)


def test_a_cooldown_without_its_cap_and_a_cap_for_no_provider_are_warnings() -> None:
    warnings = report(CUSTOM_CAP_COOLDOWN_GEMINI_T2_PRO="fixed:5", CUSTOM_CAP_NOPE_T1_M="5").settings.warnings
    assert "CUSTOM_CAP_COOLDOWN_GEMINI_T2_PRO is set but CUSTOM_CAP_GEMINI_T2_PRO is not; ignored" in warnings
    assert "CUSTOM_CAP_NOPE_T1_M is set but names no configured provider; ignored" in warnings
