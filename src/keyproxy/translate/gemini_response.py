"""Gemini generateContent answers as OpenAI chat completions, with the pieces the stream shares."""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

import msgspec

from keyproxy.errors import InvalidUpstreamResponse, UpstreamClientError
from keyproxy.translate.malformed import malformed_answer

_FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)


@dataclass(frozen=True, slots=True)
class Parts:
    """What one candidate (or one streamed piece of it) said, sorted by kind."""

    text: str
    reasoning: str
    tool_calls: list[dict[str, Any]]


@malformed_answer("Gemini answer")
def gemini_to_chat(resp: dict[str, Any], *, model: str, created: int) -> dict[str, Any]:
    """The chat.completion for a GenerateContentResponse; raises when Gemini refused the prompt or said nothing."""
    candidates = resp.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        blocked = prompt_blocked(resp)
        if blocked is not None:
            raise blocked
        raise InvalidUpstreamResponse("Gemini answered with no candidates")
    response_id = resp.get("responseId")
    choices = []
    for position, candidate in enumerate(candidates):
        index = choice_index(candidate, position)
        parts = read_parts(candidate, response_id=response_id, choice=index, first_call=0)
        message: dict[str, Any] = {"role": "assistant", "content": parts.text or (None if parts.tool_calls else "")}
        if parts.reasoning:
            message["reasoning_content"] = parts.reasoning
        if parts.tool_calls:
            message["tool_calls"] = parts.tool_calls
        reason = finish_reason(candidate.get("finishReason") or "STOP", has_calls=bool(parts.tool_calls))
        choices.append({"index": index, "message": message, "finish_reason": reason, "logprobs": logprobs(candidate)})
    completion: dict[str, Any] = {
        "id": completion_id(response_id, model, created),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
    }
    if isinstance(resp.get("usageMetadata"), dict):
        completion["usage"] = chat_usage(resp["usageMetadata"])
    return completion


@malformed_answer("Gemini embeddings answer")
def gemini_embeddings_to_openai(resp: dict[str, Any], *, model: str, encoding_format: str | None) -> dict[str, Any]:
    """The OpenAI embeddings list for a batchEmbedContents answer; Gemini reports no token counts, so usage is 0."""
    embeddings = resp.get("embeddings")
    if not isinstance(embeddings, list):
        raise InvalidUpstreamResponse("Gemini's embeddings answer has no embeddings array")
    data = []
    for index, embedding in enumerate(embeddings):
        values = embedding.get("values") if isinstance(embedding, dict) else None
        if not isinstance(values, list) or not all(_is_number(value) for value in values):
            raise InvalidUpstreamResponse("a Gemini embedding has no values, or values that are not numbers")
        vector = _base64_floats(values) if encoding_format == "base64" else values
        data.append({"object": "embedding", "index": index, "embedding": vector})
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}


@malformed_answer("Gemini model list")
def gemini_models(resp: dict[str, Any]) -> list[str]:
    """Model ids from a models.list answer, keeping models that chat or embed when Gemini says what they do."""
    entries = resp.get("models")
    if not isinstance(entries, list):
        raise InvalidUpstreamResponse("Gemini's model list has no models array")
    ids = []
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        methods = entry.get("supportedGenerationMethods") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            continue
        if isinstance(methods, list) and not {"generateContent", "embedContent"} & set(methods):
            continue
        ids.append(name.removeprefix("models/"))
    return ids


def prompt_blocked(resp: dict[str, Any]) -> UpstreamClientError | None:
    """The error for a prompt Gemini refused to answer, if it did."""
    feedback = resp.get("promptFeedback")
    reason = feedback.get("blockReason") if isinstance(feedback, dict) else None
    if not reason:
        return None
    blocked = UpstreamClientError(f"prompt blocked by Gemini: {reason}", upstream_status=400)
    # What OpenAI-compatible servers (Azure's among them) call a prompt their filter refused.
    blocked.code = "content_filter"
    return blocked


