"""A native Responses API stream, passed through untouched while its events are watched: which response
it is, how far it got, and whether it ended as the API ends a stream."""

from __future__ import annotations

import re

from keyproxy.errors import KeyproxyError, UpstreamServerError
from keyproxy.translate.anthropic_mapping import loads_event
from keyproxy.translate.malformed import malformed_answer
from keyproxy.translate.responses_mapping import error_event
from keyproxy.translate.sse import SSEParser

_ENDS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_SEQUENCE = re.compile(r'"sequence_number"\s*:\s*(\d+)')
_TYPE = re.compile(r'"type"\s*:\s*"([^"]+)"')


class ResponsesStreamWatch:
    """`feed` gives back exactly the bytes it was fed. Only the first event (`response.created`, for the
    id) and an `error` event are decoded; the others are read for their name and sequence number only."""

    __slots__ = ("_next", "_parser", "complete", "response_id")

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._next = 0
        self.complete = False
        self.response_id: str | None = None

    @malformed_answer("Responses API stream event")
    def feed(self, chunk: bytes) -> bytes:
        for parsed in self._parser.feed(chunk):
            kind = parsed.event
            if kind == "message":
                # Some servers name events only by their `type`, as OpenAI's data always does too.
                named = _TYPE.search(parsed.data[:200])
                kind = named.group(1) if named else kind
            if kind == "error":
                data = loads_event(parsed.data)
                message = data.get("message") or "the upstream stream reported an error"
                # The stream's HTTP status was 200; the failure is the upstream's, so it reads as a 500.
                raise UpstreamServerError(str(message), upstream_status=500, body=parsed.data.encode())
            if self.response_id is None and kind == "response.created":
                response = loads_event(parsed.data).get("response")
                found = response.get("id") if isinstance(response, dict) else None
                self.response_id = found if isinstance(found, str) else None
            sequence = _SEQUENCE.search(parsed.data[:200])
            self._next = int(sequence.group(1)) + 1 if sequence else self._next + 1
            if kind in _ENDS:
                self.complete = True
        return chunk

    def close(self) -> bytes:
        return b""

    def error_event(self, error: KeyproxyError) -> bytes:
        """The `error` event that ends the stream if it breaks off, numbered after the upstream's last event."""
        number, self._next = self._next, self._next + 1
        return error_event(error.code, error.message, number)
