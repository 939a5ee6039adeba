"""FAIR_CYCLE_<P>, its companions and EXHAUSTION_COOLDOWN_THRESHOLD[_<P>] read as the old proxy read them."""

from __future__ import annotations

from keyproxy.config import CliOptions, build_settings
from keyproxy.config.settings import FairCycle

KEY = "sk-aaaaaaaaaaaaaaaaaaaa0001"


def cycle(**values: str) -> tuple[FairCycle | None, list[str]]:
    report = build_settings({"GROQ_API_KEY": KEY, **values}, CliOptions())
    return report.settings.providers["groq"].fair_cycle, [str(error) for error in report.errors]


def test_fair_cycle_is_off_by_default_for_balanced_rotation() -> None:
    assert cycle() == (None, [])


def test_fair_cycle_is_on_by_default_for_sequential_rotation_as_in_the_old_proxy() -> None:
    assert cycle(ROTATION_MODE_GROQ="sequential") == (FairCycle(), [])


def test_fair_cycle_can_be_turned_off_for_sequential_rotation() -> None:
    assert cycle(ROTATION_MODE_GROQ="sequential", FAIR_CYCLE_GROQ="false")[0] is None


def test_the_enabled_spelling_is_read_only_when_the_plain_one_is_unset() -> None:
    assert cycle(FAIR_CYCLE_ENABLED_GROQ="true")[0] == FairCycle()
    assert cycle(FAIR_CYCLE_GROQ="false", FAIR_CYCLE_ENABLED_GROQ="true")[0] is None


def test_companions_set_tracking_tiers_duration_and_thresholds() -> None:
    found, errors = cycle(
        FAIR_CYCLE_GROQ="1", FAIR_CYCLE_TRACKING_MODE_GROQ="Credential", FAIR_CYCLE_CROSS_TIER_GROQ="yes",
        FAIR_CYCLE_DURATION_GROQ="86400", FAIR_CYCLE_RESET_COOLDOWN_THRESHOLD_GROQ="30",
        EXHAUSTION_COOLDOWN_THRESHOLD_GROQ="600",
    )  # fmt: skip
    assert errors == []
    assert found == FairCycle("credential", True, 86400.0, 30.0, 600.0)


def test_the_global_exhaustion_threshold_is_the_fallback_of_the_providers() -> None:
    assert cycle(FAIR_CYCLE_GROQ="true", EXHAUSTION_COOLDOWN_THRESHOLD="120")[0] == FairCycle(exhaustion=120.0)
    found = cycle(FAIR_CYCLE_GROQ="true", EXHAUSTION_COOLDOWN_THRESHOLD="120", EXHAUSTION_COOLDOWN_THRESHOLD_GROQ="60")
    assert found[0] == FairCycle(exhaustion=60.0)


def test_a_bad_companion_is_an_error_naming_it_even_with_fair_cycle_off() -> None:
    _, errors = cycle(FAIR_CYCLE_TRACKING_MODE_GROQ="per_key", FAIR_CYCLE_DURATION_GROQ="0")
    assert any(error.startswith("FAIR_CYCLE_TRACKING_MODE_GROQ: expected one of") for error in errors)
    assert any(error.startswith("FAIR_CYCLE_DURATION_GROQ: must be a finite number greater than 0") for error in errors)


def test_a_fair_cycle_variable_for_no_configured_provider_is_a_warning() -> None:
    report = build_settings({"GROQ_API_KEY": KEY, "FAIR_CYCLE_GORQ": "true"}, CliOptions())
    assert "FAIR_CYCLE_GORQ is set but names no configured provider; ignored" in report.settings.warnings


def test_the_enabled_spelling_set_beside_the_plain_one_is_named_as_not_read() -> None:
    report = build_settings(
        {"GROQ_API_KEY": KEY, "FAIR_CYCLE_GROQ": "false", "FAIR_CYCLE_ENABLED_GROQ": "true"}, CliOptions()
    )
    assert report.settings.warnings == ()
    assert report.explanation is not None
    verdicts = dict(report.explanation.old_proxy)
    assert verdicts["FAIR_CYCLE_ENABLED_GROQ"] == "not applied: FAIR_CYCLE_GROQ is set and wins"
