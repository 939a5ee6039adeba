"""Loading settings: precedence of CLI, environment and `.env`, tuning variables, collected errors, the old `.env`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from keyproxy.config import (
    CliOptions,
    ConfigReport,
    EngineSettings,
    Settings,
    build_settings,
    inspect_config,
    load_settings,
)
from keyproxy.errors import InvalidConfiguration

# Every variable keyproxy reads, so the machine's own keys and settings cannot leak into a test.
_CONFIG_VARIABLE = re.compile(
    r"_API_KEY|_API_BASE|^KEYPROXY_|TIMEOUT|^ROTATION_|CONCURREN|^QUOTA_GROUPS_|_MODELS_|^OVERRIDE_TEMPERATURE|OAUTH"
    r"|^RESPONSES_API_|^REASONING_HISTORY_|_PROXY$|^(HTTPS?|ALL|NO)_PROXY$|^TRANSIENT_RETRY_|^AZURE_"
)

OLD_PROXY_ENV = """\
# ==============================================================================
# ||        LLM API Key Proxy - Environment Variable Configuration        ||
# ==============================================================================

# A secret key used to authenticate requests to THIS proxy server.
PROXY_API_KEY="proxy-key-0123456789abcdef"

# --- Google Gemini ---
GEMINI_API_KEY_1="AIzaSy-gemini-first-key-000001"
GEMINI_API_KEY_2="AIzaSy-gemini-second-key-00002"

# --- OpenAI / Azure OpenAI ---
OPENAI_API_KEY_1="sk-proj-openai-key-0000000001"

# --- OpenRouter ---
OPENROUTER_API_KEY_1="sk-or-v1-openrouter-key-000001"

# --- NVIDIA NIM ---
NVIDIA_API_KEY_1="nvapi-nvidia-key-00000000001"

# --- AWS Bedrock ---
BEDROCK_API_KEY_1=""

# --- Custom OpenAI-Compatible Providers (vLLM, Ollama, local LLM) ---
CUSTOM_API_BASE="http://127.0.0.1:8001/v1"
CUSTOM_API_KEY_1="dummy"

# --- Google Gemini (gcloud CLI) ---
GEMINI_CLI_OAUTH_1=""
QWEN_CODE_OAUTH_1=""
GEMINI_CLI_PROJECT_ID=""

# Example:
# IGNORE_MODELS_GEMINI="gemini-1.0-pro-vision-latest,gemini-1.0-pro-latest"
IGNORE_MODELS_GEMINI=""
WHITELIST_MODELS_OPENAI=""

# MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI=3  # Allow 3 concurrent requests per OpenAI key
MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI=1

# ROTATION_MODE_GEMINI=sequential    # Use Gemini keys until quota exhausted

