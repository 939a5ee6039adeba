"""Token counts read from any answer or stream: counts (never negative) or none, never an exception, since
reading usage must never fail the answer it is read from."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fuzz_shapes import CHAT_ANSWERS, CHAT_EVENTS, MESSAGES_ANSWERS, MESSAGES_EVENTS, RESPONSES_EVENTS
from fuzz_support import JSON, bodies, event_streams, pieces, shaped
from keyproxy.events import Tokens
from keyproxy.usage.tokens import UsageMeter, tokens_from_body, tokens_from_usage


def counts(tokens: Tokens | None) -> None:
    if tokens is not None:
        assert min(tokens.prompt, tokens.completion, tokens.cached, tokens.reasoning) >= 0


@given(bodies([*CHAT_ANSWERS, *MESSAGES_ANSWERS]))
def test_usage_of_any_body_is_counts_or_none(body: bytes) -> None:
    counts(tokens_from_body(body))


@given(shaped([CHAT_ANSWERS[0]["usage"], MESSAGES_ANSWERS[0]["usage"]]))
def test_any_usage_object_is_counts_or_none(usage: Any) -> None:
    counts(tokens_from_usage(usage))


@given(
    st.one_of(event_streams(CHAT_EVENTS), event_streams(MESSAGES_EVENTS), event_streams(RESPONSES_EVENTS),
              st.binary(max_size=300).flatmap(pieces)),
    st.lists(JSON, max_size=2),
)  # fmt: skip
def test_a_meter_reads_any_stream(chunks: list[bytes], reported: list[Any]) -> None:
    meter = UsageMeter()
    for chunk in chunks:
        meter.observe(chunk)
    for usage in reported:
        meter.record(usage)
    counts(meter.tokens())
