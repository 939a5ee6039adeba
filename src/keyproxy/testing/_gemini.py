"""Gemini's generativelanguage v1beta routes: models, generateContent and its stream, countTokens, embeddings."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from keyproxy.testing._delivery import JsonReply
from keyproxy.testing._dialect import Handler, Route
from keyproxy.testing._embeddings import unit_vector
from keyproxy.testing._gemini_errors import GEMINI, google_error
from keyproxy.testing._gemini_generate import Stream, generate_reply, parts_of, pick, prompt_words

PREFIX = "/v1beta/"
_MODELS = "/v1beta/models"


def gemini_route(method: str, path: str, query: Mapping[str, str], models: Sequence[str]) -> Route:
    """`GET /v1beta/models[/{model}]`, or `POST /v1beta/models/{model}:{method}`."""
    if not path.startswith(_MODELS):
        return Route(GEMINI, None)
    rest = path.removeprefix(_MODELS)
    if method == "GET" and rest == "":
        return Route(GEMINI, functools.partial(_model_list, models))
    if method == "GET" and rest.startswith("/") and ":" not in rest:
        return Route(GEMINI, functools.partial(_model, models, rest[1:]), rest[1:])
    model, _, action = rest[1:].rpartition(":")
    if method != "POST" or not rest.startswith("/") or not model:
        return Route(GEMINI, None)
    handler: Handler | None
    if action == "generateContent":
        handler = functools.partial(generate_reply, model=model, stream=None)
    elif action == "streamGenerateContent":
        stream: Stream = "sse" if query.get("alt") == "sse" else "json"
        handler = functools.partial(generate_reply, model=model, stream=stream)
    else:
        handler = _PLAIN.get(action)
    return Route(GEMINI, handler, model)


def _describe(model: str) -> dict[str, Any]:
    methods = ["embedContent"] if "embed" in model else ["generateContent", "countTokens"]
    return {"name": f"models/{model}", "displayName": model, "supportedGenerationMethods": methods}


def _model_list(models: Sequence[str], body: dict[str, Any]) -> JsonReply:
    return JsonReply(200, {"models": [_describe(model) for model in models]})


def _model(models: Sequence[str], model: str, body: dict[str, Any]) -> JsonReply:
    if model not in models:
        return JsonReply(404, google_error(404, f"models/{model} is not found for API version v1beta."))
    return JsonReply(200, _describe(model))


def _count_tokens(body: dict[str, Any]) -> JsonReply:
    """Counts `contents`, or the contents of a whole `generateContentRequest`."""
    request = pick(body, "generateContentRequest")
    source = request if isinstance(request, dict) else body
    if not isinstance(source.get("contents"), list):
        return JsonReply(400, google_error(400, "* CountTokensRequest.contents: contents is not specified"))
    return JsonReply(200, {"totalTokens": prompt_words(source)})


def _embed(body: dict[str, Any]) -> JsonReply:
    content = body.get("content")
    if not isinstance(content, dict):
        return JsonReply(400, google_error(400, "* EmbedContentRequest.content: content is not specified"))
    return JsonReply(200, {"embedding": {"values": unit_vector(_text(content))}})


def _batch_embed(body: dict[str, Any]) -> JsonReply:
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests or not all(isinstance(r, dict) for r in requests):
        return JsonReply(400, google_error(400, "* BatchEmbedContentsRequest.requests: requests is not specified"))
    embeddings = [{"values": unit_vector(_text(request.get("content")))} for request in requests]
    return JsonReply(200, {"embeddings": embeddings})


_PLAIN: dict[str, Handler] = {
    "countTokens": _count_tokens,
    "embedContent": _embed,
    "batchEmbedContents": _batch_embed,
}


def _text(content: object) -> str:
    return " ".join(part["text"] for part in parts_of(content) if isinstance(part.get("text"), str))
