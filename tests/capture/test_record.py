"""A captured exchange written as JSON: headers redacted, URLs masked, keys scrubbed from bodies cut anywhere."""

from __future__ import annotations

import base64
import json
from typing import Any

from keyproxy.capture import Body, Exchange
from keyproxy.capture.record import REDACTED, Cleaner, encode
from keyproxy.errors import ErrorClass
from keyproxy.events import AttemptEvent

KEY = "sk-live/abcd+efgh=0123456789xyz"
CLEANER = Cleaner([KEY])


def exchange(limit: int = 1000) -> Exchange:
    return Exchange("20261129-abc", 1_700_000_000.5, "POST", "/v1/chat/completions", b"", [], "127.0.0.1:1", limit)


def written(item: Exchange, cleaner: Cleaner = CLEANER) -> dict[str, Any]:
    line = encode(item, cleaner)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    return json.loads(line)  # type: ignore[no-any-return]


def body_of(parts: list[bytes], limit: int, *, chunked: bool = False) -> dict[str, Any]:
    item = exchange(limit)
    for part in parts:
        item.answer.add(part)
    if chunked:
        item.answer_headers = [(b"content-type", b"text/event-stream")]
    return written(item)["response"]["body"]  # type: ignore[no-any-return]


def test_a_body_is_cut_at_the_limit_and_says_how_long_it_was() -> None:
    assert body_of([b"0123456789", b"abcdef"], 12) == {"bytes": 16, "truncated": True, "text": "0123456789ab"}


def test_a_key_in_a_body_is_masked() -> None:
    text = body_of([f'{{"content": "{KEY}"}}'.encode()], 1000)["text"]
    assert KEY not in text and "...9xyz" in text


def test_a_key_split_between_two_stream_chunks_is_masked_whole() -> None:
    middle = len(KEY) // 2
    chunks = body_of([b"data: " + KEY[:middle].encode(), KEY[middle:].encode() + b"\n\n"], 1000, chunked=True)
    joined = "".join(chunks["chunks"])
    assert joined == "data: ...9xyz\n\n"


def test_a_body_cut_inside_a_key_keeps_none_of_it() -> None:
    shown = body_of([b"token=" + KEY.encode()], len("token=") + 12)
    assert shown["text"] == "token="


def test_a_key_spelled_with_unicode_escapes_in_a_cut_body_is_masked() -> None:
    escaped = "".join(f"\\u{ord(char):04x}" for char in KEY)
    text = body_of([f'{{"a": "{escaped}", "b": "{"x" * 50}'.encode()], 400)["text"]
    assert escaped not in text and KEY not in text and "...9xyz" in text


def test_a_body_that_is_not_utf8_is_base64_of_its_scrubbed_bytes() -> None:
    shown = body_of([b"\xff\xfe" + KEY.encode() + b"\xff"], 1000)
    decoded = base64.b64decode(shown["base64"])
    assert KEY.encode() not in decoded and decoded.startswith(b"\xff\xfe")


def test_secret_headers_are_redacted_by_name_and_others_scrubbed() -> None:
    item = exchange()
    item.request_headers = [("Authorization", "Bearer x"), ("x-goog-api-key", "y"), ("x-note", f"from {KEY}")]
    assert written(item)["request"]["headers"] == [
        ["Authorization", REDACTED], ["x-goog-api-key", REDACTED], ["x-note", "from ...9xyz"],
    ]  # fmt: skip


def test_query_values_of_the_request_and_upstream_urls_are_masked() -> None:
    item = exchange()
    item.query = b"key=client-query-secret-0001"
    item.call("POST", "https://up.test/v1beta/models/m:generateContent?key=" + KEY, [], None)
    record = written(item)
    assert record["request"]["path"] == "/v1/chat/completions?key=...0001"
    assert record["upstream"][0]["url"] == "https://up.test/v1beta/models/m:generateContent?key=...9xyz"


def test_the_outbound_proxy_of_an_upstream_call_is_shown_without_its_password() -> None:
    item = exchange()
    item.call("POST", "https://up.test/v1/chat/completions", [], None, proxy="http://me:pa55word-0001@proxy.test:3128")
    assert written(item)["upstream"][0]["proxy"] == "http://proxy.test:3128"


def test_attempts_are_written_with_their_error_class_and_a_scrubbed_message() -> None:
    item = exchange()
    item.attempt(AttemptEvent("p", "m", "...9xyz", 1, 401, ErrorClass.KEY_REJECTED, f"bad key {KEY}", 0.5))
    attempt = written(item)["attempts"][0]
    assert (attempt["error_class"], attempt["message"], attempt["key"]) == (
        "key_rejected",
        "bad key ...9xyz",
        "...9xyz",
    )
    assert item.failed


def test_an_exchange_without_an_answer_or_with_an_error_status_counts_as_failed() -> None:
    unanswered, refused, answered = exchange(), exchange(), exchange()
    refused.status, refused.complete = 401, True
    answered.status, answered.complete = 200, True
    for item in (unanswered, refused, answered):
        item.close(0.1)
    assert (unanswered.failed, refused.failed, answered.failed) == (True, True, False)


def test_nothing_is_added_to_a_closed_exchange() -> None:
    item = exchange()
    item.close(0.1)
    item.call("GET", "http://late.test/", [], None)
    item.attempt(AttemptEvent("p", "m", "k", 1, 200, None, "ok", 0.1))
    assert item.calls == [] and item.attempts == []


def test_a_body_keeps_at_most_its_limit_in_memory() -> None:
    body = Body(10)
    for _ in range(100):
        body.add(b"x" * 1000)
    assert (body.kept, body.seen, sum(map(len, body.parts))) == (10, 100_000, 10)


def test_a_stream_cut_inside_a_key_keeps_none_of_it() -> None:
    shown = body_of([b"data: one\n\n", b"data: " + KEY.encode()], len("data: one\n\ndata: ") + 8, chunked=True)
    assert shown["chunks"] == ["data: one\n\n", "data: "]
