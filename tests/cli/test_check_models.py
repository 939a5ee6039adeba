"""`keyproxy check --models` as a user runs it: a real process listing real (fake) upstreams over sockets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import KEYS, Upstream

DEAD = "http://127.0.0.1:9/v1"


def check(tmp_path: Path, env: str, *flags: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / ".env").write_text(env)
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "SYSTEMROOT") if name in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "keyproxy", "check", *flags], cwd=tmp_path, env=keep, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip


def two_providers(base: str) -> str:
    return f"FAKE_API_BASE={base}\nFAKE_API_KEY={KEYS[0]}\nOTHER_API_BASE={base}\nOTHER_API_KEY={KEYS[1]}\n"


def test_check_models_shows_where_a_name_several_providers_list_goes(tmp_path: Path, upstream: Upstream) -> None:
    result = check(tmp_path, two_providers(upstream[1]), "--models")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  fake: 3 model(s)\n  other: 3 model(s)\n" in result.stdout
    assert "fake-chat -> fake/fake-chat  (also listed by other)" in result.stdout
    assert KEYS[0] not in result.stdout + result.stderr


def test_check_models_names_a_provider_it_could_not_list(tmp_path: Path, upstream: Upstream) -> None:
    env = f"FAKE_API_BASE={upstream[1]}\nFAKE_API_KEY={KEYS[0]}\nDEAD_API_BASE={DEAD}\nDEAD_API_KEY={KEYS[1]}\n"
    result = check(tmp_path, env, "--models")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dead: could not be listed" in result.stdout
    assert "no bare model name is listed by more than one provider" in result.stdout


def test_check_models_with_a_default_provider_says_bare_names_go_there(tmp_path: Path, upstream: Upstream) -> None:
    result = check(tmp_path, two_providers(upstream[1]) + "KEYPROXY_DEFAULT_PROVIDER=other\n", "--models")
    assert "default provider: other" in result.stdout
    assert "bare model names go to other (KEYPROXY_DEFAULT_PROVIDER)" in result.stdout


def test_check_without_models_reads_no_model_list(tmp_path: Path, upstream: Upstream) -> None:
    result = check(tmp_path, two_providers(upstream[1]))
    assert result.returncode == 0
    assert "models:" not in result.stdout
    assert upstream[0].requests == []
