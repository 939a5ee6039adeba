from __future__ import annotations

import msgspec

from keyproxy.translate.rewrite import with_model


def rewrite(raw: bytes, old: str, new: str) -> bytes:
    return with_model(raw, old, new)


def test_only_the_model_value_changes_and_every_other_byte_is_kept() -> None:
    raw = b'{"model" : "openai/gpt-4o",  "temperature": 1.0, "x": [1e3]}'
    assert rewrite(raw, "openai/gpt-4o", "gpt-4o") == b'{"model":"gpt-4o",  "temperature": 1.0, "x": [1e3]}'


def test_a_nested_model_key_with_the_same_value_forces_a_safe_reserialisation() -> None:
    raw = b'{"model": "p/m", "metadata": {"model": "p/m"}}'
    assert msgspec.json.decode(rewrite(raw, "p/m", "m")) == {"model": "m", "metadata": {"model": "p/m"}}


def test_an_escaped_spelling_is_still_rewritten() -> None:
    raw = b'{"model": "p\\/m", "messages": []}'
    assert msgspec.json.decode(rewrite(raw, "p/m", "m")) == {"model": "m", "messages": []}


def test_the_model_inside_message_text_is_left_alone() -> None:
    raw = b'{"messages": [{"content": "say \\"model\\": \\"p/m\\""}], "model": "p/m"}'
    result = rewrite(raw, "p/m", "m")
    assert msgspec.json.decode(result)["messages"][0]["content"] == 'say "model": "p/m"'
    assert msgspec.json.decode(result)["model"] == "m"


def test_a_nested_plain_copy_beside_an_escaped_top_level_model_is_not_mistaken_for_it() -> None:
    raw = b'{"metadata": {"model": "p/m"}, "model": "p\\/m"}'
    assert msgspec.json.decode(rewrite(raw, "p/m", "m")) == {"metadata": {"model": "p/m"}, "model": "m"}
