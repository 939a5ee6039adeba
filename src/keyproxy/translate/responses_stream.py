"""An OpenAI chat-completions stream relayed to a Responses API client as the Responses API's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keyproxy.errors import KeyproxyError, UpstreamServerError
from keyproxy.translate.anthropic_mapping import loads_event
from keyproxy.translate.malformed import malformed_answer
from keyproxy.translate.responses_mapping import (
    error_event,
    event,
    finished,
    function_call_item,
    item_id,
    item_status,
    message_item,
    reasoning_item,
    refusal_part,
    responses_usage,
    text_part,
)
from keyproxy.translate.sse import Event, SSEParser


@dataclass(slots=True)
class _Item:
    """An output item being streamed: its place in `output`, its id, and what has arrived so far."""

    index: int
    id: str
    kind: str
    text: str = ""
    parts: list[dict[str, Any]] = field(default_factory=list)
    """A message's finished content parts; `text` is the open one, of `part` kind."""
    part: str = "output_text"
    call_id: str = ""
    name: str = ""


class ChatToResponsesStream:
    """Feed it upstream bytes in any pieces; each call returns the events they complete, possibly none.

    `response` is the response object before output (`response_object`); once `complete`, `response` is
    the final one, as `response.completed` carried it. Reasoning and message items close when another kind
    of output starts; function calls stay open until the end, since a late argument piece may still come.
    """

    __slots__ = ("_calls", "_counts", "_finish", "_items", "_open", "_output", "_parser", "_sequence", "_started",
                 "_usage", "complete", "response")  # fmt: skip

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        self.complete = False
        self._parser = SSEParser()
        self._sequence = 0
        self._started = False
        self._open: _Item | None = None
        """The open reasoning or message item."""
        # Chat tool call index -> the function call item it streams into now (every call is in `_items`).
        self._calls: dict[int, _Item] = {}
        self._items: list[_Item] = []
        self._output: dict[int, dict[str, Any]] = {}
        self._counts = {"rs": 0, "msg": 0, "fc": 0}
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None

    @malformed_answer("chat stream event")
    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self._event(parsed) for parsed in self._parser.feed(chunk))

    def close(self) -> bytes:
        """Nothing: a stream cut before [DONE] stays cut, for the relay to report."""
        return b""

    def error_event(self, error: KeyproxyError) -> bytes:
        """The `error` event that ends this stream if it breaks off, numbered after what went out."""
        return error_event(error.code, error.message, self._next())

    def _event(self, parsed: Event) -> bytes:
        if self.complete:
            return b""
        if parsed.data == "[DONE]":
            return self._end()
        data = loads_event(parsed.data)
        if data.get("error"):
            raise _error(data["error"], parsed.data)
        out = self._start()
        if data.get("usage"):
            self._usage = data["usage"]
        for choice in data.get("choices") or []:
            out += self._delta(choice.get("delta") or {})
            self._finish = choice.get("finish_reason") or self._finish
        return out

    def _next(self) -> int:
        number, self._sequence = self._sequence, self._sequence + 1
        return number

    def _emit(self, kind: str, **fields: Any) -> bytes:
        return event(kind, self._next(), fields)

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self._emit("response.created", response=self.response) + self._emit(
            "response.in_progress", response=self.response
        )

    def _delta(self, delta: dict[str, Any]) -> bytes:
        out = b""
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            out += self._reasoning(reasoning)
        for kind in ("content", "refusal"):
            piece = delta.get(kind)
            if isinstance(piece, str) and piece:
                out += self._text(piece, "output_text" if kind == "content" else "refusal")
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                out += self._tool_call(call)
        return out

    def _reasoning(self, piece: str) -> bytes:
        out = b""
        item = self._open
        if item is None or item.kind != "reasoning":
            out += self._close_open()
            item = self._add("reasoning", "rs")
            out += self._emit("response.output_item.added", output_index=item.index, item=reasoning_item(item.id, ""))
            part = {"type": "summary_text", "text": ""}
            out += self._emit("response.reasoning_summary_part.added", item_id=item.id, output_index=item.index,
                              summary_index=0, part=part)  # fmt: skip
            self._open = item
        item.text += piece
        return out + self._emit("response.reasoning_summary_text.delta", item_id=item.id, output_index=item.index,
                                summary_index=0, delta=piece)  # fmt: skip

    def _text(self, piece: str, part: str) -> bytes:
        out = b""
        item = self._open
        if item is None or item.kind != "message":
            out += self._close_open()
            item = self._add("message", "msg")
            added = message_item(item.id, [], "in_progress")
            out += self._emit("response.output_item.added", output_index=item.index, item=added)
            out += self._open_part(item, part)
            self._open = item
        elif item.part != part:
            out += self._close_part(item) + self._open_part(item, part)
        item.text += piece
        where = {"item_id": item.id, "output_index": item.index, "content_index": len(item.parts)}
        if part == "refusal":
            return out + self._emit("response.refusal.delta", **where, delta=piece)
        return out + self._emit("response.output_text.delta", **where, delta=piece, logprobs=[])

    def _tool_call(self, call: dict[str, Any]) -> bytes:
        out = b""
        position = call.get("index", 0)
        call_id = call.get("id") or ""
        function = call.get("function") or {}
        item = self._calls.get(position)
        # Some servers number every parallel call 0: a new id is then what tells the calls apart.
        if item is None or (call_id and call_id != item.call_id):
            out += self._close_open()
            item = self._add("function_call", "fc")
            item.call_id = call_id or item_id(str(self.response["id"]), "call", item.index)
            item.name = function.get("name") or ""
            added = function_call_item(item.id, item.call_id, item.name, "", "in_progress")
            out += self._emit("response.output_item.added", output_index=item.index, item=added)
            self._calls[position] = item
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item.text += arguments
            out += self._emit("response.function_call_arguments.delta", item_id=item.id, output_index=item.index,
                              delta=arguments)  # fmt: skip
        return out

    def _add(self, kind: str, prefix: str) -> _Item:
        number = self._counts[prefix]
        self._counts[prefix] = number + 1
        item = _Item(len(self._items), item_id(str(self.response["id"]), prefix, number), kind)
        self._items.append(item)
        return item

    def _open_part(self, item: _Item, part: str) -> bytes:
        item.part, item.text = part, ""
        empty = text_part("") if part == "output_text" else refusal_part("")
        return self._emit("response.content_part.added", item_id=item.id, output_index=item.index,
                          content_index=len(item.parts), part=empty)  # fmt: skip

    def _close_part(self, item: _Item) -> bytes:
        where = {"item_id": item.id, "output_index": item.index, "content_index": len(item.parts)}
        if item.part == "refusal":
            done = refusal_part(item.text)
            out = self._emit("response.refusal.done", **where, refusal=item.text)
        else:
            done = text_part(item.text)
            out = self._emit("response.output_text.done", **where, text=item.text, logprobs=[])
        item.parts.append(done)
        return out + self._emit("response.content_part.done", **where, part=done)

    def _close_open(self, status: str = "completed") -> bytes:
        item, self._open = self._open, None
        if item is None:
            return b""
        if item.kind == "reasoning":
            where = {"item_id": item.id, "output_index": item.index, "summary_index": 0}
            out = self._emit("response.reasoning_summary_text.done", **where, text=item.text)
            out += self._emit("response.reasoning_summary_part.done", **where,
                              part={"type": "summary_text", "text": item.text})  # fmt: skip
            return out + self._done(item, reasoning_item(item.id, item.text))
        out = self._close_part(item)
        return out + self._done(item, message_item(item.id, item.parts, status))

    def _close_call(self, item: _Item, status: str) -> bytes:
        out = self._emit("response.function_call_arguments.done", item_id=item.id, output_index=item.index,
                         arguments=item.text)  # fmt: skip
        return out + self._done(item, function_call_item(item.id, item.call_id, item.name, item.text, status))

    def _done(self, item: _Item, final: dict[str, Any]) -> bytes:
        self._output[item.index] = final
        return self._emit("response.output_item.done", output_index=item.index, item=final)

    def _end(self) -> bytes:
        status = item_status(self._finish)
        out = self._start()
        if not self._items:
            # An empty answer is still a message, as in a whole answer.
            out += self._empty_message()
        out += self._close_open(status)
        for item in self._items:
            if item.kind == "function_call":
                out += self._close_call(item, status)
        output = [self._output[index] for index in sorted(self._output)]
        self.response = finished(self.response, self._finish, output, responses_usage(self._usage))
        self.complete = True
        kind = "response.completed" if self.response["status"] == "completed" else "response.incomplete"
        return out + self._emit(kind, response=self.response)

    def _empty_message(self) -> bytes:
        item = self._add("message", "msg")
        out = self._emit("response.output_item.added", output_index=item.index,
                         item=message_item(item.id, [], "in_progress"))  # fmt: skip
        self._open = item
        return out + self._open_part(item, "output_text")


def _error(error: Any, raw: str) -> UpstreamServerError:
    message = error.get("message") if isinstance(error, dict) else error
    text = str(message) if message else "the upstream stream reported an error"
    # The stream's HTTP status was 200; the failure is the upstream's, so it reads as a 500.
    return UpstreamServerError(text, upstream_status=500, body=raw.encode())
