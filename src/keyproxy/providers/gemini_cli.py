"""Gemini CLI accounts on Google's Code Assist API (`v1internal:generateContent`, `:streamGenerateContent`).

The body is Gemini's generateContent request inside an envelope naming the model and the account's project
(`{"model", "project", "request": {...}}`); each answer, whole or per stream event, is Gemini's inside
`{"response": {...}}`. Translation is the Gemini adapter's; only the envelope is this module's. Each request
carries the account's current access token, which the engine made ready (engine/accounts.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import msgspec

from keyproxy.errors import InvalidRequest, InvalidUpstreamResponse, UpstreamStatusError
from keyproxy.providers.base import Call, Grants, UsageReport, refusing_for
from keyproxy.providers.code_assist_setup import load_request
from keyproxy.providers.gemini import GeminiAdapter
from keyproxy.providers.wire import load_answer, path_segment
from keyproxy.translate.gemini_request import chat_to_gemini
from keyproxy.translate.malformed import decode_request
from keyproxy.translate.sse import SSEParser, encode
from keyproxy.translate.stream import translated
from keyproxy.transport.base import UpstreamRequest

MODELS = (
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
)
"""What Gemini CLI accounts serve: Code Assist has no model list (`GEMINI_CLI_MODELS` adds or renames)."""


class GeminiCliAdapter:
    def __init__(self, base_url: str, grants: Grants) -> None:
        self.base_url = base_url
        self.grants = grants
        # Gemini's own translation and error reading; Code Assist answers errors in Google's shape too.
        self._gemini = GeminiAdapter(base_url)

    def request(self, call: Call, secret: str) -> UpstreamRequest:
        model = path_segment(call.model.removeprefix("models/"), "Gemini model name")
        if call.endpoint != "chat":
            raise InvalidRequest(f"Gemini CLI accounts have no {call.endpoint} endpoint (provider {call.provider!r})")
        with refusing_for(call):
            payload = chat_to_gemini(decode_request(call.body))
        grant = self.grants(secret)
        envelope = {"model": model, "project": grant.project, "request": payload}
        action = ":streamGenerateContent?alt=sse" if call.stream else ":generateContent"
        headers = {"authorization": f"Bearer {grant.access_token}", "content-type": "application/json"}
        return UpstreamRequest("POST", self.base_url + action, headers, msgspec.json.encode(envelope))

    def read_body(self, call: Call, body: bytes) -> bytes:
        data = load_answer(body)
        inner = data.get("response") if isinstance(data, dict) else None
        if not isinstance(inner, dict):
            raise InvalidUpstreamResponse("Code Assist answered 2xx without a response object")
        return self._gemini.read_body(call, msgspec.json.encode(inner))

    def read_stream(self, call: Call, chunks: AsyncIterator[bytes], report: UsageReport) -> AsyncIterator[bytes]:
        return self._gemini.read_stream(call, translated(chunks, Unwrapped()), report)

    def models_request(self, secret: str) -> UpstreamRequest:
        # No model list: the cheapest call that proves the account works is the one that describes it.
        grant = self.grants(secret)
        return load_request(self.base_url, grant.access_token, grant.project)

    def parse_models(self, body: bytes) -> list[str]:
        load_answer(body)
        return list(MODELS)

    def classify(self, status: int, headers: Mapping[str, str], body: bytes, now: float) -> UpstreamStatusError:
        return self._gemini.classify(status, headers, body, now)


class Unwrapped:
    """Code Assist's stream events as Gemini's: each event's `response` object, re-framed. An event without
    one passes as it came, for the Gemini translator to judge."""

    __slots__ = ("_parser",)

    def __init__(self) -> None:
        self._parser = SSEParser()

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        for event in self._parser.feed(chunk):
            try:
                data = msgspec.json.decode(event.data)
            except msgspec.DecodeError:
                data = None
            inner = data.get("response") if isinstance(data, dict) else None
            out += encode(msgspec.json.encode(inner).decode() if isinstance(inner, dict) else event.data)
        return bytes(out)

    def close(self) -> bytes:
        return b""
