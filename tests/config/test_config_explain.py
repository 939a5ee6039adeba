"""`keyproxy check --explain` data: every setting read, its value and its source, secrets masked, and what
becomes of each old proxy variable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from keyproxy.config import CliOptions, build_settings, parse_config
from keyproxy.config.explain import Explanation
from keyproxy.config.sources import DOTENV, ENVIRONMENT

KEY = "sk-aaaaaaaaaaaaaaaaaaaa0001"


def explained(
    values: Mapping[str, str], origins: Mapping[str, str] | None = None, *, options: CliOptions | None = None,
    config: str | None = None,
) -> Explanation:  # fmt: skip
    report = build_settings(
        values, options or CliOptions(), config=parse_config(config, "keyproxy.yaml") if config else None,
        origins=origins, env_path=Path("/srv/.env"),
    )  # fmt: skip
    assert report.explanation is not None
    return report.explanation


def entry(explanation: Explanation, name: str) -> tuple[str, str]:
    [found] = [(e.value, e.source) for e in explanation.settings if e.name == name]
    return found


def test_each_setting_says_whether_it_came_from_the_environment_dotenv_the_config_file_or_the_default() -> None:
    values = {"GLOBAL_TIMEOUT": "45", "TIMEOUT_CONNECT": "5"}
    origins = {"GLOBAL_TIMEOUT": ENVIRONMENT, "TIMEOUT_CONNECT": DOTENV}
    explanation = explained(values, origins, config="variables:\n  TIMEOUT_POOL: 7\n")
    assert entry(explanation, "GLOBAL_TIMEOUT") == ("45", "environment")
    assert entry(explanation, "TIMEOUT_CONNECT") == ("5", ".env /srv/.env")
    assert entry(explanation, "TIMEOUT_POOL") == ("7", "config file (keyproxy.yaml)")
    assert entry(explanation, "TIMEOUT_READ_STREAMING") == ("180", "default")


def test_a_flag_is_named_as_the_source_of_the_variable_it_stands_for() -> None:
    explanation = explained({"KEYPROXY_PORT": "8100"}, options=CliOptions(port=9000))
    assert entry(explanation, "KEYPROXY_PORT") == ("9000", "flag --port")


def test_an_invalid_value_shows_the_default_it_fell_back_to() -> None:
    explanation = explained({"GLOBAL_TIMEOUT": "soon"}, {"GLOBAL_TIMEOUT": DOTENV})
    assert entry(explanation, "GLOBAL_TIMEOUT") == ("30", ".env /srv/.env; invalid, so the default")


def test_keys_and_passwords_are_masked() -> None:
    values = {
        "OPENAI_API_KEY_1": KEY,
        "PROXY_API_KEY": "proxy-secret-0123456789",
        "OPENAI_PROXY": "http://u:pw-9876@sq:3128",
    }
    explanation = explained(values)
    shown = "\n".join(f"{e.name}={e.value}" for e in explanation.settings)
    assert "OPENAI_API_KEY_1=...0001" in shown and "OPENAI_PROXY=http://sq:3128" in shown
    assert KEY not in shown and "proxy-secret" not in shown and "pw-9876" not in shown


def test_each_old_proxy_variable_is_applied_mapped_or_not_applied_with_why() -> None:
    values = {"NVIDIA_API_KEY": KEY, "TRANSIENT_RETRY_DELAY": "2", "MONTHLY_BUDGET_GEMINI": "9", "GLOBAL_TIMEOUT": "9"}
    verdicts = dict(explained(values).old_proxy)
    assert verdicts["GLOBAL_TIMEOUT"] == "applied"
    assert verdicts["NVIDIA_API_KEY"].startswith("mapped to provider nvidia_nim")
    assert verdicts["TRANSIENT_RETRY_DELAY"].startswith("mapped to KEYPROXY_TRANSIENT_RETRY_DELAY")
    assert "MONTHLY_BUDGET_*/RPD_* are not applied" in verdicts["MONTHLY_BUDGET_GEMINI"]


def test_fair_cycle_and_cap_variables_are_applied_with_the_values_they_took() -> None:
    values = {
        "GROQ_API_KEY": KEY, "FAIR_CYCLE_GROQ": "yes", "FAIR_CYCLE_DURATION_GROQ": "3600",
        "EXHAUSTION_COOLDOWN_THRESHOLD": "120", "CUSTOM_CAP_GROQ_T2_LLAMA_3": "80%",
        "CUSTOM_CAP_COOLDOWN_GROQ_T2_LLAMA_3": "fixed:600",
    }  # fmt: skip
    verdicts = dict(explained(values).old_proxy)
    assert verdicts["FAIR_CYCLE_GROQ"] == "applied: true"
    assert verdicts["FAIR_CYCLE_DURATION_GROQ"] == "applied: 3600"
    assert verdicts["EXHAUSTION_COOLDOWN_THRESHOLD"] == "applied: 120"
    assert verdicts["CUSTOM_CAP_GROQ_T2_LLAMA_3"].startswith("applied: tier 2, llama-3: at most 80% of the window")
    assert verdicts["CUSTOM_CAP_COOLDOWN_GROQ_T2_LLAMA_3"] == "applied: skipped for 600 s, then counted afresh"


def test_an_invalid_or_unclaimed_cap_is_named_as_not_applied() -> None:
    values = {"GROQ_API_KEY": KEY, "CUSTOM_CAP_GROQ_TX_LLAMA": "5", "CUSTOM_CAP_NOPE_T1_M": "5"}
    verdicts = dict(explained(values).old_proxy)
    assert verdicts["CUSTOM_CAP_GROQ_TX_LLAMA"] == "not applied: invalid (its error says why)"
    assert verdicts["CUSTOM_CAP_NOPE_T1_M"].startswith("not applied: it names no configured provider")


def test_a_dotenv_variable_nothing_read_is_named_but_the_environments_are_not() -> None:
    values = {"KEYPROXY_PORTT": "1", "HOME": "/root", "FAIR_CYCLE_GEMINI": "true", "OPENAI_API_BASE": ""}
    origins = {"KEYPROXY_PORTT": DOTENV, "HOME": ENVIRONMENT, "FAIR_CYCLE_GEMINI": DOTENV, "OPENAI_API_BASE": DOTENV}
    assert explained(values, origins).unread == ("KEYPROXY_PORTT",)


def test_the_standard_proxy_variables_are_settings_with_their_value_and_source_either_case() -> None:
    values = {
        "OPENAI_API_KEY": KEY, "https_proxy": "http://alice:pw-5555@squid:3128", "HTTPS_PROXY": "http://other:1",
        "NO_PROXY": "localhost,.corp",
    }  # fmt: skip
    explanation = explained(values, {"https_proxy": DOTENV, "HTTPS_PROXY": ENVIRONMENT, "NO_PROXY": DOTENV})
    assert entry(explanation, "https_proxy") == ("http://squid:3128", ".env /srv/.env")
    assert entry(explanation, "HTTPS_PROXY") == ("not used: https_proxy is set and wins", "environment")
    assert entry(explanation, "NO_PROXY") == ("localhost,.corp", ".env /srv/.env")
    assert entry(explanation, "HTTP_PROXY") == ("not set", "default")
    assert entry(explanation, "ALL_PROXY") == ("not set", "default")
    assert entry(explanation, "KEYPROXY_PROXY_URL") == ("not set", "default")
    assert explanation.unread == ()


def test_a_providers_proxy_says_which_setting_it_takes_when_unset() -> None:
    via_environment = explained({"OPENAI_API_KEY": KEY, "ALL_PROXY": "socks5://sq:1080"})
    assert entry(via_environment, "OPENAI_PROXY") == ("not set: ALL_PROXY applies", "default")
    via_keyproxy = explained({"OPENAI_API_KEY": KEY, "KEYPROXY_PROXY_URL": "sq:3128", "HTTPS_PROXY": "http://o:1"})
    assert entry(via_keyproxy, "OPENAI_PROXY") == ("not set: KEYPROXY_PROXY_URL applies", "default")
    assert entry(via_keyproxy, "KEYPROXY_PROXY_URL") == ("http://sq:3128", "environment")
    local = explained({"OPENAI_API_KEY": KEY, "OPENAI_API_BASE": "http://127.0.0.1:9/v1", "HTTP_PROXY": "http://o:1"})
    assert entry(local, "OPENAI_PROXY") == ("not set: direct", "default")


def test_a_proxy_given_without_its_scheme_is_shown_as_its_url_without_the_password() -> None:
    values = {"OPENAI_API_KEY_1": KEY, "OPENAI_PROXY": "bob:pw2@sq:3128", "OPENAI_API_KEY_1_PROXY": "direct"}
    explanation = explained(values)
    assert entry(explanation, "OPENAI_PROXY") == ("http://sq:3128", "environment")
    assert entry(explanation, "OPENAI_API_KEY_1_PROXY") == ("direct", "environment")


def test_an_invalid_proxy_is_shown_as_nothing_of_itself() -> None:
    explanation = explained({"OPENAI_API_KEY": KEY, "OPENAI_PROXY": "http://bob:pw-4321@[sq:3128"})
    value, source = entry(explanation, "OPENAI_PROXY")
    assert "pw-4321" not in value and source == "environment; invalid, so the default"
