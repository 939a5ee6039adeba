"""An OpenAI chat-completions stream relayed to a /v1/messages client as Anthropic Messages events."""

from __future__ import annotations

from typing import Any, Literal

from keyproxy.errors import UpstreamServerError
from keyproxy.translate.anthropic_mapping import dumps, loads_event, messages_usage, stop_reason
from keyproxy.translate.malformed import malformed_answer
from keyproxy.translate.sse import Event, SSEParser, encode

_Kind = Literal["text", "thinking", "tool"]


class ChatToMessagesStream:
    """Feed it upstream bytes in any pieces; each call returns the events they complete, possibly none."""

    __slots__ = (
        "_finish",
        "_index",
        "_kind",
        "_message_id",
        "_model",
        "_next",
        "_parser",
        "_started",
        "_stopped",
        "_tools",
        "_usage",
    )

    def __init__(self, model: str, message_id: str) -> None:
        self._model = model
        self._message_id = message_id
        self._parser = SSEParser()
        self._started = False
        self._kind: _Kind | None = None
        self._index = 0
        self._next = 0
        # OpenAI tool call index -> (block index, call id).
        self._tools: dict[int, tuple[int, str]] = {}
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._stopped = False

    @malformed_answer("chat stream event")
    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self._event(event) for event in self._parser.feed(chunk))

    def close(self) -> bytes:
        """Nothing: a stream cut before [DONE] stays cut, for the relay to report."""
        return b""

    def _event(self, event: Event) -> bytes:
        if self._stopped:
            return b""
        if event.data == "[DONE]":
            return self._end()
        data = loads_event(event.data)
        if data.get("error"):
            raise _error(data["error"], event.data)
        out = self._start()
        if data.get("usage"):
            self._usage = data["usage"]
        for choice in data.get("choices") or []:
            out += self._delta(choice.get("delta") or {})
            self._finish = choice.get("finish_reason") or self._finish
        return out

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        # Counts are unknown until the usage chunk; message_delta carries them and clients take them from there.
        message: dict[str, Any] = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return _sse("message_start", {"message": message})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        out = b""
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            if self._kind != "thinking":
                out += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            out += self._block_delta(self._index, {"type": "thinking_delta", "thinking": reasoning})
        text = delta.get("content") or delta.get("refusal")
        if text:
            if self._kind != "text":
                out += self._open("text", {"type": "text", "text": ""})
            out += self._block_delta(self._index, {"type": "text_delta", "text": text})
        for call in delta.get("tool_calls") or []:
            out += self._tool_call(call)
        return out

    def _tool_call(self, call: dict[str, Any]) -> bytes:
        out = b""
        position = call.get("index", 0)
        call_id = call.get("id") or ""
        function = call.get("function") or {}
        known = self._tools.get(position)
        # Some servers number every parallel call 0: a new id is then what tells the calls apart.
        if known is None or (call_id and call_id != known[1]):
            block: dict[str, Any] = {"type": "tool_use", "id": call_id, "name": function.get("name") or "", "input": {}}
            out = self._open("tool", block)
            known = self._tools[position] = (self._index, call_id)
        if function.get("arguments"):
            # A late piece of an earlier call goes to that call's block, where SDKs accumulate by index.
            out += self._block_delta(known[0], {"type": "input_json_delta", "partial_json": function["arguments"]})
        return out

    def _open(self, kind: _Kind, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        self._kind, self._index = kind, self._next
        self._next += 1
        return out + _sse("content_block_start", {"index": self._index, "content_block": block})

    def _close_block(self) -> bytes:
        if self._kind is None:
            return b""
        self._kind = None
        return _sse("content_block_stop", {"index": self._index})

    def _block_delta(self, index: int, delta: dict[str, Any]) -> bytes:
        return _sse("content_block_delta", {"index": index, "delta": delta})

    def _end(self) -> bytes:
        self._stopped = True
        out = self._start() + self._close_block()
        reason = stop_reason(self._finish, tool_calls=bool(self._tools))
        usage = messages_usage(self._usage) if self._usage is not None else {"output_tokens": 0}
        out += _sse("message_delta", {"delta": {"stop_reason": reason, "stop_sequence": None}, "usage": usage})
        return out + _sse("message_stop", {})


def _sse(kind: str, fields: dict[str, Any]) -> bytes:
    return encode(dumps({"type": kind} | fields), event=kind)


def _error(error: Any, raw: str) -> UpstreamServerError:
    message = error.get("message") if isinstance(error, dict) else error
    text = str(message) if message else "the upstream stream reported an error"
    # The stream's HTTP status was 200; the failure is the upstream's, so it reads as a 500.
    return UpstreamServerError(text, upstream_status=500, body=raw.encode())
