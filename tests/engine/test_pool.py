"""A pool's keys: which ones a model may be sent to."""

from __future__ import annotations

from dataclasses import replace

from keyproxy.engine import pool as pool_module
from keyproxy.engine.pool import Pool
from support import IDS, openai_provider

KEYS = ("sk-one-000000000000000001", "sk-two-000000000000000002", "sk-three-0000000000000003")


def pool_with(*models: tuple[str, ...] | None) -> Pool:
    provider = openai_provider("p", KEYS)
    credentials = tuple(
        replace(credential, models=declared) for credential, declared in zip(provider.credentials, models, strict=True)
    )
    return Pool.build(replace(provider, credentials=credentials), 0, fingerprints=IDS)


def test_a_key_that_declares_models_is_left_out_of_every_other_model() -> None:
    pool = pool_with(("gpt-4o-mini",), ("gpt-4o*", "o3"), None)
    assert pool.left_out("gpt-4o-mini") == frozenset()
    assert pool.left_out("gpt-4o") == {IDS(KEYS[0])}
    assert pool.left_out("o3") == {IDS(KEYS[0])}
    assert pool.left_out("o1") == {IDS(KEYS[0]), IDS(KEYS[1])}


def test_a_glob_matches_case_as_written() -> None:
    assert pool_with(("gpt-4o*",), None, None).left_out("GPT-4o") == {IDS(KEYS[0])}


def test_without_declarations_no_key_is_left_out() -> None:
    assert pool_with(None, None, None).left_out("anything") == frozenset()


def test_the_answers_remembered_stay_bounded_and_right_past_the_bound() -> None:
    pool = pool_with(("only-this",), None, None)
    for n in range(pool_module._REMEMBERED_MODELS + 5):
        assert pool.left_out(f"invented-{n}") == {IDS(KEYS[0])}
    assert pool.left_out("only-this") == frozenset()
    assert len(pool._left_out) <= pool_module._REMEMBERED_MODELS
