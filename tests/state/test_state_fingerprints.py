"""The deployment's fingerprint secret: kept owner-only in the data dir, or agreed on through Redis."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
import redis

from keyproxy.config.settings import StateSettings
from keyproxy.errors import ConfigError
from keyproxy.state.fingerprint_secret import FILE_NAME, file_secret, read_secret
from keyproxy.state.fingerprints import deployment_fingerprints
from keyproxy.state.redis_keys import RedisKeys
from support import REDIS_URL, needs_redis

KEY = "sk-some-key-000000000000000000001"
SQLITE, MEMORY = StateSettings(), StateSettings(backend="memory")
SHARED = StateSettings(redis_url=REDIS_URL)


def test_the_secret_is_made_owner_only_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        file_secret(tmp_path / FILE_NAME)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == [FILE_NAME]


def test_a_restart_reads_the_same_secret_and_so_the_same_ids(tmp_path: Path) -> None:
    first = deployment_fingerprints(SQLITE, tmp_path)
    assert deployment_fingerprints(SQLITE, tmp_path)(KEY) == first(KEY)
    assert read_secret(tmp_path / FILE_NAME) == first.secret


def test_deleting_the_secret_gives_every_key_a_new_id(tmp_path: Path) -> None:
    first = deployment_fingerprints(SQLITE, tmp_path)
    (tmp_path / FILE_NAME).unlink()
    assert deployment_fingerprints(SQLITE, tmp_path)(KEY) != first(KEY)


def test_a_secret_made_meanwhile_by_another_process_wins(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("ab" * 32 + "\n")
    assert file_secret(tmp_path / FILE_NAME) == bytes.fromhex("ab" * 32)


def test_a_file_that_is_not_a_secret_is_a_config_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("not hex at all\n")
    with pytest.raises(ConfigError, match=FILE_NAME):
        deployment_fingerprints(SQLITE, tmp_path)


def test_a_data_dir_that_cannot_hold_the_secret_gives_ids_of_the_process_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "data").write_text("a file where the data dir should be")
    with caplog.at_level(logging.ERROR, "keyproxy.state"):
        first, second = (deployment_fingerprints(SQLITE, tmp_path / "data") for _ in range(2))
    assert first(KEY) != second(KEY)
    assert "cannot keep the fingerprint secret" in caplog.text


def test_state_in_memory_has_ids_of_its_own_and_writes_no_file(tmp_path: Path) -> None:
    assert deployment_fingerprints(MEMORY, tmp_path)(KEY) != deployment_fingerprints(MEMORY, tmp_path)(KEY)
    assert list(tmp_path.iterdir()) == []


@needs_redis
def test_instances_sharing_redis_compute_the_same_ids(tmp_path: Path, redis_prefix: str) -> None:
    first = deployment_fingerprints(SHARED, tmp_path / "one", RedisKeys(redis_prefix))
    second = deployment_fingerprints(SHARED, tmp_path / "two", RedisKeys(redis_prefix))
    assert first(KEY) == second(KEY)
    # The first instance's own secret became the shared one; the second keeps a copy of it.
    assert read_secret(tmp_path / "one" / FILE_NAME) == read_secret(tmp_path / "two" / FILE_NAME) == first.secret
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    assert client.get(RedisKeys(redis_prefix).fingerprint_secret()) == first.secret.hex()
    client.close()


@needs_redis
def test_a_start_while_redis_is_down_uses_the_copy_kept_in_the_data_dir(
    tmp_path: Path, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    shared = deployment_fingerprints(SHARED, tmp_path, RedisKeys(redis_prefix))
    down = StateSettings(redis_url="redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, "keyproxy.state"):
        assert deployment_fingerprints(down, tmp_path, RedisKeys(redis_prefix))(KEY) == shared(KEY)
    assert "Redis unreachable" in caplog.text


@needs_redis
def test_an_instance_joining_redis_takes_the_shared_secret_and_keeps_it(tmp_path: Path, redis_prefix: str) -> None:
    shared = deployment_fingerprints(SHARED, tmp_path / "first", RedisKeys(redis_prefix))
    alone = deployment_fingerprints(SQLITE, tmp_path / "joining")
    joined = deployment_fingerprints(SHARED, tmp_path / "joining", RedisKeys(redis_prefix))
    assert joined(KEY) == shared(KEY) != alone(KEY)
    assert read_secret(tmp_path / "joining" / FILE_NAME) == shared.secret


def test_a_file_system_without_hard_links_still_gets_an_owner_only_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    made = file_secret(tmp_path / FILE_NAME)
    assert read_secret(tmp_path / FILE_NAME) == made
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == [FILE_NAME]
