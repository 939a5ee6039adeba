"""Outbound proxies from variables: per key, per provider, for every upstream, and the standard ones."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from keyproxy.config import CliOptions, ProviderSettings, build_settings

KEY_A = "sk-aaaaaaaaaaaaaaaaaaaa0001"
KEY_B = "sk-bbbbbbbbbbbbbbbbbbbb0002"
SQUID = "http://squid.corp:3128"


def openai(values: Mapping[str, str]) -> ProviderSettings:
    report = build_settings({"OPENAI_API_KEY_1": KEY_A, "OPENAI_API_KEY_2": KEY_B, **values}, CliOptions())
    assert report.errors == ()
    return report.settings.providers["openai"]


def proxies(values: Mapping[str, str]) -> list[str | None]:
    return [credential.proxy for credential in openai(values).credentials]


def test_no_proxy_is_used_unless_one_is_configured() -> None:
    assert proxies({}) == [None, None]


def test_https_proxy_is_used_for_an_https_upstream_and_http_proxy_is_not() -> None:
    assert proxies({"HTTPS_PROXY": SQUID, "HTTP_PROXY": "http://other:1"}) == [SQUID, SQUID]


def test_the_lowercase_spelling_wins_and_all_proxy_is_the_fallback() -> None:
    assert proxies({"https_proxy": SQUID, "HTTPS_PROXY": "http://upper:1"}) == [SQUID, SQUID]
    assert proxies({"ALL_PROXY": SQUID}) == [SQUID, SQUID]


@pytest.mark.parametrize("bypass", ["api.openai.com", ".openai.com", "openai.com", "*", "x.org, openai.com:443"])
def test_no_proxy_names_hosts_that_are_reached_directly(bypass: str) -> None:
    assert proxies({"HTTPS_PROXY": SQUID, "NO_PROXY": bypass}) == [None, None]


@pytest.mark.parametrize("bypass", ["penai.com", "openai.com:8443", "10.0.0.0/8"])
def test_no_proxy_entries_that_do_not_match_leave_the_proxy_on(bypass: str) -> None:
    assert proxies({"HTTPS_PROXY": SQUID, "NO_PROXY": bypass}) == [SQUID, SQUID]


def test_no_proxy_takes_networks_for_an_address_upstream() -> None:
    values = {"OPENAI_API_BASE": "http://10.1.2.3:8000/v1", "HTTP_PROXY": SQUID, "NO_PROXY": "10.0.0.0/8"}
    assert proxies(values) == [None, None]


def test_a_loopback_upstream_never_goes_through_the_environments_proxy() -> None:
    values = {"OPENAI_API_BASE": "http://127.0.0.1:8000/v1", "HTTP_PROXY": SQUID}
    assert proxies(values) == [None, None]
    assert proxies({**values, "KEYPROXY_PROXY_URL": SQUID}) == [SQUID, SQUID]


def test_the_most_specific_setting_wins() -> None:
    values = {
        "HTTPS_PROXY": "http://env:1",
        "KEYPROXY_PROXY_URL": "http://all:2",
        "OPENAI_PROXY": "http://provider:3",
        "OPENAI_API_KEY_2_PROXY": "socks5://key:4",
    }
    assert proxies(values) == ["http://provider:3", "socks5://key:4"]
    assert proxies({k: v for k, v in values.items() if k != "OPENAI_PROXY"}) == ["http://all:2", "socks5://key:4"]


def test_direct_turns_a_proxy_off_for_one_key() -> None:
    assert proxies({"OPENAI_PROXY": SQUID, "OPENAI_API_KEY_1_PROXY": "direct"}) == [None, SQUID]


def test_a_proxy_variable_is_never_read_as_a_key() -> None:
    assert len(openai({"OPENAI_API_KEY_1_PROXY": SQUID}).credentials) == 2


def test_a_proxy_without_a_scheme_is_an_http_proxy() -> None:
    assert proxies({"OPENAI_PROXY": "squid.corp:3128"}) == [SQUID, SQUID]


@pytest.mark.parametrize("value", ["ftp://squid:21", "http://", "http://user:s3cret@"])
def test_a_malformed_proxy_is_an_error_that_does_not_echo_it(value: str) -> None:
    report = build_settings({"OPENAI_API_KEY": KEY_A, "OPENAI_PROXY": value}, CliOptions())
    assert [error.variable for error in report.errors] == ["OPENAI_PROXY"]
    assert "s3cret" not in str(report.errors[0])


def test_a_proxys_credentials_are_secrets_never_shown() -> None:
    settings = openai({"OPENAI_PROXY": "http://alice:s3cret-pw@squid.corp:3128"})
    assert {"alice", "s3cret-pw"} <= set(settings.secrets())
    assert "s3cret-pw" not in repr(settings)


@pytest.mark.parametrize("scheme", ["socks4", "socks4a", "socks5", "socks5h", "https"])
def test_every_proxy_scheme_the_client_speaks_is_accepted_with_nothing_more_installed(scheme: str) -> None:
    assert proxies({"OPENAI_PROXY": f"{scheme}://proxy.corp:1080"}) == [f"{scheme}://proxy.corp:1080"] * 2


@pytest.mark.parametrize("value", ["http://[squid.corp:3128", "http://squid.corp:99999", "squid.corp:port"])
def test_a_proxy_url_that_cannot_be_parsed_is_an_error_not_a_crash(value: str) -> None:
    report = build_settings({"OPENAI_API_KEY": KEY_A, "OPENAI_PROXY": value}, CliOptions())
    assert [error.variable for error in report.errors] == ["OPENAI_PROXY"]


def test_an_invalid_environment_proxy_is_named_in_the_spelling_that_was_set() -> None:
    report = build_settings({"OPENAI_API_KEY": KEY_A, "all_proxy": "ftp://squid.corp:21"}, CliOptions())
    assert [error.variable for error in report.errors] == ["all_proxy"]
