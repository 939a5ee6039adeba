"""The access log: one line per request, refused ones too, with what served it; control characters escaped."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyproxy.api.access_log import BATCH, AccessLog, TextLines, text_line
from keyproxy.events import RequestRecord, Tokens
from keyproxy.logs import Stamp, configure_logging, remember_secrets
from keyproxy.redact import mask
from keyproxy.testing import FakeUpstream, Fault, FaultKind
from support import KEYS, PROXY_KEY, Answered, OpenProxy

CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"authorization": f"Bearer {PROXY_KEY}"}


def lines_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "keyproxy.access"]


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="keyproxy.access"):
        yield caplog


def test_an_answered_request_is_one_line_with_what_served_it(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream, logged: pytest.LogCaptureFixture
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.SERVER_ERROR, times=1))
    open_proxy().post("/v1/chat/completions", json=CHAT)

    [line] = lines_of(logged)
    assert line.startswith('127.0.0.1:50000 "POST /v1/chat/completions" 200 model=fake/fake-chat provider=fake ')
    assert " key=...0002 attempts=2 " in line
    assert " ms=" in line and " overhead_ms=" in line and "tokens=" in line and "tokens=-" not in line


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/chat/completions", CHAT, 401),
        ("/v1/nowhere", CHAT, 404),
    ],
)
def test_a_refused_request_is_logged_with_its_status(
    open_proxy: OpenProxy, logged: pytest.LogCaptureFixture, path: str, body: object, status: int
) -> None:
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_AUTH_FAILURE_PAUSE": "0"})
    headers = {} if status == 401 else AUTH
    assert proxy.post(path, json=body, headers=headers).status_code == status

    [line] = lines_of(logged)
    assert f'"POST {path}" {status} ' in line and " provider=- key=- attempts=0 " in line


def test_an_upstreams_own_refusal_is_logged_with_the_key_that_answered_it(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream, logged: pytest.LogCaptureFixture
) -> None:
    fake_upstream.set_fault(KEYS[0], Fault(FaultKind.BAD_REQUEST))
    assert open_proxy().post("/v1/chat/completions", json=CHAT).status_code == 400

    [line] = lines_of(logged)
    assert '"POST /v1/chat/completions" 400 model=fake/fake-chat provider=fake key=...0001 attempts=1 ' in line
    assert line.endswith(" overhead_ms=- tokens=-")


def test_a_request_every_key_failed_is_logged_with_its_provider_and_attempts(
    open_proxy: OpenProxy, fake_upstream: FakeUpstream, logged: pytest.LogCaptureFixture
) -> None:
    for key in KEYS:
        fake_upstream.set_fault(key, Fault(FaultKind.SERVER_ERROR))
    status = open_proxy().post("/v1/chat/completions", json=CHAT).status_code

    [line] = lines_of(logged)
    assert f'"POST /v1/chat/completions" {status} model=fake/fake-chat provider=fake key=- attempts=' in line
    assert " attempts=0 " not in line


def test_a_request_no_key_can_serve_is_logged_with_the_model_it_asked_for(
    open_proxy: OpenProxy, logged: pytest.LogCaptureFixture
) -> None:
    open_proxy().post("/v1/chat/completions", json={**CHAT, "model": "no-such-model"})

    [line] = lines_of(logged)
    assert '"POST /v1/chat/completions" 404 model=no-such-model provider=-' in line


def test_control_characters_a_client_sends_are_escaped(open_proxy: OpenProxy, logged: pytest.LogCaptureFixture) -> None:
    open_proxy().post("/v1/chat/completions", json={**CHAT, "model": "fake\n2026-01-01 forged line"})

    [line] = lines_of(logged)
    assert "\n" not in line and "model=fake\\x0a2026-01-01" in line


def test_json_lines_are_one_object_each(open_proxy: OpenProxy, logged: pytest.LogCaptureFixture) -> None:
    open_proxy({"KEYPROXY_ACCESS_LOG": "json"}).post("/v1/chat/completions", json=CHAT)

    [line] = lines_of(logged)
    entry = json.loads(line)
    assert {key: entry[key] for key in ("method", "path", "model", "status", "provider", "key", "attempts")} == {
        "method": "POST", "path": "/v1/chat/completions", "model": "fake/fake-chat", "status": 200,
        "provider": "fake", "key": "...0001", "attempts": 1,
    }  # fmt: skip
    assert entry["tokens_in"] > 0 and entry["tokens_out"] > 0 and entry["time"].endswith("+00:00")


def test_no_line_when_the_access_log_is_off(open_proxy: OpenProxy, logged: pytest.LogCaptureFixture) -> None:
    open_proxy({"KEYPROXY_ACCESS_LOG": "off"}).post("/v1/chat/completions", json=CHAT)

    assert lines_of(logged) == []


def test_a_stream_is_logged_once_it_ended_with_its_tokens(
    open_proxy: OpenProxy, logged: pytest.LogCaptureFixture
) -> None:
    open_proxy().post("/v1/chat/completions", json={**CHAT, "stream": True})

    [line] = lines_of(logged)
    assert " 200 " in line and "tokens=-" not in line


def test_no_secret_appears_in_a_line(open_proxy: OpenProxy, logged: pytest.LogCaptureFixture) -> None:
    proxy = open_proxy({"PROXY_API_KEY": PROXY_KEY})
    proxy.post("/v1/chat/completions", json=CHAT, headers=AUTH)

    [line] = lines_of(logged)
    assert PROXY_KEY not in line and not any(key in line for key in KEYS)


USED = Tokens(3, 4)


def served(path: str = "/v1/chat/completions", model: str = "m", tokens: Tokens | None = USED) -> RequestRecord:
    record = RequestRecord("POST", path, ("10.0.0.1", 4242), "/v1/chat/completions", started=100.0, model=model)
    record.note_served(Answered(attempts=2, upstream_seconds=0.5, tokens=tokens), now=100.75)
    record.status = 200
    record.close(1.25, 1_700_000_000.0)
    return record


@pytest.mark.parametrize(
    "record",
    [
        served(),
        served(path="/v1/chat/completions\nforged", model="m\x1b[31m"),
        served(model="m ms=0.01 overhead_ms=0.01 tokens=1/1"),
        served(tokens=None),
        RequestRecord("GET", "/v1/models", None, "/v1/models", started=0.0, status=401),
    ],
    ids=["usual", "control-characters", "fields-in-model", "no-tokens", "refused"],
)
def test_the_remembered_line_parts_make_the_same_line_as_text_line(record: RequestRecord) -> None:
    assert TextLines()([record, record], False) == [text_line(record)] * 2


def test_the_usual_line_has_each_field() -> None:
    assert TextLines()([served()], False) == [
        '10.0.0.1:4242 "POST /v1/chat/completions" 200 model=m provider=p key=...0001 attempts=2 '
        "ms=1250.00 overhead_ms=250.00 tokens=3/4"
    ]


def test_a_stamped_line_starts_with_the_logs_usual_prefix_of_its_own_time() -> None:
    early, late = served(), served()
    late.at += 0.5

    lines = TextLines()([early, late, served(tokens=None)], True)

    assert [line.split(" INFO keyproxy.access: ")[0] for line in lines] == [
        Stamp().window(early.at)[0], Stamp().window(late.at)[0], Stamp().window(early.at)[0],
    ]  # fmt: skip
    assert lines[0].endswith(text_line(early))


def test_remembered_parts_are_bounded_and_forgotten_ones_made_again() -> None:
    lines = TextLines()
    records = [served(model=f"m{index}") for index in range(5000)]

    assert lines(records, False) == [text_line(record) for record in records]
    assert len(lines._shared) <= 4096


@pytest.mark.usefixtures("restored_root")
def test_lines_are_made_and_handed_to_the_logging_thread_together_when_the_timer_fires(tmp_path: Path) -> None:
    stop = configure_logging("INFO", [], tmp_path)
    access = AccessLog("text", every=0)

    async def serve() -> None:
        for model in ("a", "b"):
            access.finished(served(model=model))
        assert access._records  # gathered, not yet made
        for _ in range(2):
            await asyncio.sleep(0)  # one turn of the loop runs the timer's callback

    asyncio.run(serve())
    stop()

    written = (tmp_path / "keyproxy.log").read_text().splitlines()
    assert [line.split(" model=")[1][0] for line in written] == ["a", "b"]


@pytest.mark.usefixtures("restored_root")
def test_a_full_batch_is_handed_over_without_waiting_for_the_timer(tmp_path: Path) -> None:
    stop = configure_logging("INFO", [], tmp_path)
    access = AccessLog("json", every=3600)

    async def serve() -> None:
        for _ in range(BATCH):
            access.finished(served())
        assert not access._records

    asyncio.run(serve())
    stop()

    written = (tmp_path / "keyproxy.log").read_text().splitlines()
    assert len(written) == BATCH and all(json.loads(line)["model"] == "m" for line in written)


@pytest.mark.usefixtures("restored_root")
def test_a_secret_a_client_sends_as_its_model_is_masked_in_the_line(tmp_path: Path) -> None:
    stop = configure_logging("INFO", [PROXY_KEY], tmp_path)
    try:
        [line] = TextLines()([served(model=f"x{PROXY_KEY}")], True)
    finally:
        stop()

    assert PROXY_KEY not in line and f"model=x{mask(PROXY_KEY)} " in line


def test_a_key_added_after_start_is_masked_in_lines_made_after_it(tmp_path: Path) -> None:
    added = "sk-added-at-run-time-0123456789"
    stop = configure_logging("INFO", [PROXY_KEY], tmp_path)
    try:
        lines = TextLines()
        [before] = lines([served(model=added)], True)
        remember_secrets([added])
        [after] = lines([served(model=added)], True)
    finally:
        stop()

    assert added in before
    assert added not in after and f"model={mask(added)} " in after
