"""model_allowed: IGNORE_MODELS_<P> with `*` wildcards, WHITELIST_MODELS_<P> winning over it."""

from __future__ import annotations

from keyproxy.config.filters import model_allowed


def test_every_model_is_allowed_without_an_ignore_list() -> None:
    assert model_allowed("gpt-4o", (), ())


def test_whitelist_alone_does_not_restrict() -> None:
    assert model_allowed("gpt-4o", (), ("gpt-4o-mini",))


def test_exactly_ignored_model_is_refused() -> None:
    assert not model_allowed("gpt-4-turbo", ("gpt-4-turbo", "gpt-3.5-turbo-instruct"), ())


def test_ignore_list_does_not_match_a_longer_name() -> None:
    assert model_allowed("gpt-4-turbo-preview", ("gpt-4-turbo",), ())


def test_wildcard_ignores_every_matching_model() -> None:
    assert not model_allowed("gemini-2.0-flash-preview-01", ("*-preview*",), ())


def test_wildcard_leaves_non_matching_model_allowed() -> None:
    assert model_allowed("gemini-2.0-flash", ("*-preview*",), ())


def test_whitelisted_model_is_allowed_despite_the_ignore_list() -> None:
    assert model_allowed("gemini-exp-preview", ("*-preview*",), ("gemini-exp-preview",))


def test_pure_whitelist_allows_only_whitelisted_models() -> None:
    ignore, whitelist = ("*",), ("gemini-1.5-pro-*", "gemini-1.5-flash-latest")

    assert model_allowed("gemini-1.5-pro-002", ignore, whitelist)
    assert model_allowed("gemini-1.5-flash-latest", ignore, whitelist)
    assert not model_allowed("gemini-1.0-pro", ignore, whitelist)
