"""The Responses API's dialect: OpenAI's error body with `param`, and its `error` stream event."""

from __future__ import annotations

import json

from keyproxy.api.responses_dialect import RESPONSES
from keyproxy.errors import PreviousResponseNotFound, UpstreamFailed


def test_an_error_body_names_the_field_it_is_about() -> None:
    body = json.loads(RESPONSES.error_body(PreviousResponseNotFound("resp_1"), 400))
    assert body == {"error": {"message": "Previous response with id 'resp_1' not found.",
                              "type": "invalid_request_error", "param": "previous_response_id",
                              "code": "previous_response_not_found"}}  # fmt: skip


def test_an_error_about_no_field_has_a_null_param() -> None:
    assert json.loads(RESPONSES.error_body(UpstreamFailed("every key failed"), 502))["error"]["param"] is None


def test_an_upstream_body_in_openais_shape_is_its_own() -> None:
    assert RESPONSES.is_own_error(b'{"error": {"message": "no"}}')
    assert not RESPONSES.is_own_error(b'{"type": "error", "error": "no"}') and not RESPONSES.is_own_error(b"<html>")


def test_the_error_event_is_the_responses_apis_error_event() -> None:
    event = RESPONSES.error_event(UpstreamFailed("gone"))
    name, data = event.decode().strip().split("\n")
    assert name == "event: error"
    expected = {"type": "error", "sequence_number": 0, "code": "upstream_failed", "message": "gone", "param": None}
    assert json.loads(data.removeprefix("data: ")) == expected
