"""The runtime keys file: what it holds, its mode, and a file that cannot be read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import msgspec
import pytest

from keyproxy.config.runtime_keys import ProviderChanges, key_problem, read_key_changes, write_key_changes
from keyproxy.errors import ConfigError
from keyproxy.redact import unkeyed_fingerprint
from support import IDS

KEY = "sk-runtime-added-key-000000000000042"


def test_changes_written_are_read_back(tmp_path: Path) -> None:
    changes = {"p": ProviderChanges((KEY,), frozenset({"aaaaaaaaaaaa"}), frozenset({"bbbbbbbbbbbb"}))}
    write_key_changes(tmp_path / "keys.json", changes)
    assert read_key_changes(tmp_path / "keys.json", IDS, {}) == (changes, False)


def test_the_file_is_created_owner_only_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_key_changes(tmp_path / "keys.json", {"p": ProviderChanges((KEY,))})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600


def test_a_rewrite_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_key_changes(tmp_path / "keys.json", {"p": ProviderChanges((KEY,))})
    write_key_changes(tmp_path / "keys.json", {})
    assert [path.name for path in tmp_path.iterdir()] == ["keys.json"]


def test_no_file_is_no_changes(tmp_path: Path) -> None:
    assert read_key_changes(tmp_path / "missing.json", IDS, {}) == ({}, False)


def test_a_file_that_is_not_ours_is_a_config_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text('{"providers": "yes"}')
    with pytest.raises(ConfigError, match=r"keys\.json"):
        read_key_changes(tmp_path / "keys.json", IDS, {})


def test_a_saved_key_no_header_can_carry_is_a_config_error_without_the_key(tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text('{"version": 1, "providers": {"p": {"added": ["sk-a b-secret"]}}}')
    with pytest.raises(ConfigError) as raised:
        read_key_changes(tmp_path / "keys.json", IDS, {})
    assert "sk-a" not in str(raised.value)


def test_a_key_with_a_control_character_has_a_problem() -> None:
    assert key_problem("sk-abc\x00def") is not None
    assert key_problem(KEY) is None


def test_a_version_1_file_has_its_marks_moved_to_the_deployments_fingerprints(tmp_path: Path) -> None:
    env = ("sk-env-key-00000000000000000001", "sk-env-key-00000000000000000002")
    marks = {"added": [KEY], "disabled": [unkeyed_fingerprint(env[0]), unkeyed_fingerprint(KEY)],
             "removed": [unkeyed_fingerprint(env[1]), "cccccccccccc"]}  # fmt: skip
    path = tmp_path / "keys.json"
    path.write_bytes(msgspec.json.encode({"version": 1, "providers": {"p": marks}}))
    changes, outdated = read_key_changes(path, IDS, {"p": env})
    assert outdated
    assert changes == {"p": ProviderChanges((KEY,), frozenset({IDS(env[0]), IDS(KEY)}), frozenset({IDS(env[1])}))}


def test_a_file_written_now_is_not_moved_again(tmp_path: Path) -> None:
    changes = {"p": ProviderChanges((KEY,), frozenset({IDS(KEY)}))}
    write_key_changes(tmp_path / "keys.json", changes)
    assert read_key_changes(tmp_path / "keys.json", IDS, {}) == (changes, False)
