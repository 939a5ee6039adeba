"""Gemini's streamGenerateContent?alt=sse events as OpenAI chat.completion.chunk events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from keyproxy.errors import InvalidUpstreamResponse, UpstreamError, status_error_class
from keyproxy.translate.gemini_response import (
    chat_usage,
    choice_index,
    completion_id,
    finish_reason,
    logprobs,
    prompt_blocked,
    read_parts,
)
from keyproxy.translate.malformed import malformed_answer
from keyproxy.translate.sse import SSEParser, encode


class GeminiToChatStream:
    """Raw upstream bytes in, OpenAI SSE bytes out. Gemini sends no end marker, so the caller's `close()` at the
    end of the upstream stream decides: the stream is whole only if every choice got a finish reason.

    As OpenAI does, the usage chunk (`choices: []`) goes out only with `include_usage`, and every other chunk
    then carries `usage: null`. Either way the final usage is handed to `on_usage`, for the gateway's records.
    """

    __slots__ = (
        "_calls",
        "_created",
        "_finished",
        "_id",
        "_include_usage",
        "_model",
        "_on_usage",
        "_parser",
        "_response_id",
        "_usage",
    )

    def __init__(
        self,
        model: str,
        created: int,
        *,
        include_usage: bool = False,
        on_usage: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        self._model = model
        self._created = created
        self._include_usage = include_usage
        self._on_usage = on_usage
        self._parser = SSEParser()
        self._id = ""
        self._response_id: Any = None
        # Tool calls sent so far by choice index; a choice is here once its first chunk went out.
        self._calls: dict[int, int] = {}
        self._finished: set[int] = set()
        self._usage: dict[str, Any] | None = None

    @malformed_answer("Gemini stream event")
    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self._event(_decode(event.data)) for event in self._parser.feed(chunk))

    def close(self) -> bytes:
        """Usage and `[DONE]` after a finished stream; nothing after a cut one, which must not look whole."""
        if not self._calls or self._finished != set(self._calls):
            return b""
        if self._usage is None:
            return encode("[DONE]")
        usage = chat_usage(self._usage)
        if self._on_usage is not None:
            self._on_usage(usage)
        return (self._chunk([], usage=usage) if self._include_usage else b"") + encode("[DONE]")

    def _event(self, response: dict[str, Any]) -> bytes:
        if "error" in response:
            raise self._error(response["error"])
        if isinstance(response.get("usageMetadata"), dict):
            self._usage = response["usageMetadata"]
        if not self._id:
            self._response_id = response.get("responseId")
            self._id = completion_id(self._response_id, self._model, self._created)
        candidates = response.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            blocked = prompt_blocked(response)
            if blocked is None:
                return b""  # a usage-only event
            if self._calls:
                raise InvalidUpstreamResponse(f"Gemini stream broke off: {blocked.message}")
            raise blocked
        return b"".join(
            self._candidate(candidate, position)
            for position, candidate in enumerate(candidates)
            if isinstance(candidate, dict)
        )

    def _candidate(self, candidate: dict[str, Any], position: int) -> bytes:
        index = choice_index(candidate, position)
        out = []
        if index not in self._calls:
            self._calls[index] = 0
            out.append(self._chunk([_choice(index, {"role": "assistant", "content": ""})]))
        first = self._calls[index]
        parts = read_parts(candidate, response_id=self._response_id, choice=index, first_call=first)
        delta: dict[str, Any] = {}
        if parts.reasoning:
            delta["reasoning_content"] = parts.reasoning
        if parts.text:
            delta["content"] = parts.text
        if parts.tool_calls:
            # Gemini sends each call whole, so each delta carries complete arguments.
            delta["tool_calls"] = [{"index": first + n, **call} for n, call in enumerate(parts.tool_calls)]
            self._calls[index] += len(parts.tool_calls)
        if delta:
            out.append(self._chunk([_choice(index, delta, logprobs=logprobs(candidate))]))
        reason = candidate.get("finishReason")
        if isinstance(reason, str) and reason and index not in self._finished:
            self._finished.add(index)
            finish = finish_reason(reason, has_calls=self._calls[index] > 0)
            out.append(self._chunk([_choice(index, {}, finish)]))
        return b"".join(out)

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": choices,
        }
        if usage is not None or self._include_usage:
            chunk["usage"] = usage
        return encode(msgspec.json.encode(chunk).decode())

    def _error(self, error: Any) -> UpstreamError:
        """An error event: classified by its code while nothing went out; a break in the stream after that."""
        message = error.get("message") if isinstance(error, dict) else None
        message = message if isinstance(message, str) else "Gemini sent an error event"
        code = error.get("code") if isinstance(error, dict) else None
        if self._calls or not isinstance(code, int) or code < 400:
            return InvalidUpstreamResponse(f"Gemini stream failed: {message}")
        return status_error_class(code)(message, upstream_status=code)


def _choice(
    index: int, delta: dict[str, Any], finish: str | None = None, *, logprobs: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish, "logprobs": logprobs}


def _decode(data: str) -> dict[str, Any]:
    try:
        response = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidUpstreamResponse("Gemini stream sent an event that is not JSON") from exc
    if not isinstance(response, dict):
        raise InvalidUpstreamResponse("Gemini stream sent an event that is not an object")
    return response
