"""OpenAI chat and embeddings requests as Gemini generateContent and batchEmbedContents bodies."""

from __future__ import annotations

from typing import Any

from keyproxy.errors import InvalidRequest
from keyproxy.translate.fields import refuse, refuse_unhandled, stop_sequences
from keyproxy.translate.gemini_content import convert_messages
from keyproxy.translate.gemini_schema import clean_schema
from keyproxy.translate.malformed import malformed_request

# The budgets Gemini's own OpenAI-compatible endpoint gives these efforts; "minimal" gets the smallest of
# them, and "none" turns thinking off (models that cannot stop thinking answer 400).
_THINKING_BUDGETS = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}
_CHOICE_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
_SAMPLING = (
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("top_k", "topK"),
    ("n", "candidateCount"),
    ("seed", "seed"),
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
)
_HANDLED = frozenset(
    {
        *(name for name, _ in _SAMPLING),
        "model",
        "stream",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "response_format",
        "reasoning_effort",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "logprobs",
        "top_logprobs",
        "modalities",
        "service_tier",
        # Asked of the answer, not of Gemini: the usage chunk is the stream translator's to send.
        "stream_options",
        # Change nothing in the answer: end-user ids for abuse tracking (Gemini takes none), OpenAI's cache
        # routing and stored-completion tags, predicted output.
        "user",
        "safety_identifier",
        "metadata",
        "prompt_cache_key",
        "prompt_cache_retention",
        "prompt_cache_options",
        "prediction",
    }
)
_TARGET = "Gemini"
# `user` changes nothing in the vectors; the encoding is applied to Gemini's floats on the way back.
_EMBEDDINGS_HANDLED = frozenset({"model", "input", "dimensions", "encoding_format", "user"})


@malformed_request("chat request")
def chat_to_gemini(chat: dict[str, Any]) -> dict[str, Any]:
    """The generateContent body for an OpenAI chat completion request; InvalidRequest names a field Gemini
    cannot honour."""
    refuse_unhandled(chat, _HANDLED, _TARGET)
    if chat.get("modalities") not in (None, ["text"]):
        raise refuse("modalities", _TARGET)
    if chat.get("service_tier") not in (None, "auto", "default"):
        raise refuse("service_tier", _TARGET)
    contents, system = convert_messages(chat.get("messages"))
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    tools = chat.get("tools")
    if tools:
        if not isinstance(tools, list):
            raise InvalidRequest("tools must be a list")
        body["tools"] = [{"functionDeclarations": [_declaration(tool) for tool in tools]}]
        if chat.get("parallel_tool_calls") is False:
            raise InvalidRequest(
                "parallel_tool_calls false cannot be sent to Gemini: it cannot be held to one tool call per turn"
            )
        calling = _calling_config(chat.get("tool_choice"))
        if calling is not None:
            body["toolConfig"] = {"functionCallingConfig": calling}
    config = _generation_config(chat)
    if config:
        body["generationConfig"] = config
    return body


@malformed_request("embeddings request")
def embeddings_to_gemini(req: dict[str, Any], *, model: str) -> dict[str, Any]:
    """The batchEmbedContents body for an OpenAI embeddings request: one request per input string."""
    refuse_unhandled(req, _EMBEDDINGS_HANDLED, _TARGET)
    texts = req.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, list) and texts and all(isinstance(text, int | list) for text in texts):
        raise InvalidRequest(
            "Gemini embeds text, but this input is token ids: send the text itself (LangChain's "
            "OpenAIEmbeddings sends token ids unless created with check_embedding_ctx_length=False)"
        )
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        raise InvalidRequest("Gemini embeds input given as a string or a non-empty list of strings")
    if req.get("encoding_format") not in (None, "float", "base64"):
        raise InvalidRequest("encoding_format must be float or base64")
    name = model if model.startswith("models/") else f"models/{model}"
    extra: dict[str, Any] = {}
    if req.get("dimensions") is not None:
        extra["outputDimensionality"] = req["dimensions"]
    return {"requests": [{"model": name, "content": {"parts": [{"text": text}]}, **extra} for text in texts]}


def _declaration(tool: Any) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
    if not isinstance(function, dict):
        raise InvalidRequest("only function tools can be sent to Gemini")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("every tool needs a function name")
    declaration: dict[str, Any] = {"name": name}
    if isinstance(function.get("description"), str):
        declaration["description"] = function["description"]
    parameters = function.get("parameters")
    if isinstance(parameters, dict):
        cleaned = clean_schema(parameters)
        # Gemini rejects an object without properties; a function that takes nothing just has no parameters.
        if cleaned.get("properties"):
            declaration["parameters"] = cleaned
    return declaration


def _calling_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, str) and choice in _CHOICE_MODES:
        return {"mode": _CHOICE_MODES[choice]}
    function = choice.get("function") if isinstance(choice, dict) and choice.get("type") == "function" else None
    name = function.get("name") if isinstance(function, dict) else None
    if isinstance(name, str):
        return {"mode": "ANY", "allowedFunctionNames": [name]}
    raise InvalidRequest("tool_choice must be auto, required, none or one named function")


def _generation_config(chat: dict[str, Any]) -> dict[str, Any]:
    config = {gemini: chat[openai] for openai, gemini in _SAMPLING if chat.get(openai) is not None}
    limit = chat.get("max_completion_tokens")
    limit = chat.get("max_tokens") if limit is None else limit
    if limit is not None:
        config["maxOutputTokens"] = limit
    stop = chat.get("stop")
    if stop:
        config["stopSequences"] = stop_sequences(stop)
    config |= _response_format(chat.get("response_format"))
    if chat.get("logprobs") or chat.get("top_logprobs") is not None:
        config["responseLogprobs"] = True
        if chat.get("top_logprobs") is not None:
            config["logprobs"] = chat["top_logprobs"]
    effort = chat.get("reasoning_effort")
    if effort is not None:
        if effort not in _THINKING_BUDGETS:
            raise InvalidRequest(
                f"reasoning_effort {effort!r} has no Gemini thinking budget; use one of {', '.join(_THINKING_BUDGETS)}"
            )
        budget = _THINKING_BUDGETS[effort]
        # Thought summaries come back as reasoning_content, except when thinking is off.
        config["thinkingConfig"] = (
            {"thinkingBudget": budget, "includeThoughts": True} if budget else {"thinkingBudget": 0}
        )
    return config


def _response_format(response_format: Any) -> dict[str, Any]:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if response_format is None or kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind != "json_schema":
        raise InvalidRequest("response_format must be text, json_object or json_schema")
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        return {"responseMimeType": "application/json"}
    return {"responseMimeType": "application/json", "responseSchema": clean_schema(schema)}
