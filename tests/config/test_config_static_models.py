"""`<P>_MODELS`: a provider's models from configuration, as the old proxy's JSON array or object."""

from __future__ import annotations

from collections.abc import Mapping

from keyproxy.config import CliOptions, ConfigReport, build_settings

KEY = "sk-aaaaaaaaaaaaaaaaaaaa0001"
SERVER = {"MYSERVER_API_BASE": "http://10.0.0.5:8080/v1", "MYSERVER_API_KEY": KEY}


def build(values: Mapping[str, str]) -> ConfigReport:
    return build_settings({**SERVER, **values}, CliOptions())


def test_a_json_array_names_models_sent_upstream_as_named() -> None:
    report = build({"MYSERVER_MODELS": '["llama-3-70b", "qwen-2.5"]'})
    assert report.errors == ()
    assert dict(report.settings.providers["myserver"].static_models) == {
        "llama-3-70b": "llama-3-70b",
        "qwen-2.5": "qwen-2.5",
    }


def test_a_json_object_maps_each_listed_name_to_its_upstream_id() -> None:
    value = '{"kimi": {"id": "moonshot/kimi-k2"}, "plain": {}}'
    static = build({"MYSERVER_MODELS": value}).settings.providers["myserver"].static_models
    assert dict(static) == {"kimi": "moonshot/kimi-k2", "plain": "plain"}


def test_broken_json_is_an_error_naming_the_variable() -> None:
    report = build({"MYSERVER_MODELS": '["llama-3-70b", '})
    assert [error.variable for error in report.errors] == ["MYSERVER_MODELS"]
    assert "JSON array" in report.errors[0].problem


def test_a_value_that_is_no_list_at_all_is_a_warning_and_ignored() -> None:
    # Ollama's own OLLAMA_MODELS is a directory: it must not stop the proxy.
    report = build_settings(
        {"OLLAMA_API_BASE": "http://127.0.0.1:11434/v1", "OLLAMA_MODELS": "/srv/models"}, CliOptions()
    )
    assert report.errors == ()
    assert report.settings.providers["ollama"].static_models == {}
    assert any(warning.startswith("OLLAMA_MODELS is not a JSON array") for warning in report.settings.warnings)


def test_an_entry_whose_id_is_not_a_string_is_an_error() -> None:
    report = build({"MYSERVER_MODELS": '{"kimi": {"id": 5}}'})
    assert [error.variable for error in report.errors] == ["MYSERVER_MODELS"]


def test_per_model_options_are_named_as_not_applied() -> None:
    report = build({"MYSERVER_MODELS": '{"kimi": {"id": "k2", "options": {"temperature": 0.6}}}'})
    assert report.errors == ()
    assert any(
        "MYSERVER_MODELS" in w and "options are not applied" in w and "kimi" in w for w in report.settings.warnings
    )


def test_the_providers_other_spelling_applies() -> None:
    report = build_settings({"NVIDIA_API_KEY": KEY, "NVIDIA_MODELS": '["meta/llama-3.1-8b"]'}, CliOptions())
    assert list(report.settings.providers["nvidia_nim"].static_models) == ["meta/llama-3.1-8b"]


def test_a_list_for_no_configured_provider_is_a_warning() -> None:
    warnings = build({"OTHERSERVER_MODELS": '["x"]'}).settings.warnings
    assert "OTHERSERVER_MODELS is set but no provider otherserver is configured; ignored" in warnings


def test_another_programs_variable_for_no_provider_is_not_warned_about() -> None:
    assert not build({"OLLAMA_MODELS": "/srv/models"}).settings.warnings


def test_keyproxys_own_model_filters_are_not_taken_for_a_list() -> None:
    report = build({"IGNORE_MODELS_MYSERVER": "a", "WHITELIST_MODELS_MYSERVER": "b", "MYSERVER_API_KEY_1_MODELS": "c"})
    assert report.errors == ()
    assert not [warning for warning in report.settings.warnings if "_MODELS" in warning]