def choice_index(candidate: dict[str, Any], position: int) -> int:
    # Gemini leaves out index 0, as protobuf JSON leaves out every zero.
    index = candidate.get("index", position)
    return index if isinstance(index, int) else position


def read_parts(candidate: dict[str, Any], *, response_id: Any, choice: int, first_call: int) -> Parts:
    """Text, thoughts and function calls of a candidate; calls are numbered on from `first_call`."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, dict):
            continue
        call = part.get("functionCall")
        if isinstance(call, dict):
            position = first_call + len(calls)
            calls.append(_tool_call(call, part.get("thoughtSignature"), f"{response_id}|{choice}|{position}"))
        elif isinstance(part.get("text"), str):
            (reasoning if part.get("thought") is True else text).append(part["text"])
    return Parts("".join(text), "".join(reasoning), calls)


def logprobs(candidate: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI's `logprobs` for a candidate's `logprobsResult`: each chosen token with its log probability and,
    when asked for, the top alternatives at that position."""
    result = candidate.get("logprobsResult")
    chosen = result.get("chosenCandidates") if isinstance(result, dict) else None
    if not isinstance(chosen, list):
        return None
    top = result.get("topCandidates") if isinstance(result, dict) else None
    tops = top if isinstance(top, list) else []
    content = []
    for position, token in enumerate(chosen):
        entry = _token_logprob(token)
        alternatives = (
            tops[position].get("candidates") if position < len(tops) and isinstance(tops[position], dict) else None
        )
        entry["top_logprobs"] = [_token_logprob(alt) for alt in alternatives] if isinstance(alternatives, list) else []
        content.append(entry)
    return {"content": content, "refusal": None}


def _token_logprob(token: Any) -> dict[str, Any]:
    text = token.get("token") if isinstance(token, dict) else None
    text = text if isinstance(text, str) else ""
    value = token.get("logProbability") if isinstance(token, dict) else None
    # Gemini leaves out a log probability of 0, as protobuf JSON leaves out every zero.
    return {"token": text, "logprob": value if isinstance(value, int | float) else 0.0, "bytes": list(text.encode())}


def finish_reason(reason: str, *, has_calls: bool) -> str:
    if reason in _FILTERED:
        return "content_filter"
    if reason == "MAX_TOKENS":
        return "length"
    return "tool_calls" if has_calls and reason == "STOP" else "stop"


def chat_usage(meta: dict[str, Any]) -> dict[str, Any]:
    """OpenAI usage from usageMetadata; thinking tokens count as completion tokens, as OpenAI counts reasoning."""
    prompt = _count(meta, "promptTokenCount")
    thoughts = _count(meta, "thoughtsTokenCount")
    completion = _count(meta, "candidatesTokenCount") + thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": _count(meta, "totalTokenCount") or prompt + completion,
        "prompt_tokens_details": {"cached_tokens": _count(meta, "cachedContentTokenCount")},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }


def completion_id(response_id: Any, model: str, created: int) -> str:
    if isinstance(response_id, str) and response_id:
        return f"chatcmpl-{response_id}"
    return f"chatcmpl-{_digest(f'{model}|{created}')}"


def _tool_call(call: dict[str, Any], signature: Any, seed: str) -> dict[str, Any]:
    name = call.get("name") if isinstance(call.get("name"), str) else ""
    arguments = msgspec.json.encode(call.get("args") or {}).decode()
    # Gemini gives calls no id; this one is stable for a given answer and differs between answers.
    tool_call: dict[str, Any] = {
        "id": f"call_{_digest(f'{seed}|{name}|{arguments}')}",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }
    if isinstance(signature, str):
        tool_call["extra_content"] = {"google": {"thought_signature": signature}}
    return tool_call


def _base64_floats(values: list[float]) -> str:
    """OpenAI's base64 encoding: little-endian float32s."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _count(meta: dict[str, Any], key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) else 0
