"""Legacy text completions as the fake answers them: `"Echo: <prompt>"` for each prompt, cut at `max_tokens` words."""

from __future__ import annotations

from typing import Any

from keyproxy.testing._delivery import DONE, JsonReply, Reply, StreamReply, data_frames
from keyproxy.testing._text import texts_of, word_pieces, words
from keyproxy.testing.responses import invalid_request


def completions_reply(body: dict[str, Any], *, serial: int, created: int) -> Reply:
    model = body.get("model")
    prompts = texts_of(body.get("prompt"))
    limit = body.get("max_tokens")
    if not isinstance(model, str) or not model:
        return JsonReply(400, invalid_request("you must provide a model parameter", "model"))
    if prompts is None:
        return JsonReply(400, invalid_request("prompt must be a string, or an array of strings or tokens", "prompt"))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        return JsonReply(400, invalid_request("max_tokens must be a positive integer", "max_tokens"))

    answers = [_answer(prompt, limit) for prompt in prompts]
    completion_tokens = sum(words(text) for text, _ in answers)
    prompt_tokens = sum(words(prompt) for prompt in prompts)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    head = {"id": f"cmpl-fake-{serial}", "object": "text_completion", "created": created, "model": model}
    if body.get("stream") is True:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return StreamReply((*data_frames(_chunks(head, answers, usage if include_usage else None)), DONE))
    choices = [_choice(index, text, finish) for index, (text, finish) in enumerate(answers)]
    return JsonReply(200, {**head, "choices": choices, "usage": usage})


def _answer(prompt: str, limit: int | None) -> tuple[str, str]:
    """The text and its finish reason: "length" when `max_tokens` (a word each) cut it."""
    kept: list[str] = []
    count = 0
    for piece in word_pieces("Echo: " + prompt):
        if piece.strip():
            if count == limit:
                return "".join(kept), "length"
            count += 1
        kept.append(piece)
    return "".join(kept), "stop"


def _choice(index: int, text: str, finish_reason: str | None) -> dict[str, Any]:
    return {"text": text, "index": index, "logprobs": None, "finish_reason": finish_reason}


def _chunks(head: dict[str, Any], answers: list[tuple[str, str]], usage: dict[str, int] | None) -> list[dict[str, Any]]:
    chunks = []
    for index, (text, finish) in enumerate(answers):
        chunks += [{**head, "choices": [_choice(index, piece, None)]} for piece in word_pieces(text)]
        chunks.append({**head, "choices": [_choice(index, "", finish)]})
    if usage is not None:
        chunks.append({**head, "choices": [], "usage": usage})
    return chunks
