"""POST /v1/admin/reload: .env and the config file read again; what can change applied, the rest named."""

from __future__ import annotations

import functools
from pathlib import Path

from keyproxy.config import CliOptions, load_settings
from keyproxy.testing import AppClient, ASGITransport, FakeUpstream
from keyproxy.wiring import build_app
from support import KEYS, MEMORY_BASE, KeyId, OpenProxy, provider_env

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
NEW = "sk-reloaded-key-0000000000000000077"


class Files:
    """A .env and a config file in `folder`, and a proxy started from them."""

    def __init__(self, folder: Path, upstream: FakeUpstream) -> None:
        self.env = folder / ".env"
        self.config = folder / "keyproxy.yaml"
        self.upstream = upstream
        self.write(provider_env(MEMORY_BASE))
        self.config.write_text("aliases: {}\n")
        self.options = CliOptions(env_file=self.env, config_file=self.config, data_dir=folder / "data")

    def write(self, values: dict[str, str]) -> None:
        self.env.write_text("".join(f"{name}={value}\n" for name, value in values.items()))

    def start(self) -> AppClient:
        load = functools.partial(load_settings, self.options)
        return AppClient(build_app(load(), transport=ASGITransport(self.upstream), load=load))


def ids(proxy: AppClient) -> list[str]:
    return [key["id"] for key in proxy.get("/v1/status").json()["providers"]["fake"]["keys"]]


def test_a_key_added_to_the_env_file_is_used_after_a_reload(
    tmp_path: Path, fake_upstream: FakeUpstream, key_id: KeyId
) -> None:
    files = Files(tmp_path, fake_upstream)
    with files.start() as proxy:
        files.write(provider_env(MEMORY_BASE, (*KEYS, NEW)))
        answer = proxy.post("/v1/admin/reload")
        assert answer.json() == {"applied": ["provider fake"], "needs_restart": []}
        assert ids(proxy)[-1] == key_id(NEW)


def test_a_key_taken_out_of_the_env_file_is_gone_after_a_reload(
    tmp_path: Path, fake_upstream: FakeUpstream, key_id: KeyId
) -> None:
    files = Files(tmp_path, fake_upstream)
    with files.start() as proxy:
        files.write(provider_env(MEMORY_BASE, KEYS[1:]))
        proxy.post("/v1/admin/reload")
        proxy.post("/v1/chat/completions", json=CHAT)
        assert ids(proxy) == [key_id(key) for key in KEYS[1:]]
        assert fake_upstream.requests[-1].key == KEYS[1]


def test_an_alias_added_to_the_config_file_resolves_after_a_reload(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    files = Files(tmp_path, fake_upstream)
    with files.start() as proxy:
        files.config.write_text("aliases:\n  smart:\n    targets: [fake/fake-chat]\n")
        assert proxy.post("/v1/admin/reload").json()["applied"] == ["aliases"]
        assert proxy.post("/v1/chat/completions", json={**CHAT, "model": "smart"}).status_code == 200


def test_what_needs_a_restart_is_named_and_left_alone(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    files = Files(tmp_path, fake_upstream)
    with files.start() as proxy:
        files.write({**provider_env(MEMORY_BASE), "KEYPROXY_PORT": "9999", "OTHER_API_BASE": MEMORY_BASE,
                     "OTHER_API_KEY": NEW})  # fmt: skip
        answer = proxy.post("/v1/admin/reload").json()
        assert answer == {"applied": [], "needs_restart": ["port", "provider other (added)"]}
        assert list(proxy.get("/v1/status").json()["providers"]) == ["fake"]


def test_a_bad_file_changes_nothing_and_says_why(tmp_path: Path, fake_upstream: FakeUpstream, key_id: KeyId) -> None:
    files = Files(tmp_path, fake_upstream)
    with files.start() as proxy:
        files.write({**provider_env(MEMORY_BASE, KEYS[:1]), "KEYPROXY_PORT": "not-a-port"})
        answer = proxy.post("/v1/admin/reload")
        assert answer.status_code == 400
        assert "KEYPROXY_PORT" in answer.json()["error"]["message"]
        assert "nothing changed" in answer.json()["error"]["message"]
        assert ids(proxy) == [key_id(key) for key in KEYS]


def test_a_proxy_built_without_files_has_nothing_to_reload(open_proxy: OpenProxy) -> None:
    assert open_proxy().post("/v1/admin/reload").status_code == 400


def test_a_reload_keeps_keys_added_at_run_time(tmp_path: Path, fake_upstream: FakeUpstream, key_id: KeyId) -> None:
    files = Files(tmp_path, fake_upstream)
    with files.start() as proxy:
        proxy.post("/v1/admin/keys", json={"provider": "fake", "key": NEW})
        files.write(provider_env(MEMORY_BASE, KEYS[:1]))
        proxy.post("/v1/admin/reload")
        assert ids(proxy) == [key_id(KEYS[0]), key_id(NEW)]
