"""An Anthropic Messages event stream relayed to an OpenAI client as chat-completion chunks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from keyproxy.errors import UpstreamServerError, UpstreamStatusError
from keyproxy.translate.anthropic_errors import BY_NAME
from keyproxy.translate.anthropic_mapping import chat_usage, dumps, finish_reason, loads_event
from keyproxy.translate.malformed import malformed_answer
from keyproxy.translate.reasoning import details
from keyproxy.translate.sse import Event, SSEParser, encode


class MessagesToChatStream:
    """Feed it upstream bytes in any pieces; each call returns the chunks they complete, possibly none.

    As OpenAI does, the usage chunk (`choices: []`) goes out only with `include_usage`, and every other chunk
    then carries `usage: null`. Either way the final usage is handed to `on_usage`, for the gateway's records.
    """

    __slots__ = (
        "_created", "_id", "_include_usage", "_model", "_on_usage", "_parser", "_stopped", "_thinking", "_tools",
        "_usage",
    )  # fmt: skip

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
        self._usage: dict[str, int] = {}
        # Anthropic block index -> OpenAI tool call index, which counts tool calls only.
        self._tools: dict[int, int] = {}
        # The thinking block being streamed, whole, for the signed reasoning_details its signature completes.
        self._thinking: list[str] = []
        self._stopped = False

    @malformed_answer("Anthropic stream event")
    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self._event(event) for event in self._parser.feed(chunk))

    def close(self) -> bytes:
        """Nothing: a stream cut before message_stop stays cut, for the relay to report."""
        return b""

    def _event(self, event: Event) -> bytes:
        if self._stopped:
            return b""
        data = loads_event(event.data)
        kind = data.get("type", event.event)
        if kind == "message_start":
            message = data.get("message") or {}
            self._id = message.get("id", "")
            self._count(message.get("usage") or {})
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            return self._block_start(data.get("index"), data.get("content_block") or {})
        if kind == "content_block_delta":
            return self._delta(data.get("index"), data.get("delta") or {})
        if kind == "message_delta":
            self._count(data.get("usage") or {})
            reason = (data.get("delta") or {}).get("stop_reason")
            return self._chunk({}, finish_reason(reason)) if reason else b""
        if kind == "message_stop":
            self._stopped = True
            usage = chat_usage(self._usage)
            if self._on_usage is not None:
                self._on_usage(usage)
            if not self._include_usage:
                return encode("[DONE]")
            return self._encode({"choices": [], "usage": usage}) + encode("[DONE]")
        if kind == "error":
            raise _error(data, event.data)
        # ping, content_block_stop, and whatever event types Anthropic adds later.
        return b""

    def _block_start(self, index: Any, block: dict[str, Any]) -> bytes:
        kind = block.get("type")
        if kind == "thinking":
            self._thinking = [block.get("thinking") or ""]
        if kind == "redacted_thinking":
            return self._reasoning_details([block])
        if kind != "tool_use":
            return b""
        position = self._tools[index] = len(self._tools)
        function = {"name": block.get("name", ""), "arguments": ""}
        call = {"index": position, "id": block.get("id", ""), "type": "function", "function": function}
        return self._chunk({"tool_calls": [call]})

    def _delta(self, index: Any, delta: dict[str, Any]) -> bytes:
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return self._chunk({"content": delta["text"]})
        if kind == "thinking_delta" and delta.get("thinking"):
            self._thinking.append(delta["thinking"])
            return self._chunk({"reasoning_content": delta["thinking"]})
        if kind == "signature_delta" and delta.get("signature"):
            # The whole block once signed, as a non-streamed answer has it; the text went out as it came.
            block = {"type": "thinking", "thinking": "".join(self._thinking), "signature": delta["signature"]}
            return self._reasoning_details([block])
        if kind == "input_json_delta" and delta.get("partial_json") and index in self._tools:
            call = {"index": self._tools[index], "function": {"arguments": delta["partial_json"]}}
            return self._chunk({"tool_calls": [call]})
        # Citations have no place in a chat chunk; neither has a server tool's input.
        return b""

    def _reasoning_details(self, blocks: list[dict[str, Any]]) -> bytes:
        signed = details(blocks)
        return self._chunk({"reasoning_details": signed}) if signed else b""

    def _count(self, usage: dict[str, Any]) -> None:
        # Counts are cumulative, so a later zero (some relays write input_tokens 0 in message_delta) is no news.
        for key, value in usage.items():
            if isinstance(value, int):
                self._usage[key] = max(value, self._usage.get(key, 0))

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return self._encode({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    def _encode(self, fields: dict[str, Any]) -> bytes:
        chunk = {"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model}
        chunk |= fields
        if self._include_usage:
            chunk.setdefault("usage", None)
        return encode(dumps(chunk))


def _error(data: dict[str, Any], raw: str) -> UpstreamStatusError:
    """An `error` event means what the same type means in a whole answer; an unknown type is the upstream's fault."""
    error = data.get("error") or {}
    known = BY_NAME.get(error.get("type", ""))
    status, cls = (known.status, known.error) if known is not None else (500, UpstreamServerError)
    message = error.get("message") or "the Anthropic stream reported an error"
    return cls(message, upstream_status=status, body=raw.encode())
