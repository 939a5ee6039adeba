"""Providers from variables: `<P>_API_KEY[_N]`, `<P>_API_BASE`, the catalogue, aliases and per-provider tuning."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from keyproxy.config import CliOptions, ConfigReport, ProviderSettings, build_settings
from keyproxy.config.catalogue import ALIASES, CATALOGUE
from keyproxy.redact import mask

KEY_A = "sk-aaaaaaaaaaaaaaaaaaaa0001"
KEY_B = "sk-bbbbbbbbbbbbbbbbbbbb0002"
KEY_C = "sk-cccccccccccccccccccc0003"


def build(values: Mapping[str, str]) -> ConfigReport:
    return build_settings(values, CliOptions())


def provider(values: Mapping[str, str], name: str) -> ProviderSettings:
    report = build(values)
    assert report.errors == ()
    return report.settings.providers[name]


def error_variables(values: Mapping[str, str]) -> list[str]:
    return [error.variable for error in build(values).errors]


def test_key_prefix_lowercased_names_the_provider() -> None:
    assert list(build({"GEMINI_API_KEY_1": KEY_A}).settings.providers) == ["gemini"]


def test_multi_word_prefix_is_kept_whole() -> None:
    assert list(build({"NVIDIA_NIM_API_KEY_2": KEY_A}).settings.providers) == ["nvidia_nim"]


def test_nvidia_key_maps_to_nvidia_nim() -> None:
    assert list(build({"NVIDIA_API_KEY_1": KEY_A}).settings.providers) == ["nvidia_nim"]


def test_alias_and_own_name_keys_pool_into_one_provider() -> None:
    found = provider({"NVIDIA_API_KEY_1": KEY_A, "NVIDIA_NIM_API_KEY_2": KEY_B}, "nvidia_nim")

    assert [credential.secret for credential in found.credentials] == [KEY_A, KEY_B]


def test_keys_are_ordered_by_number_with_the_unnumbered_one_first() -> None:
    values = {"OPENAI_API_KEY_10": "k10", "OPENAI_API_KEY_2": "k2", "OPENAI_API_KEY": "k0", "OPENAI_API_KEY_1": "k1"}

    found = provider(values, "openai")

    assert [credential.secret for credential in found.credentials] == ["k0", "k1", "k2", "k10"]


def test_credential_names_the_variable_it_came_from() -> None:
    found = provider({"GROQ_API_KEY_3": KEY_A}, "groq")

    assert [credential.source for credential in found.credentials] == ["GROQ_API_KEY_3"]


def test_surrounding_whitespace_is_trimmed_from_keys() -> None:
    found = provider({"GROQ_API_KEY_1": f"  {KEY_A} "}, "groq")

    assert found.credentials[0].secret == KEY_A


def test_empty_key_is_dropped_with_a_warning() -> None:
    report = build({"GEMINI_API_KEY_1": KEY_A, "GEMINI_API_KEY_2": "  "})

    assert [credential.source for credential in report.settings.providers["gemini"].credentials] == ["GEMINI_API_KEY_1"]
    assert report.settings.warnings == ("GEMINI_API_KEY_2 is empty; ignored",)


def test_duplicate_key_is_dropped_with_a_warning() -> None:
    report = build({"GEMINI_API_KEY_1": KEY_A, "GEMINI_API_KEY_2": KEY_B, "GEMINI_API_KEY_3": KEY_A})

    sources = [credential.source for credential in report.settings.providers["gemini"].credentials]
    assert sources == ["GEMINI_API_KEY_1", "GEMINI_API_KEY_2"]
    assert len(report.settings.warnings) == 1
    assert report.settings.warnings[0].startswith("GEMINI_API_KEY_3 repeats a key")


def test_duplicate_key_warning_shows_the_key_masked_never_in_full() -> None:
    warnings = build({"GEMINI_API_KEY_1": KEY_A, "GEMINI_API_KEY_2": KEY_A}).settings.warnings

    assert mask(KEY_A) in warnings[0]
    assert KEY_A not in warnings[0]


def test_builtin_provider_uses_the_catalogue_base_url_and_protocol() -> None:
    found = provider({"GEMINI_API_KEY": KEY_A}, "gemini")

    assert (found.base_url, found.protocol, found.custom) == (CATALOGUE["gemini"].base_url, "gemini", False)


def test_base_for_unknown_provider_defines_a_custom_openai_provider() -> None:
    found = provider({"MYLLM_API_BASE": "http://127.0.0.1:8001/v1", "MYLLM_API_KEY_1": KEY_A}, "myllm")

    assert (found.base_url, found.protocol, found.custom) == ("http://127.0.0.1:8001/v1", "openai", True)


def test_base_for_builtin_provider_overrides_the_url_and_keeps_its_protocol() -> None:
    gateway = "https://gemini-gateway.example.com/v1beta"

    found = provider({"GEMINI_API_BASE": gateway, "GEMINI_API_KEY_1": KEY_A}, "gemini")

    assert (found.base_url, found.protocol, found.custom) == (gateway, "gemini", False)


def test_alias_base_overrides_the_builtin_provider_url() -> None:
    values = {"NVIDIA_API_BASE": "https://nim.internal.example/v1", "NVIDIA_API_KEY_1": KEY_A}

    assert provider(values, "nvidia_nim").base_url == "https://nim.internal.example/v1"


def test_base_url_trailing_slash_is_stripped() -> None:
    values = {"LOCAL_API_BASE": "http://localhost:11434/v1/", "LOCAL_API_KEY": KEY_A}

    assert provider(values, "local").base_url == "http://localhost:11434/v1"


@pytest.mark.parametrize("base", ["ftp://example.com/v1", "localhost:8000/v1", "https://", "api.openai.com"])
def test_non_http_base_is_an_error_naming_the_variable(base: str) -> None:
    report = build({"OPENAI_API_BASE": base, "OPENAI_API_KEY": KEY_A})

    assert [(error.variable, error.problem) for error in report.errors] == [
        ("OPENAI_API_BASE", "expected an http:// or https:// URL")
    ]


def test_base_error_does_not_echo_a_key_pasted_into_it() -> None:
    report = build({"OPENAI_API_BASE": KEY_B, "OPENAI_API_KEY": KEY_A})

    assert KEY_B not in str(report.errors[0])


def test_empty_base_leaves_the_builtin_url() -> None:
    assert provider({"OPENAI_API_BASE": "", "OPENAI_API_KEY": KEY_A}, "openai").base_url == CATALOGUE["openai"].base_url


def test_custom_provider_without_key_gets_one_anonymous_credential() -> None:
    found = provider({"OLLAMA_API_BASE": "http://localhost:11434/v1"}, "ollama")

    assert [(credential.secret, credential.source) for credential in found.credentials] == [("", "OLLAMA_API_BASE")]


def test_keys_for_unknown_provider_without_base_warn_and_add_no_provider() -> None:
    report = build({"MYSTERY_API_KEY_1": KEY_A})

    assert report.settings.providers == {}
    assert len(report.settings.warnings) == 1
    assert "MYSTERY_API_BASE" in report.settings.warnings[0]


def test_empty_keys_for_unknown_provider_warn_only_that_they_are_empty() -> None:
    report = build({"BEDROCK_API_KEY_1": ""})

    assert report.settings.providers == {}
    assert report.settings.warnings == ("BEDROCK_API_KEY_1 is empty; ignored",)


def test_builtin_base_without_key_warns_and_adds_no_provider() -> None:
    report = build({"OPENROUTER_API_BASE": "https://openrouter.example/api/v1"})

    assert report.settings.providers == {}
    assert report.settings.warnings == ("openrouter: OPENROUTER_API_BASE is set but no OPENROUTER_API_KEY",)


def test_builtin_provider_with_only_empty_keys_is_not_enabled() -> None:
    report = build({"OPENAI_API_KEY": "", "OPENAI_API_KEY_1": ""})

    assert report.settings.providers == {}
    assert report.settings.warnings == ("OPENAI_API_KEY is empty; ignored", "OPENAI_API_KEY_1 is empty; ignored")


@pytest.mark.parametrize(
    "name",
    [
        "openai", "groq", "mistral", "openrouter", "nvidia_nim", "deepseek",
        "chutes", "together", "fireworks", "cerebras", "xai",
    ],
)  # fmt: skip
def test_catalogue_includes_the_old_proxy_providers(name: str) -> None:
    assert name in CATALOGUE


@pytest.mark.parametrize("name", sorted(name for name, known in CATALOGUE.items() if known.base_url))
def test_catalogue_base_url_is_https_without_trailing_slash(name: str) -> None:
    base_url = CATALOGUE[name].base_url

    assert base_url.startswith("https://")
    assert not base_url.endswith("/")


@pytest.mark.parametrize(("alias", "target"), sorted(ALIASES.items()))
def test_every_alias_names_a_catalogued_provider(alias: str, target: str) -> None:
    assert target in CATALOGUE
    assert alias not in CATALOGUE


def test_rotation_mode_defaults_to_balanced() -> None:
    assert provider({"GEMINI_API_KEY": KEY_A}, "gemini").rotation_mode == "balanced"


def test_rotation_mode_sequential_is_read_in_any_case() -> None:
    values = {"GEMINI_API_KEY": KEY_A, "ROTATION_MODE_GEMINI": "Sequential"}

    assert provider(values, "gemini").rotation_mode == "sequential"


def test_unknown_rotation_mode_is_an_error_naming_the_variable() -> None:
    values = {"GEMINI_API_KEY": KEY_A, "ROTATION_MODE_GEMINI": "random"}

    assert error_variables(values) == ["ROTATION_MODE_GEMINI"]


def test_max_concurrent_requests_per_key_is_read() -> None:
    values = {"OPENAI_API_KEY": KEY_A, "MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI": "3"}

    assert provider(values, "openai").max_concurrent_per_key == 3


@pytest.mark.parametrize("raw", ["0", "-1"])
def test_max_concurrent_of_zero_or_less_means_unlimited(raw: str) -> None:
    values = {"OPENAI_API_KEY": KEY_A, "MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI": raw}

    assert provider(values, "openai").max_concurrent_per_key is None


def test_non_integer_max_concurrent_is_an_error_naming_the_variable() -> None:
    values = {"OPENAI_API_KEY": KEY_A, "MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI": "two"}

    assert error_variables(values) == ["MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI"]


def test_optimal_concurrent_requests_per_key_is_read() -> None:
    values = {"OPENAI_API_KEY": KEY_A, "OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_OPENAI": "2"}

    assert provider(values, "openai").optimal_concurrent_per_key == 2


@pytest.mark.parametrize("raw", ["1.5", "many"])
def test_optimal_concurrent_not_whole_is_an_error(raw: str) -> None:
    values = {"OPENAI_API_KEY": KEY_A, "OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_OPENAI": raw}

    assert error_variables(values) == ["OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_OPENAI"]


@pytest.mark.parametrize("raw", ["0", "-1"])
def test_a_concurrency_cap_of_zero_or_less_means_none_as_in_the_old_proxy(raw: str) -> None:
    values = {"OPENAI_API_KEY": KEY_A, "OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_OPENAI": raw,
              "MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI": raw}  # fmt: skip
    openai = provider(values, "openai")
    assert (openai.optimal_concurrent_per_key, openai.max_concurrent_per_key) == (None, None)


def test_the_cap_for_the_providers_rotation_mode_wins_and_the_other_modes_changes_nothing() -> None:
    values = {
        "OPENAI_API_KEY": KEY_A,
        "MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI": "5",
        "MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI_BALANCED": "2",
        "OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_OPENAI_SEQUENTIAL": "4",
    }
    openai = provider(values, "openai")
    assert (openai.max_concurrent_per_key, openai.optimal_concurrent_per_key) == (2, None)
    sequential = provider({**values, "ROTATION_MODE_OPENAI": "sequential"}, "openai")
    assert (sequential.max_concurrent_per_key, sequential.optimal_concurrent_per_key) == (5, 4)


def test_concurrency_multiplier_sets_its_priority_tier() -> None:
    values = {
        "NVIDIA_NIM_API_KEY": KEY_A,
        "CONCURRENCY_MULTIPLIER_NVIDIA_NIM_PRIORITY_1": "5",
        "CONCURRENCY_MULTIPLIER_NVIDIA_NIM_PRIORITY_2": "1.5",
    }

    assert provider(values, "nvidia_nim").priority_multipliers == {1: 5.0, 2: 1.5}


def test_mode_suffixed_concurrency_multiplier_is_accepted_without_error() -> None:
    values = {"GEMINI_API_KEY": KEY_A, "CONCURRENCY_MULTIPLIER_GEMINI_PRIORITY_2_BALANCED": "1"}

    assert build(values).errors == ()


@pytest.mark.parametrize("raw", ["0", "-2", "fast"])
def test_non_positive_concurrency_multiplier_is_an_error_naming_the_variable(raw: str) -> None:
    values = {"GEMINI_API_KEY": KEY_A, "CONCURRENCY_MULTIPLIER_GEMINI_PRIORITY_1": raw}

    assert error_variables(values) == ["CONCURRENCY_MULTIPLIER_GEMINI_PRIORITY_1"]


def test_concurrency_multiplier_of_another_provider_does_not_apply() -> None:
    values = {"OPENAI_API_KEY": KEY_A, "CONCURRENCY_MULTIPLIER_OPENROUTER_PRIORITY_1": "4"}

    assert provider(values, "openai").priority_multipliers == {}


def test_quota_group_lists_its_models() -> None:
    values = {"GEMINI_API_KEY": KEY_A, "QUOTA_GROUPS_GEMINI_PRO": "gemini-2.5-pro, gemini-2.5-pro-preview"}

    assert provider(values, "gemini").quota_groups == {"pro": ("gemini-2.5-pro", "gemini-2.5-pro-preview")}


def test_empty_quota_group_is_disabled() -> None:
    values = {"GEMINI_API_KEY": KEY_A, "QUOTA_GROUPS_GEMINI_PRO": ""}

    assert provider(values, "gemini").quota_groups == {}


def test_quota_group_of_a_longer_provider_name_is_not_taken() -> None:
    values = {"GEMINI_API_KEY": KEY_A, "QUOTA_GROUPS_GEMINI_CLI_PRO": "gemini-2.5-pro"}

    assert provider(values, "gemini").quota_groups == {}


def test_ignore_and_whitelist_lists_are_read() -> None:
    values = {"GEMINI_API_KEY": KEY_A, "IGNORE_MODELS_GEMINI": "*", "WHITELIST_MODELS_GEMINI": " gemini-2.5-*, x "}

    found = provider(values, "gemini")

    assert (found.ignore_models, found.whitelist_models) == (("*",), ("gemini-2.5-*", "x"))


def test_empty_model_lists_filter_nothing() -> None:
    found = provider({"GEMINI_API_KEY": KEY_A, "IGNORE_MODELS_GEMINI": "", "WHITELIST_MODELS_GEMINI": ""}, "gemini")

    assert (found.ignore_models, found.whitelist_models) == ((), ())


def test_alias_named_tuning_variables_apply_to_the_aliased_provider() -> None:
    values = {
        "NVIDIA_API_KEY_1": KEY_A,
        "IGNORE_MODELS_NVIDIA": "*",
        "ROTATION_MODE_NVIDIA": "sequential",
        "MAX_CONCURRENT_REQUESTS_PER_KEY_NVIDIA": "2",
        "CONCURRENCY_MULTIPLIER_NVIDIA_PRIORITY_1": "3",
        "QUOTA_GROUPS_NVIDIA_LLAMA": "meta/llama-3.1-8b-instruct",
    }

    found = provider(values, "nvidia_nim")

    assert (found.ignore_models, found.rotation_mode, found.max_concurrent_per_key) == (("*",), "sequential", 2)
    assert (found.priority_multipliers, found.quota_groups) == ({1: 3.0}, {"llama": ("meta/llama-3.1-8b-instruct",)})


def test_own_name_tuning_variable_wins_over_the_alias() -> None:
    values = {"NVIDIA_API_KEY_1": KEY_A, "ROTATION_MODE_NVIDIA": "sequential", "ROTATION_MODE_NVIDIA_NIM": "balanced"}

    assert provider(values, "nvidia_nim").rotation_mode == "balanced"


def test_one_provider_tuning_errors_do_not_hide_another_providers() -> None:
    values = {
        "OPENAI_API_KEY": KEY_A,
        "GROQ_API_KEY": KEY_B,
        "ROTATION_MODE_OPENAI": "x",
        "OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_GROQ": "many",
    }

    assert sorted(error_variables(values)) == ["OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_GROQ", "ROTATION_MODE_OPENAI"]


def test_no_key_appears_in_provider_warnings_or_errors() -> None:
    values = {
        "GEMINI_API_KEY_1": KEY_A,
        "GEMINI_API_KEY_2": KEY_A,
        "MYSTERY_API_KEY": KEY_B,
        "OPENAI_API_KEY": KEY_A,
        "OPENAI_API_BASE": KEY_C,
    }

    report = build(values)
    texts = [*report.settings.warnings, *(str(error) for error in report.errors)]

    assert len(texts) == 3
    assert not [text for text in texts for key in (KEY_A, KEY_B, KEY_C) if key in text]


def priorities(values: Mapping[str, str], name: str) -> dict[str, int]:
    return {credential.source: credential.priority for credential in provider(values, name).credentials}


def test_key_priority_defaults_to_the_first_tier() -> None:
    assert priorities({"OPENAI_API_KEY_1": KEY_A}, "openai") == {"OPENAI_API_KEY_1": 1}


def test_numbered_key_priority_sets_its_tier() -> None:
    values = {"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_2": KEY_B, "OPENAI_API_KEY_2_PRIORITY": "2"}

    assert priorities(values, "openai") == {"OPENAI_API_KEY_1": 1, "OPENAI_API_KEY_2": 2}


def test_unnumbered_key_priority_sets_its_tier() -> None:
    values = {"OPENAI_API_KEY": KEY_A, "OPENAI_API_KEY_PRIORITY": "3"}

    assert priorities(values, "openai") == {"OPENAI_API_KEY": 3}


def test_priority_variable_is_not_taken_for_a_key() -> None:
    report = build({"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_1_PRIORITY": "2"})

    sources = [credential.source for credential in report.settings.providers["openai"].credentials]
    assert (sources, report.errors, report.settings.warnings) == (["OPENAI_API_KEY_1"], (), ())


def test_priority_alone_enables_no_provider() -> None:
    assert build({"MISTRAL_API_KEY_1_PRIORITY": "2"}).settings.providers == {}


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "high"])
def test_priority_that_is_not_a_whole_number_of_at_least_one_is_an_error_naming_it(raw: str) -> None:
    assert error_variables({"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_1_PRIORITY": raw}) == [
        "OPENAI_API_KEY_1_PRIORITY"
    ]


def test_invalid_priority_leaves_the_key_in_the_first_tier() -> None:
    report = build({"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_1_PRIORITY": "0"})

    assert report.settings.providers["openai"].credentials[0].priority == 1


def test_priority_for_a_key_that_does_not_exist_is_a_warning_naming_it() -> None:
    report = build({"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_3_PRIORITY": "2"})

    assert report.errors == ()
    assert report.settings.warnings == ("OPENAI_API_KEY_3_PRIORITY is set but there is no OPENAI_API_KEY_3; ignored",)


def test_empty_priority_means_the_first_tier_without_a_warning() -> None:
    report = build({"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_1_PRIORITY": "", "OPENAI_API_KEY_2_PRIORITY": ""})

    assert (report.settings.providers["openai"].credentials[0].priority, report.settings.warnings) == (1, ())


def test_priority_of_an_alias_spelled_key_is_read() -> None:
    values = {"NVIDIA_API_KEY_1": KEY_A, "NVIDIA_API_KEY_1_PRIORITY": "2"}

    assert priorities(values, "nvidia_nim") == {"NVIDIA_API_KEY_1": 2}


def test_alias_spelled_priority_applies_to_the_key_with_the_same_number() -> None:
    values = {"NVIDIA_NIM_API_KEY_1": KEY_A, "NVIDIA_API_KEY_1_PRIORITY": "2"}

    report = build(values)

    assert report.settings.providers["nvidia_nim"].credentials[0].priority == 2
    assert report.settings.warnings == ()


def test_own_spelled_priority_wins_over_the_alias_spelling() -> None:
    values = {"NVIDIA_NIM_API_KEY_1": KEY_A, "NVIDIA_NIM_API_KEY_1_PRIORITY": "3", "NVIDIA_API_KEY_1_PRIORITY": "2"}

    assert priorities(values, "nvidia_nim") == {"NVIDIA_NIM_API_KEY_1": 3}


def test_keys_spelled_both_ways_with_one_number_each_take_their_own_priority() -> None:
    values = {
        "NVIDIA_API_KEY_1": KEY_A,
        "NVIDIA_NIM_API_KEY_1": KEY_B,
        "NVIDIA_API_KEY_1_PRIORITY": "2",
        "NVIDIA_NIM_API_KEY_1_PRIORITY": "3",
    }

    assert priorities(values, "nvidia_nim") == {"NVIDIA_API_KEY_1": 2, "NVIDIA_NIM_API_KEY_1": 3}


def test_proxy_api_key_priority_is_not_a_provider_priority() -> None:
    report = build({"PROXY_API_KEY_PRIORITY": "2"})

    assert (report.settings.providers, report.settings.warnings, report.errors) == ({}, (), ())


@pytest.mark.parametrize("key", ["sk-abc\x00def-0123456789", "sk-abc def-0123456789", "sk-abc\x1bdef-0123456789"])
def test_a_key_no_http_header_can_carry_is_an_error_naming_its_variable(key: str) -> None:
    assert error_variables({"OPENAI_API_KEY_1": key, "OPENAI_API_KEY_2": "sk-fine-0123456789"}) == ["OPENAI_API_KEY_1"]


def test_openai_serves_the_responses_api_itself_and_other_catalogued_providers_are_translated() -> None:
    values = {"OPENAI_API_KEY": KEY_A, "GROQ_API_KEY": KEY_B, "GEMINI_API_KEY": KEY_C}
    found = build(values).settings.providers
    assert {name: found[name].responses for name in found} == {
        "openai": "native", "groq": "translate", "gemini": "translate"}  # fmt: skip


def test_a_custom_provider_opts_in_to_the_native_responses_api() -> None:
    values = {"LOCAL_API_BASE": "http://127.0.0.1:8080/v1", "RESPONSES_API_LOCAL": "Native"}
    assert provider(values, "local").responses == "native"
    assert provider({"LOCAL_API_BASE": "http://127.0.0.1:8080/v1"}, "local").responses == "translate"


def test_providers_whose_thinking_models_need_reasoning_back_take_it_in_their_own_field() -> None:
    values = {"DEEPSEEK_API_KEY": KEY_A, "OPENROUTER_API_KEY": KEY_B, "OPENAI_API_KEY": KEY_C}
    found = build(values).settings.providers
    assert {name: found[name].reasoning_field for name in found} == {
        "deepseek": "reasoning_content", "openrouter": "reasoning", "openai": None}  # fmt: skip


def test_a_custom_provider_opts_in_to_reasoning_history_and_a_catalogued_one_opts_out() -> None:
    local = {"LOCAL_API_BASE": "http://127.0.0.1:8080/v1", "REASONING_HISTORY_LOCAL": "reasoning_content"}
    assert provider(local, "local").reasoning_field == "reasoning_content"
    assert provider({"LOCAL_API_BASE": "http://127.0.0.1:8080/v1"}, "local").reasoning_field is None
    off = {"DEEPSEEK_API_KEY": KEY_A, "REASONING_HISTORY_DEEPSEEK": "off"}
    assert provider(off, "deepseek").reasoning_field is None


def test_an_unknown_reasoning_history_field_is_a_configuration_error() -> None:
    values = {"DEEPSEEK_API_KEY": KEY_A, "REASONING_HISTORY_DEEPSEEK": "thoughts"}
    assert error_variables(values) == ["REASONING_HISTORY_DEEPSEEK"]


def test_openai_can_be_told_to_translate_the_responses_api() -> None:
    assert provider({"OPENAI_API_KEY": KEY_A, "RESPONSES_API_OPENAI": "translate"}, "openai").responses == "translate"


@pytest.mark.parametrize(("values", "variable"), [
    ({"ANTHROPIC_API_KEY": KEY_A, "RESPONSES_API_ANTHROPIC": "native"}, "RESPONSES_API_ANTHROPIC"),
    ({"OPENAI_API_KEY": KEY_A, "RESPONSES_API_OPENAI": "maybe"}, "RESPONSES_API_OPENAI"),
])  # fmt: skip
def test_a_responses_mode_that_cannot_be_is_an_error_naming_the_variable(
    values: dict[str, str], variable: str
) -> None:
    assert error_variables(values) == [variable]


def test_azure_needs_its_resource_endpoint_and_takes_an_api_version() -> None:
    values = {"AZURE_API_KEY": KEY_A, "AZURE_API_BASE": "https://contoso.openai.azure.com"}
    values["AZURE_API_VERSION"] = "2024-10-21"
    azure = provider(values, "azure")
    assert (azure.protocol, azure.api_version) == ("azure", "2024-10-21")
    report = build({"AZURE_API_KEY": KEY_A})
    assert "azure" not in report.settings.providers
    assert any("AZURE_API_BASE" in warning for warning in report.settings.warnings)


@pytest.mark.parametrize("host", ["e.openai.azure.com", "x.cognitiveservices.azure.com", "y.services.ai.azure.com"])
def test_a_provider_of_any_name_on_an_azure_host_speaks_azure(host: str) -> None:
    values = {"EASTUS_API_KEY": KEY_A, "EASTUS_API_BASE": f"https://{host}", "EASTUS_API_VERSION": "2025-04-01-preview"}
    eastus = provider(values, "eastus")
    assert (eastus.protocol, eastus.api_version) == ("azure", "2025-04-01-preview")


def test_an_api_version_means_nothing_to_a_provider_that_is_not_azure() -> None:
    assert provider({"OPENAI_API_KEY": KEY_A, "OPENAI_API_VERSION": "2024-10-21"}, "openai").api_version is None


def test_a_key_may_declare_the_models_it_serves_as_names_or_globs() -> None:
    openai = provider(
        {"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_1_MODELS": "gpt-4o-mini, o3*", "OPENAI_API_KEY_2": KEY_B}, "openai"
    )
    assert [credential.models for credential in openai.credentials] == [("gpt-4o-mini", "o3*"), None]


def test_an_empty_model_declaration_is_an_error_naming_it() -> None:
    values = {"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_1_MODELS": " , "}
    assert error_variables(values) == ["OPENAI_API_KEY_1_MODELS"]


def test_a_key_models_declaration_is_never_read_as_a_key_or_a_providers_model_list() -> None:
    report = build({"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_1_MODELS": "gpt-4o"})
    assert list(report.settings.providers) == ["openai"]
    assert len(report.settings.providers["openai"].credentials) == 1
    assert not any("MODELS" in warning for warning in report.settings.warnings)