OAUTH_REFRESH_INTERVAL=600 # Default is 600 seconds (10 minutes)
SKIP_OAUTH_INIT_CHECK=false
"""


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if _CONFIG_VARIABLE.search(name) or name == "PROXY_API_KEY":
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def old_env(tmp_path: Path, environ: pytest.MonkeyPatch) -> Path:
    path = tmp_path / ".env"
    path.write_text(OLD_PROXY_ENV, encoding="utf-8")
    return path


def build(values: Mapping[str, str], options: CliOptions | None = None, cwd: Path | None = None) -> ConfigReport:
    return build_settings(values, options or CliOptions(), cwd=cwd)


def settings(values: Mapping[str, str], options: CliOptions | None = None) -> Settings:
    report = build(values, options)
    assert report.errors == ()
    return report.settings


def error_variables(values: Mapping[str, str], options: CliOptions | None = None) -> list[str]:
    return [error.variable for error in build(values, options).errors]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_proxy_api_key_is_the_client_key() -> None:
    assert settings({"PROXY_API_KEY": "client-key-123456"}).proxy_api_key == "client-key-123456"


def test_proxy_api_key_is_never_a_provider() -> None:
    found = build({"PROXY_API_KEY": "client-key-123456", "PROXY_API_KEY_1": "client-key-654321"}).settings

    assert (found.providers, found.warnings) == ({}, ())


def test_empty_proxy_api_key_means_none() -> None:
    assert settings({"PROXY_API_KEY": ""}).proxy_api_key is None


def test_stored_responses_are_kept_thirty_days_unless_told_otherwise() -> None:
    assert settings({}).state.responses_retention_days == 30
    assert settings({"KEYPROXY_RESPONSES_RETENTION_DAYS": "0"}).state.responses_retention_days == 0


@pytest.mark.parametrize("raw", ["-1", "soon"])
def test_an_invalid_responses_retention_is_an_error_naming_it(raw: str) -> None:
    assert error_variables({"KEYPROXY_RESPONSES_RETENTION_DAYS": raw}) == ["KEYPROXY_RESPONSES_RETENTION_DAYS"]


def test_default_provider_is_unset_by_default() -> None:
    assert settings({"OPENAI_API_KEY": "sk-x-1234567890"}).default_provider is None


def test_default_provider_names_a_configured_provider() -> None:
    values = {"OPENAI_API_KEY": "sk-x-1234567890", "KEYPROXY_DEFAULT_PROVIDER": "openai"}
    assert settings(values).default_provider == "openai"


def test_default_provider_may_be_the_demo_provider() -> None:
    assert settings({"KEYPROXY_DEFAULT_PROVIDER": "demo"}, CliOptions(demo=True)).default_provider == "demo"


def test_default_provider_that_is_not_configured_is_an_error_naming_the_configured_ones() -> None:
    report = build({"OPENAI_API_KEY": "sk-x-1234567890", "KEYPROXY_DEFAULT_PROVIDER": "groq"})
    assert [error.variable for error in report.errors] == ["KEYPROXY_DEFAULT_PROVIDER"]
    assert "configured: openai" in report.errors[0].problem
    assert report.settings.default_provider is None


@pytest.mark.parametrize("raw", ["OpenAI", "nvidia"])
def test_default_provider_spelled_otherwise_is_an_error_suggesting_the_name(raw: str) -> None:
    values = {"OPENAI_API_KEY": "sk-x-1234567890", "NVIDIA_NIM_API_KEY": "nvapi-x-1234567890",
              "KEYPROXY_DEFAULT_PROVIDER": raw}  # fmt: skip
    problem = build(values).errors[0].problem
    assert "did you mean" in problem and ("'openai'" in problem or "'nvidia_nim'" in problem)


def test_timeouts_default_to_the_old_proxy_values() -> None:
    timeouts = settings({}).timeouts

    assert (
        timeouts.total,
        timeouts.connect,
        timeouts.pool,
        timeouts.read_streaming,
        timeouts.read_non_streaming,
    ) == (30.0, 30.0, 60.0, 180.0, 600.0)


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("GLOBAL_TIMEOUT", "total"),
        ("TIMEOUT_CONNECT", "connect"),
        ("TIMEOUT_POOL", "pool"),
        ("TIMEOUT_READ_STREAMING", "read_streaming"),
        ("TIMEOUT_READ_NON_STREAMING", "read_non_streaming"),
    ],
)
def test_timeout_variable_sets_its_timeout(variable: str, field: str) -> None:
    assert getattr(settings({variable: "12.5"}).timeouts, field) == 12.5


@pytest.mark.parametrize(
    "variable",
    [
        "GLOBAL_TIMEOUT",
        "TIMEOUT_CONNECT",
        "TIMEOUT_POOL",
        "TIMEOUT_READ_STREAMING",
        "TIMEOUT_READ_NON_STREAMING",
    ],
)
@pytest.mark.parametrize(("raw", "problem"), [("0", "greater than 0"), ("-5", "greater than 0"), ("soon", "number")])
def test_timeout_that_is_not_a_positive_number_is_an_error_naming_it(variable: str, raw: str, problem: str) -> None:
    report = build({variable: raw})

    assert [error.variable for error in report.errors] == [variable]
    assert problem in report.errors[0].problem


def test_rotation_tolerance_defaults_to_three() -> None:
    assert settings({}).rotation_tolerance == 3.0


def test_rotation_tolerance_of_zero_is_accepted() -> None:
    assert settings({"ROTATION_TOLERANCE": "0"}).rotation_tolerance == 0.0


@pytest.mark.parametrize("raw", ["-0.5", "wide"])
def test_negative_or_non_numeric_rotation_tolerance_is_an_error_naming_it(raw: str) -> None:
    assert error_variables({"ROTATION_TOLERANCE": raw}) == ["ROTATION_TOLERANCE"]


def test_engine_settings_default_to_every_key_once_and_the_documented_cooldowns() -> None:
    assert settings({}).engine == EngineSettings(
        max_attempts=None,
        bench_seconds=600.0,
        max_cooldown=86400.0,
        transient_steps=(10.0, 30.0, 60.0, 120.0),
        rate_limit_steps=(10.0, 30.0, 60.0, 120.0),
        quota_steps=(300.0, 1800.0, 3600.0),
        transient_retry_delay=1.0,
    )


@pytest.mark.parametrize(
    ("variable", "raw", "field", "expected"),
    [
        ("KEYPROXY_MAX_ATTEMPTS", "4", "max_attempts", 4),
        ("KEYPROXY_BENCH_SECONDS", "120", "bench_seconds", 120.0),
        ("KEYPROXY_MODEL_REFUSAL_SECONDS", "86400", "model_refusal_seconds", 86400.0),
        ("KEYPROXY_MAX_COOLDOWN", "3600", "max_cooldown", 3600.0),
        ("KEYPROXY_TRANSIENT_COOLDOWNS", "1, 2.5,5", "transient_steps", (1.0, 2.5, 5.0)),
        ("KEYPROXY_RATE_LIMIT_COOLDOWNS", "15", "rate_limit_steps", (15.0,)),
        ("KEYPROXY_QUOTA_COOLDOWNS", "600,7200", "quota_steps", (600.0, 7200.0)),
        ("KEYPROXY_TRANSIENT_RETRY_DELAY", "0.25", "transient_retry_delay", 0.25),
        ("KEYPROXY_TRANSIENT_RETRY_DELAY", "0", "transient_retry_delay", 0.0),
        ("TRANSIENT_RETRY_DELAY", "2.5", "transient_retry_delay", 2.5),
        ("TRANSIENT_RETRY_JITTER", "0.5", "transient_retry_jitter", 0.5),
        ("KEYPROXY_TRANSIENT_RETRY_JITTER", "0.25", "transient_retry_jitter", 0.25),
    ],
)
def test_engine_variable_sets_its_setting(variable: str, raw: str, field: str, expected: object) -> None:
    assert getattr(settings({variable: raw}).engine, field) == expected


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("KEYPROXY_MAX_ATTEMPTS", "0"),
        ("KEYPROXY_MAX_ATTEMPTS", "many"),
        ("KEYPROXY_BENCH_SECONDS", "0"),
        ("KEYPROXY_MODEL_REFUSAL_SECONDS", "0"),
        ("KEYPROXY_MAX_COOLDOWN", "-1"),
        ("KEYPROXY_TRANSIENT_RETRY_DELAY", "-0.5"),
        ("KEYPROXY_TRANSIENT_COOLDOWNS", "10,x"),
        ("KEYPROXY_RATE_LIMIT_COOLDOWNS", "10,,30"),
        ("KEYPROXY_QUOTA_COOLDOWNS", "300,-5"),
        ("KEYPROXY_QUOTA_COOLDOWNS", "inf"),
    ],
)
def test_invalid_engine_variable_is_an_error_naming_it(variable: str, raw: str) -> None:
    assert error_variables({variable: raw}) == [variable]


def test_invalid_cooldown_list_keeps_the_default_steps() -> None:
    assert build({"KEYPROXY_QUOTA_COOLDOWNS": "300,soon"}).settings.engine.quota_steps == (300.0, 1800.0, 3600.0)


def test_override_temperature_zero_defaults_to_off() -> None:
    assert settings({}).override_temperature_zero == "off"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("remove", "remove"),
        ("set", "set"), ("true", "set"), ("1", "set"), ("yes", "set"), ("TRUE", "set"),
        ("false", "off"), ("0", "off"), ("no", "off"), ("off", "off"),
    ],
)  # fmt: skip
def test_override_temperature_zero_words_map_to_a_mode(raw: str, expected: str) -> None:
    assert settings({"OVERRIDE_TEMPERATURE_ZERO": raw}).override_temperature_zero == expected


def test_other_override_temperature_zero_value_is_an_error_naming_it() -> None:
    report = build({"OVERRIDE_TEMPERATURE_ZERO": "sometimes"})

    assert [error.variable for error in report.errors] == ["OVERRIDE_TEMPERATURE_ZERO"]
    assert "remove" in report.errors[0].problem


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"SKIP_OAUTH_INIT_CHECK": "true"}, "SKIP_OAUTH_INIT_CHECK"),
        ({"OAUTH_REFRESH_INTERVAL": "600"}, "OAUTH_REFRESH_INTERVAL"),
        ({"IFLOW_OAUTH_1": "~/.iflow/creds.json", "QWEN_CODE_OAUTH_2": "~/.qwen/creds.json"}, "_OAUTH_"),
        ({"TIMEOUT_WRITE": "30"}, "TIMEOUT_WRITE"),
    ],
)
def test_pending_variable_family_gives_exactly_one_warning_naming_it(values: Mapping[str, str], named: str) -> None:
    warnings = settings(values).warnings

    assert len(warnings) == 1
    assert named in warnings[0]


def test_each_pending_family_warns_separately() -> None:
    warnings = settings({"OAUTH_REFRESH_INTERVAL": "600", "SKIP_OAUTH_INIT_CHECK": "true"}).warnings

    assert len(warnings) == 2


def test_empty_pending_variable_gives_no_warning() -> None:
    assert settings({"GEMINI_CLI_OAUTH_1": "", "OAUTH_REFRESH_INTERVAL": ""}).warnings == ()


@pytest.mark.parametrize(
    "values",
    [
        {"ROTATION_MODE_GEMINI": "sequential"},
        {"ROTATION_TOLERANCE": "2"},
        {"MAX_CONCURRENT_REQUESTS_PER_KEY_OPENAI": "1"},
        {"OPTIMAL_CONCURRENT_REQUESTS_PER_KEY_OPENAI": "1"},
        {"CONCURRENCY_MULTIPLIER_GEMINI_PRIORITY_1": "5", "CONCURRENCY_MULTIPLIER_GEMINI_PRIORITY_2_BALANCED": "1"},
        {"QUOTA_GROUPS_GEMINI_PRO": "a,b"},
    ],
)
def test_tuning_variables_the_engine_implements_give_no_warning(values: Mapping[str, str]) -> None:
    assert settings(values).warnings == ()


def test_variables_in_effect_give_no_warning() -> None:
    values = {"GLOBAL_TIMEOUT": "20", "IGNORE_MODELS_GEMINI": "*", "OVERRIDE_TEMPERATURE_ZERO": "remove"}

    assert settings(values).warnings == ()


def test_data_dir_defaults_to_data_under_cwd(tmp_path: Path) -> None:
    assert build({}, cwd=tmp_path).settings.data_dir == tmp_path / "data"


def test_relative_keyproxy_data_dir_resolves_against_cwd(tmp_path: Path) -> None:
    assert build({"KEYPROXY_DATA_DIR": "state/here"}, cwd=tmp_path).settings.data_dir == tmp_path / "state" / "here"


def test_absolute_keyproxy_data_dir_is_kept(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"

    assert build({"KEYPROXY_DATA_DIR": str(elsewhere)}, cwd=tmp_path / "cwd").settings.data_dir == elsewhere


def test_data_dir_option_wins_over_keyproxy_data_dir(tmp_path: Path) -> None:
    options = CliOptions(data_dir=Path("from-cli"))

    assert build({"KEYPROXY_DATA_DIR": "from-env"}, options, cwd=tmp_path).settings.data_dir == tmp_path / "from-cli"


def test_host_and_port_default_to_localhost_8000() -> None:
    found = settings({})

    assert (found.host, found.port) == ("127.0.0.1", 8000)


def test_keyproxy_host_and_port_are_read() -> None:
    found = settings({"KEYPROXY_HOST": "0.0.0.0", "KEYPROXY_PORT": "9100"})

    assert (found.host, found.port) == ("0.0.0.0", 9100)


def test_cli_host_and_port_win_over_the_environment() -> None:
    found = settings({"KEYPROXY_HOST": "0.0.0.0", "KEYPROXY_PORT": "9100"}, CliOptions(host="::1", port=9200))

    assert (found.host, found.port) == ("::1", 9200)


@pytest.mark.parametrize("raw", ["http", "80.5", "-1", "65536"])
def test_invalid_keyproxy_port_is_an_error_naming_it(raw: str) -> None:
    assert error_variables({"KEYPROXY_PORT": raw}) == ["KEYPROXY_PORT"]


@pytest.mark.parametrize("port", [-1, 65536])
def test_out_of_range_cli_port_is_an_error_naming_the_option(port: int) -> None:
    assert error_variables({}, CliOptions(port=port)) == ["--port"]


def test_every_invalid_variable_is_reported() -> None:
    values = {
        "GLOBAL_TIMEOUT": "0",
        "TIMEOUT_POOL": "x",
        "KEYPROXY_PORT": "abc",
        "OVERRIDE_TEMPERATURE_ZERO": "maybe",
        "CUSTOM_API_BASE": "not-a-url",
    }

    assert sorted(error_variables(values)) == sorted(values)


def test_invalid_values_fall_back_to_their_defaults() -> None:
    found = build({"GLOBAL_TIMEOUT": "0", "KEYPROXY_PORT": "abc", "ROTATION_TOLERANCE": "-1"}).settings

    assert (found.timeouts.total, found.port, found.rotation_tolerance) == (30.0, 8000, 3.0)


def test_no_secret_appears_in_any_warning_or_error() -> None:
    secrets = ("proxy-secret-0123456789", "sk-proj-abcdefghijklmnop0001", "sk-mystery-abcdefghijkl0002")
    values = {
        "PROXY_API_KEY": secrets[0],
        "OPENAI_API_KEY": secrets[1],
        "OPENAI_API_KEY_1": secrets[1],
        "OPENAI_API_BASE": secrets[2],
        "MYSTERY_API_KEY_1": secrets[2],
        "GLOBAL_TIMEOUT": "-1",
    }

    report = build(values)
    texts = [*report.settings.warnings, *(str(error) for error in report.errors)]

    assert len(texts) == 4
    assert not [text for text in texts for secret in secrets if secret in text]


def test_settings_repr_shows_no_secret() -> None:
    found = settings({"PROXY_API_KEY": "proxy-secret-0123456789", "OPENAI_API_KEY": "sk-proj-abcdefghijklmnop0001"})

    assert "proxy-secret-0123456789" not in repr(found)
    assert "sk-proj-abcdefghijklmnop0001" not in repr(found)


def test_load_settings_returns_the_settings_when_valid(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / ".env", "OPENAI_API_KEY=sk-proj-abcdefghijklmnop0001\n")

    assert list(load_settings(CliOptions(env_file=path), cwd=tmp_path).providers) == ["openai"]


def test_load_settings_raises_with_every_error(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / ".env", "GLOBAL_TIMEOUT=0\nKEYPROXY_PORT=abc\nROTATION_TOLERANCE=-1\n")

    with pytest.raises(InvalidConfiguration) as caught:
        load_settings(CliOptions(env_file=path), cwd=tmp_path)

    assert sorted(error.variable for error in caught.value.errors) == [
        "GLOBAL_TIMEOUT",
        "KEYPROXY_PORT",
        "ROTATION_TOLERANCE",
    ]


def test_invalid_configuration_message_names_every_variable(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / ".env", "GLOBAL_TIMEOUT=0\nKEYPROXY_PORT=abc\n")

    with pytest.raises(InvalidConfiguration) as caught:
        load_settings(CliOptions(env_file=path), cwd=tmp_path)

    assert "GLOBAL_TIMEOUT" in str(caught.value)
    assert "KEYPROXY_PORT" in str(caught.value)


def test_process_environment_wins_over_env_file(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / ".env", "OPENAI_API_KEY=sk-from-the-env-file-0001\n")
    environ.setenv("OPENAI_API_KEY", "sk-from-the-environment-01")

    found = load_settings(CliOptions(env_file=path), cwd=tmp_path)

    assert [credential.secret for credential in found.providers["openai"].credentials] == ["sk-from-the-environment-01"]


def test_env_file_in_cwd_is_read_by_default(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    write(tmp_path / ".env", "GROQ_API_KEY=gsk-abcdefghijklmnop0001\n")

    found = load_settings(CliOptions(), cwd=tmp_path)

    assert ("groq" in found.providers, found.env_file) == (True, tmp_path / ".env")


def test_missing_default_env_file_is_not_an_error(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    report = inspect_config(CliOptions(), cwd=tmp_path)

    assert (report.errors, report.settings.env_file) == ((), None)


def test_relative_env_file_resolves_against_cwd(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    write(tmp_path / "conf" / "proxy.env", "GROQ_API_KEY=gsk-abcdefghijklmnop0001\n")

    found = load_settings(CliOptions(env_file=Path("conf/proxy.env")), cwd=tmp_path)

    assert found.env_file == tmp_path / "conf" / "proxy.env"


def test_missing_env_file_is_an_error_naming_the_option(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    report = inspect_config(CliOptions(env_file=tmp_path / "absent.env"), cwd=tmp_path)

    assert [error.variable for error in report.errors] == ["--env-file"]


def test_malformed_env_file_is_reported_naming_file_and_line(tmp_path: Path, environ: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / ".env", "A=1\nnot an assignment\n")

    report = inspect_config(CliOptions(env_file=path), cwd=tmp_path)

    assert [error.variable for error in report.errors] == [f"{path} line 2"]


def test_old_proxy_env_loads_without_errors(old_env: Path) -> None:
    load_settings(CliOptions(env_file=old_env), cwd=old_env.parent)


def test_old_proxy_env_enables_the_expected_providers(old_env: Path) -> None:
    found = load_settings(CliOptions(env_file=old_env), cwd=old_env.parent)

    assert sorted(found.providers) == ["custom", "gemini", "nvidia_nim", "openai", "openrouter"]


def test_old_proxy_env_proxy_key_is_the_client_key(old_env: Path) -> None:
    found = load_settings(CliOptions(env_file=old_env), cwd=old_env.parent)

    assert found.proxy_api_key == "proxy-key-0123456789abcdef"


def test_old_proxy_env_keeps_gemini_keys_in_order(old_env: Path) -> None:
    gemini = load_settings(CliOptions(env_file=old_env), cwd=old_env.parent).providers["gemini"]

    assert [credential.source for credential in gemini.credentials] == ["GEMINI_API_KEY_1", "GEMINI_API_KEY_2"]


def test_old_proxy_env_nvidia_key_serves_nvidia_nim(old_env: Path) -> None:
    nvidia = load_settings(CliOptions(env_file=old_env), cwd=old_env.parent).providers["nvidia_nim"]

    assert [credential.secret for credential in nvidia.credentials] == ["nvapi-nvidia-key-00000000001"]


def test_old_proxy_env_custom_provider_is_openai_compatible(old_env: Path) -> None:
    custom = load_settings(CliOptions(env_file=old_env), cwd=old_env.parent).providers["custom"]

    assert (custom.base_url, custom.protocol, custom.custom) == ("http://127.0.0.1:8001/v1", "openai", True)


def test_old_proxy_env_empty_model_lists_filter_nothing(old_env: Path) -> None:
    providers = load_settings(CliOptions(env_file=old_env), cwd=old_env.parent).providers

    assert (providers["gemini"].ignore_models, providers["openai"].whitelist_models) == ((), ())


def test_old_proxy_env_max_concurrent_of_one_is_kept(old_env: Path) -> None:
    openai = load_settings(CliOptions(env_file=old_env), cwd=old_env.parent).providers["openai"]

    assert openai.max_concurrent_per_key == 1


def test_old_proxy_env_warns_about_the_empty_key_and_each_pending_family_once(old_env: Path) -> None:
    warnings = load_settings(CliOptions(env_file=old_env), cwd=old_env.parent).warnings

    assert warnings[0] == "BEDROCK_API_KEY_1 is empty; ignored"
    assert [warning.split()[0] for warning in warnings[1:]] == [
        "OAUTH_REFRESH_INTERVAL",
        "SKIP_OAUTH_INIT_CHECK",
    ]


def test_redis_url_is_read_and_checked() -> None:
    good = build_settings({"KEYPROXY_REDIS_URL": "redis://:secret@127.0.0.1:6379/0"}, CliOptions())
    assert good.settings.state.redis_url == "redis://:secret@127.0.0.1:6379/0"
    assert "secret" not in repr(good.settings)
    bad = build_settings({"KEYPROXY_REDIS_URL": "http://nope"}, CliOptions())
    assert [error.variable for error in bad.errors] == ["KEYPROXY_REDIS_URL"]
    assert "nope" not in str(bad.errors[0])


def test_cors_origins_are_read_as_a_list_and_star_means_any() -> None:
    assert settings({"KEYPROXY_CORS_ORIGINS": "https://a.example, http://b.test:3000/"}).cors_origins == (
        "https://a.example", "http://b.test:3000",
    )  # fmt: skip
    assert settings({"KEYPROXY_CORS_ORIGINS": "*"}).cors_origins == ("*",)
    assert settings({}).cors_origins is None


def test_a_cors_origin_that_is_not_an_origin_is_an_error_naming_it() -> None:
    assert error_variables({"KEYPROXY_CORS_ORIGINS": "chat.example.com"}) == ["KEYPROXY_CORS_ORIGINS"]


def test_upstream_answers_are_capped_at_128_mib_and_events_at_16_mib_unless_told_otherwise() -> None:
    assert (settings({}).answer_limits.body_bytes, settings({}).answer_limits.event_bytes) == (128 << 20, 16 << 20)
    limits = settings({"KEYPROXY_MAX_UPSTREAM_BODY_BYTES": "4096", "KEYPROXY_MAX_UPSTREAM_EVENT_BYTES": "2048"})
    assert (limits.answer_limits.body_bytes, limits.answer_limits.event_bytes) == (4096, 2048)


@pytest.mark.parametrize("variable", ["KEYPROXY_MAX_UPSTREAM_BODY_BYTES", "KEYPROXY_MAX_UPSTREAM_EVENT_BYTES"])
@pytest.mark.parametrize("raw", ["100", "lots"])
def test_an_answer_limit_that_is_not_a_size_of_at_least_1024_is_an_error_naming_it(variable: str, raw: str) -> None:
    assert error_variables({variable: raw}) == [variable]


def test_the_access_log_is_text_and_metrics_need_a_key_unless_told_otherwise() -> None:
    assert (settings({}).access_log, settings({}).metrics_public) == ("text", False)
    told = settings({"KEYPROXY_ACCESS_LOG": "json", "KEYPROXY_METRICS_PUBLIC": "true"})
    assert (told.access_log, told.metrics_public) == ("json", True)


def test_an_unknown_access_log_form_is_an_error_naming_it() -> None:
    assert error_variables({"KEYPROXY_ACCESS_LOG": "verbose"}) == ["KEYPROXY_ACCESS_LOG"]


def test_server_limits_default_to_what_security_md_documents() -> None:
    limits = settings({}).server
    assert (limits.max_header_bytes, limits.header_timeout, limits.body_timeout, limits.keep_alive) == (
        64 << 10, 10.0, 30.0, 5.0
    )
    assert (limits.max_connections, limits.body_bytes_in_flight) == (1000, 256 << 20)


@pytest.mark.parametrize(
    ("variable", "raw", "field", "expected"),
    [
        ("KEYPROXY_MAX_HEADER_BYTES", "8192", "max_header_bytes", 8192),
        ("KEYPROXY_HEADER_TIMEOUT", "0.2", "header_timeout", 0.2),
        ("KEYPROXY_BODY_TIMEOUT", "2", "body_timeout", 2.0),
        ("KEYPROXY_MIN_BODY_RATE", "0", "min_body_rate", 0),
        ("KEYPROXY_KEEP_ALIVE_TIMEOUT", "1.5", "keep_alive", 1.5),
        ("KEYPROXY_MAX_CONNECTIONS", "50", "max_connections", 50),
        ("KEYPROXY_MAX_BODY_BYTES_IN_FLIGHT", str(64 << 20), "body_bytes_in_flight", 64 << 20),
    ],
)
def test_server_limit_variable_sets_its_limit(variable: str, raw: str, field: str, expected: object) -> None:
    assert getattr(settings({variable: raw}).server, field) == expected


def test_capture_is_off_by_default_with_64_kib_bodies_7_days_and_512_mib_in_all() -> None:
    capture = settings({}).capture
    assert (capture.mode, capture.max_bytes, capture.retention_days, capture.max_total_bytes) == (
        "off", 64 << 10, 7, 512 << 20,
    )  # fmt: skip


def test_capture_variables_set_their_settings() -> None:
    capture = settings({
        "KEYPROXY_CAPTURE": "Errors", "KEYPROXY_CAPTURE_MAX_BYTES": "100", "KEYPROXY_CAPTURE_RETENTION_DAYS": "2",
        "KEYPROXY_CAPTURE_MAX_TOTAL_BYTES": "4096",
    }).capture  # fmt: skip
    assert (capture.mode, capture.max_bytes, capture.retention_days, capture.max_total_bytes) == (
        "errors", 100, 2, 4096,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "raw"),
    [("KEYPROXY_MAX_HEADER_BYTES", "100"), ("KEYPROXY_HEADER_TIMEOUT", "0"), ("KEYPROXY_MAX_CONNECTIONS", "0")],
)
def test_an_invalid_server_limit_is_an_error_naming_it(variable: str, raw: str) -> None:
    assert error_variables({variable: raw}) == [variable]


def test_bytes_in_flight_below_the_body_limit_is_an_error_naming_it() -> None:
    values = {"KEYPROXY_MAX_BODY_BYTES": str(64 << 20), "KEYPROXY_MAX_BODY_BYTES_IN_FLIGHT": str(32 << 20)}
    assert error_variables(values) == ["KEYPROXY_MAX_BODY_BYTES_IN_FLIGHT"]


def test_a_body_limit_above_the_default_in_flight_raises_the_bytes_in_flight_with_it() -> None:
    assert settings({"KEYPROXY_MAX_BODY_BYTES": str(512 << 20)}).server.body_bytes_in_flight == 512 << 20


@pytest.mark.parametrize(
    ("variable", "raw"),
    [("KEYPROXY_CAPTURE", "some"), ("KEYPROXY_CAPTURE_MAX_BYTES", "-1"), ("KEYPROXY_CAPTURE_RETENTION_DAYS", "0"),
     ("KEYPROXY_CAPTURE_MAX_TOTAL_BYTES", "10")],
)  # fmt: skip
def test_an_invalid_capture_variable_is_an_error_naming_it(variable: str, raw: str) -> None:
    assert error_variables({variable: raw}) == [variable]


def test_stream_retry_on_reasoning_only_is_read_as_the_old_proxy_spelled_it() -> None:
    on = build_settings({"STREAM_RETRY_ON_REASONING_ONLY": "yes"}, CliOptions())
    assert on.settings.engine.stream_retry_reasoning_only
    assert not build_settings({}, CliOptions()).settings.engine.stream_retry_reasoning_only
