"""OpenAI chat messages as Gemini `contents` and `systemInstruction` parts."""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import urlsplit

import msgspec

from keyproxy.errors import InvalidRequest

Part = dict[str, Any]

# Google's documented stand-in for a thought signature when the history was not produced by Gemini;
# Gemini 3 rejects a replayed function call that carries neither.
SKIP_SIGNATURE = "skip_thought_signature_validator"
_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".heic": "image/heic",
    ".heif": "image/heif",
}


def convert_messages(messages: Any) -> tuple[list[dict[str, Any]], list[Part]]:
    """(contents, system parts): system and developer text goes to the system instruction, wherever it stands."""
    if not isinstance(messages, list):
        raise InvalidRequest("messages must be a list")
    system: list[Part] = []
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for message in messages:
        if not isinstance(message, dict):
            raise InvalidRequest("each message must be an object")
        role = message.get("role")
        if role in ("system", "developer"):
            system += _text_parts(message.get("content"))
            continue
        if role == "user":
            gemini_role, parts = "user", _user_parts(message.get("content"))
        elif role == "assistant":
            gemini_role, parts = "model", _assistant_parts(message, call_names)
        elif role == "tool":
            gemini_role, parts = "user", [_function_response(message, call_names)]
        else:
            raise InvalidRequest(f"message role {role!r} cannot be sent to Gemini")
        if not parts:
            continue  # Gemini rejects a content without parts
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"] += parts
        else:
            contents.append({"role": gemini_role, "parts": parts})
    return contents, system


def _text_parts(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise InvalidRequest("message content must be a string or a list of parts")
    texts = [_text_of(part) for part in content]
    return [{"text": text} for text in texts if text]


def _text_of(part: Any) -> str:
    if isinstance(part, dict) and part.get("type") in ("text", "refusal"):
        text = part.get(part["type"])
        if isinstance(text, str):
            return text
    raise InvalidRequest("system, assistant and tool messages take text parts only")


def _user_parts(content: Any) -> list[Part]:
    if not isinstance(content, list):
        return _text_parts(content)
    parts = [_user_part(part) for part in content]
    return [part for part in parts if part.get("text") != ""]


def _user_part(part: Any) -> Part:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return {"text": _text_of(part)}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return _image(url)
    if kind == "input_audio":
        audio = part.get("input_audio")
        if not isinstance(audio, dict) or not isinstance(audio.get("format"), str):
            raise InvalidRequest("input_audio needs data and a format")
        return {"inlineData": {"mimeType": f"audio/{audio['format']}", "data": audio.get("data")}}
    if kind == "file":
        file = part.get("file")
        if not isinstance(file, dict) or not isinstance(file.get("file_data"), str):
            raise InvalidRequest("Gemini takes files inline only (file_data), not by file_id")
        return _inline(file["file_data"])
    raise InvalidRequest(f"content part type {kind!r} cannot be sent to Gemini")


def _image(url: Any) -> Part:
    if not isinstance(url, str):
        raise InvalidRequest("image_url needs a url")
    if url.startswith("data:"):
        return _inline(url)
    if not url.startswith(("https://", "http://")):
        raise InvalidRequest("image urls must be data: or http(s) urls")
    # Gemini's fileData.mimeType is optional: with no known extension, Gemini reads the type itself.
    mime = _IMAGE_TYPES.get(posixpath.splitext(urlsplit(url).path)[1].lower())
    return {"fileData": {"mimeType": mime, "fileUri": url} if mime else {"fileUri": url}}


def _inline(url: str) -> Part:
    """A base64 data URL as inline data."""
    head, comma, data = url.partition(",")
    mime, *params = head.removeprefix("data:").split(";")
    if not comma or not mime or "base64" not in params:
        raise InvalidRequest("data urls must be base64 and name their media type")
    return {"inlineData": {"mimeType": mime, "data": data}}


def _assistant_parts(message: dict[str, Any], call_names: dict[str, str]) -> list[Part]:
    parts = _text_parts(message.get("content"))
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise InvalidRequest("tool_calls must be a list")
    for position, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise InvalidRequest("every tool call needs a function name")
        call_names[str(call.get("id"))] = function["name"]
        part: Part = {"functionCall": {"name": function["name"], "args": _arguments(function.get("arguments"))}}
        signature = _signature(call)
        # Gemini signs only the first of parallel calls, so only the first needs a stand-in.
        if signature is None and position == 0:
            signature = SKIP_SIGNATURE
        if signature is not None:
            part["thoughtSignature"] = signature
        parts.append(part)
    return parts


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if raw is None or raw == "":
        return {}
    try:
        args = msgspec.json.decode(raw) if isinstance(raw, str) else None
    except msgspec.DecodeError as exc:
        raise InvalidRequest("tool call arguments are not valid JSON") from exc
    if not isinstance(args, dict):
        raise InvalidRequest("tool call arguments must be a JSON object")
    return args


def _signature(call: dict[str, Any]) -> str | None:
    """The thought signature a Gemini response put on this call (Gemini's own OpenAI endpoint uses this spot)."""
    extra = call.get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    return signature if isinstance(signature, str) else None


def _function_response(message: dict[str, Any], call_names: dict[str, str]) -> Part:
    call_id = str(message.get("tool_call_id"))
    if call_id not in call_names:
        raise InvalidRequest(f"tool message answers unknown tool_call_id {call_id!r}")
    text = "".join(part["text"] for part in _text_parts(message.get("content")))
    return {"functionResponse": {"name": call_names[call_id], "response": _tool_result(text)}}


def _tool_result(text: str) -> dict[str, Any]:
    """A JSON object result goes as it is; anything else is wrapped, since Gemini wants an object."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        value = None
    return value if isinstance(value, dict) else {"content": text}
