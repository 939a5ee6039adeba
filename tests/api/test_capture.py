"""Request capture through the app in memory: what each mode keeps, what an exchange holds, and that no key
reaches the capture files in any encoding."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from keyproxy.capture import find_record, last_records
from keyproxy.testing import AppClient, ASGITransport, FakeUpstream, Fault, FaultKind
from keyproxy.wiring import build_app
from support import KEYS, MEMORY_BASE, provider_env, proxy_settings

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}


def capturing(
    tmp_path: Path,
    upstream: FakeUpstream,
    mode: str,
    extra: Mapping[str, str] | None = None,
    keys: tuple[str, ...] = KEYS,
) -> AppClient:
    values = {**provider_env(MEMORY_BASE, keys), "KEYPROXY_STATE": "memory", "KEYPROXY_CAPTURE": mode, **(extra or {})}
    return AppClient(build_app(proxy_settings(values, tmp_path / "data"), transport=ASGITransport(upstream)))


def captures(tmp_path: Path) -> list[dict[str, Any]]:
    return last_records(tmp_path / "data" / "captures", 100)


def test_with_capture_all_an_exchange_is_written_under_the_id_its_answer_names(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    with capturing(tmp_path, fake_upstream, "all") as proxy:
        answer = proxy.post("/v1/chat/completions", json=CHAT)
    record = find_record(tmp_path / "data" / "captures", answer.headers["x-keyproxy-capture-id"])
    assert record is not None
    assert json.loads(record["request"]["body"]["text"]) == CHAT
    assert json.loads(record["upstream"][0]["body"]["text"])["model"] == "fake-chat"
    assert json.loads(record["upstream"][0]["response"]["text"])["choices"][0]["message"]["content"] == "Echo: hi"
    assert [attempt["status"] for attempt in record["attempts"]] == [200]
    assert (record["response"]["status"], record["response"]["body"]["text"]) == (200, answer.text)
    assert record["failed"] is False


def test_what_was_sent_upstream_is_the_request_after_translation(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    message = {"model": "fake/fake-chat", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    with capturing(tmp_path, fake_upstream, "all") as proxy:
        proxy.post("/v1/messages", json=message)
    (record,) = captures(tmp_path)
    assert record["request"]["path"] == "/v1/messages"
    sent = record["upstream"][0]
    assert sent["url"] == MEMORY_BASE + "/chat/completions"
    assert json.loads(sent["body"]["text"])["messages"] == [{"role": "user", "content": "hi"}]
    assert json.loads(record["response"]["body"]["text"])["type"] == "message"


def test_a_stream_is_captured_chunk_by_chunk_as_relayed(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    with capturing(tmp_path, fake_upstream, "all") as proxy:
        answer = proxy.post("/v1/chat/completions", json={**CHAT, "stream": True})
    (record,) = captures(tmp_path)
    chunks = record["response"]["body"]["chunks"]
    assert len(chunks) > 1 and "".join(chunks) == answer.text and record["response"]["complete"]
    assert "".join(record["upstream"][0]["response"]["chunks"]).endswith("data: [DONE]\n\n")


def test_with_capture_errors_only_failed_exchanges_are_written(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    with capturing(tmp_path, fake_upstream, "errors") as proxy:
        fake_upstream.set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=30, times=1))
        retried = proxy.post("/v1/chat/completions", json=CHAT)
        fine = proxy.post("/v1/chat/completions", json=CHAT)
        missing = proxy.get("/v1/nothing-here")
    assert (fine.status_code, retried.status_code, missing.status_code) == (200, 200, 404)
    written = {record["id"]: record for record in captures(tmp_path)}
    assert set(written) == {retried.headers["x-keyproxy-capture-id"], missing.headers["x-keyproxy-capture-id"]}
    attempts = written[retried.headers["x-keyproxy-capture-id"]]["attempts"]
    assert [attempt["error_class"] for attempt in attempts] == ["rate_limited", None]


def test_with_capture_off_nothing_is_written_and_no_id_is_sent(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    with capturing(tmp_path, fake_upstream, "off") as proxy:
        answer = proxy.post("/v1/chat/completions", json=CHAT)
    assert "x-keyproxy-capture-id" not in answer.headers
    assert not (tmp_path / "data" / "captures").exists()


def test_bodies_are_cut_at_the_capture_size(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    long = {**CHAT, "messages": [{"role": "user", "content": "word " * 200}]}
    with capturing(tmp_path, fake_upstream, "all", {"KEYPROXY_CAPTURE_MAX_BYTES": "100"}) as proxy:
        proxy.post("/v1/chat/completions", json=long)
    (record,) = captures(tmp_path)
    body = record["request"]["body"]
    assert (len(body["text"]), body["bytes"], body["truncated"]) == (
        100,
        len(json.dumps(long, separators=(",", ":"))),
        True,
    )


PROVIDER_KEY = "sk-live/abcd+efgh=0123456789xyz"
PROXY_KEY = "kp-proxy/secret+key=0123456789"


def spellings(secret: str) -> Iterator[bytes]:
    """Every way the secret could show up in a file: as is, escaped for JSON, URL or `\\u`, and in base64
    at each alignment (the characters that depend on the secret's bytes alone)."""
    escaped = json.dumps(secret)[1:-1]
    for text in (secret, escaped, escaped.replace("/", "\\/"), quote(secret, safe=""), quote(secret, safe="").lower(),
                 quote_plus(secret), "".join(f"\\u{ord(char):04x}" for char in secret)):  # fmt: skip
        yield text.encode()
    for shift in range(3):
        yield base64.b64encode(b"\0" * shift + secret.encode())[4:-4]


@pytest.mark.parametrize("secret", [PROVIDER_KEY, PROXY_KEY], ids=["provider-key", "proxy-key"])
def test_no_key_reaches_the_capture_file_in_any_encoding(
    tmp_path: Path, fake_upstream: FakeUpstream, secret: str
) -> None:
    auth = {"authorization": f"Bearer {PROXY_KEY}"}
    echoed = [next(iter(spellings(secret))).decode(), json.dumps(secret)[1:-1].replace("/", "\\/"), quote(secret)]
    extra = {"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_CAPTURE_MAX_BYTES": "200"}
    with capturing(tmp_path, fake_upstream, "all", extra, keys=(PROVIDER_KEY,)) as proxy:
        for text in echoed:
            chat = {**CHAT, "messages": [{"role": "user", "content": text}]}
            proxy.post("/v1/chat/completions", json=chat, headers=auth)
            proxy.post("/v1/chat/completions", json={**chat, "stream": True}, headers=auth)
        unicode_escaped = "".join(f"\\u{ord(char):04x}" for char in secret)
        proxy.post("/v1/chat/completions", body=('{"messages": "' + unicode_escaped + '"' + " " * 300).encode(),
                   headers=auth)  # fmt: skip
        proxy.post("/v1/chat/completions?key=" + quote(secret), body=b"\xff\xfe" + secret.encode(), headers=auth)
        proxy.post("/v1/chat/completions", body=b"x" * 190 + secret.encode(), headers=auth)
        proxy.get("/v1/models", headers={"x-api-key": PROXY_KEY, "x-other": secret})
    written = b"".join(path.read_bytes() for path in (tmp_path / "data" / "captures").iterdir())
    assert written.count(b'"id"') == 10
    for spelling in spellings(secret):
        assert spelling not in written
    assert secret[:10].encode() not in written


def test_exchange_ids_start_with_their_utc_day_and_never_repeat(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    with capturing(tmp_path, fake_upstream, "errors") as proxy:
        ids = [proxy.get("/v1/models").headers["x-keyproxy-capture-id"] for _ in range(3)]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"\d{8}-[0-9a-f]{12}", found) for found in ids)
