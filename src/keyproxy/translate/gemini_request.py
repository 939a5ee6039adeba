"""OpenAI chat and embeddings requests as Gemini generateContent and batchEmbedContents bodies."""

from __future__ import annotations

from typing import Any

from keyproxy.errors import InvalidRequest
from keyproxy.translate.gemini_content import convert_messages
from keyproxy.translate.gemini_schema import clean_schema

# The budgets Gemini's own OpenAI-compatible endpoint gives these efforts.
_THINKING_BUDGETS = {"low": 1024, "medium": 8192, "high": 24576}
_CHOICE_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
_SAMPLING = (
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("top_k", "topK"),
    ("n", "candidateCount"),
    ("seed", "seed"),
)


def chat_to_gemini(chat: dict[str, Any]) -> dict[str, Any]:
    """The generateContent body for an OpenAI chat completion request; fields Gemini lacks are dropped."""
    contents, system = convert_messages(chat.get("messages"))
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    tools = chat.get("tools")
    if tools:
        if not isinstance(tools, list):
            raise InvalidRequest("tools must be a list")
        body["tools"] = [{"functionDeclarations": [_declaration(tool) for tool in tools]}]
        calling = _calling_config(chat.get("tool_choice"))
        if calling is not None:
            body["toolConfig"] = {"functionCallingConfig": calling}
    config = _generation_config(chat)
    if config:
        body["generationConfig"] = config
    return body


def embeddings_to_gemini(req: dict[str, Any], *, model: str) -> dict[str, Any]:
    """The batchEmbedContents body for an OpenAI embeddings request: one request per input string."""
    texts = req.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        raise InvalidRequest("Gemini embeds a string or a list of strings; token arrays cannot be sent")
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
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    config |= _response_format(chat.get("response_format"))
    budget = _THINKING_BUDGETS.get(chat["reasoning_effort"]) if isinstance(chat.get("reasoning_effort"), str) else None
    if budget is not None:
        config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": True}
    return config


def _response_format(response_format: Any) -> dict[str, Any]:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind != "json_schema":
        return {}
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        return {"responseMimeType": "application/json"}
    return {"responseMimeType": "application/json", "responseSchema": clean_schema(schema)}
