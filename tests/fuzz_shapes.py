"""Real-looking requests, answers and stream events of each wire format: the templates the fuzzers bend."""

from __future__ import annotations

from typing import Any

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "enum": ["Paris", None]},
        "days": {"type": ["integer", "null"], "minimum": 1},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}},
        "where": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "place"},
        "all": {"allOf": [{"properties": {"a": {"const": 1}}, "required": ["a"]}]},
    },
    "required": ["city"],
    "$defs": {"tag": {"type": "string", "format": "date-time"}},
}

TOOL = {"type": "function", "function": {"name": "weather", "description": "d", "parameters": SCHEMA, "strict": True}}

CHAT_REQUESTS: list[dict[str, Any]] = [
    {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Metric."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
                {"type": "image_url", "image_url": "https://x.test/a.jpg"},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,AAAA", "filename": "a.pdf"}},
                {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
            ]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"},
                 "extra_content": {"google": {"thought_signature": "sig"}}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 20}"},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
            {"role": "user", "content": "Thanks", "name": "u"},
        ],
        "tools": [TOOL],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "parallel_tool_calls": True,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.5,
        "top_p": 0.9,
        "max_tokens": 100,
        "max_completion_tokens": 120,
        "stop": ["END", "STOP"],
        "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": SCHEMA, "strict": True}},
        "user": "u1",
        "n": 1,
        "service_tier": "auto",
        "metadata": {"a": "b"},
    },
    {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "stop": "END",
        "response_format": {"type": "json_object"},
        "tool_choice": "required",
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "logprobs": True,
        "top_logprobs": 2,
        "seed": 1,
        "modalities": ["text"],
    },
]  # fmt: skip

EMBEDDINGS_REQUESTS: list[dict[str, Any]] = [
    {"model": "e", "input": ["one", "two"], "dimensions": 8, "encoding_format": "base64", "user": "u"},
    {"model": "e", "input": "one", "encoding_format": "float"},
]

MESSAGES_REQUESTS: list[dict[str, Any]] = [
    {
        "model": "m",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "AAAA"}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}},
                {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "c"}]}},
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "s"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "20"}]},
                {"type": "text", "text": "And tomorrow?"},
            ]},
            {"role": "assistant", "content": "Sunny."},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [{"name": "weather", "description": "d", "input_schema": SCHEMA, "strict": True}],
        "tool_choice": {"type": "tool", "name": "weather", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u1"},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "output_config": {"effort": "high", "format": {"type": "json_schema", "schema": SCHEMA}},
        "stream": True,
        "temperature": 1,
        "service_tier": "standard_only",
    },
    {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "Hi"}],
        "thinking": {"type": "adaptive"},
        "output_format": {"type": "json_schema", "schema": {"type": "object"}},
        "tool_choice": {"type": "any"},
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
    },
]  # fmt: skip

RESPONSES_REQUESTS: list[dict[str, Any]] = [
    {
        "model": "m",
        "instructions": "Be brief.",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Metric."}]},
            {"role": "user", "content": [
                {"type": "input_text", "text": "Weather?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,AAAA", "filename": "a.pdf"},
            ]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
            {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "20"},
            {"type": "function_call_output", "call_id": "call_1", "output": [{"type": "input_text", "text": "20"}]},
        ],
        "tools": [{"type": "function", "name": "weather", "description": "d", "parameters": SCHEMA, "strict": True}],
        "tool_choice": {"type": "function", "name": "weather"},
        "parallel_tool_calls": False,
        "text": {"format": {"type": "json_schema", "name": "w", "schema": SCHEMA, "strict": True}, "verbosity": "low"},
        "reasoning": {"effort": "low", "summary": "auto"},
        "max_output_tokens": 100,
        "temperature": 0.5,
        "top_p": 0.9,
        "user": "u",
        "store": True,
        "stream": True,
        "metadata": {"a": "b"},
        "include": ["reasoning.encrypted_content"],
        "truncation": "disabled",
    },
    {"model": "m", "input": "Hi", "text": {"format": {"type": "json_object"}}, "tool_choice": "auto"},
]  # fmt: skip

CHAT_ANSWERS: list[dict[str, Any]] = [
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Paris is sunny.",
                "reasoning_content": "thinking",
                "refusal": None,
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}],
            },
            "finish_reason": "tool_calls",
            "logprobs": None,
        }],
        "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16,
                  "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 1}},
    },
    {"id": "x", "choices": [{"message": {"content": [{"type": "text", "text": "a"}], "refusal": "no"},
                             "finish_reason": "length"}]},
]  # fmt: skip

MESSAGES_ANSWERS: list[dict[str, Any]] = [
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "Paris is sunny."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 9, "output_tokens": 7, "cache_read_input_tokens": 2,
                  "cache_creation_input_tokens": 1},
    },
]  # fmt: skip

GEMINI_ANSWERS: list[dict[str, Any]] = [
    {
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "thinking", "thought": True},
                {"text": "Paris is sunny."},
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig"},
            ]},
            "finishReason": "STOP",
            "index": 0,
            "logprobsResult": {
                "chosenCandidates": [{"token": "Paris", "logProbability": -0.1}],
                "topCandidates": [{"candidates": [{"token": "Paris", "logProbability": -0.1}]}],
            },
        }],
        "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 36,
                          "thoughtsTokenCount": 20, "cachedContentTokenCount": 1},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r1",
    },
    {"promptFeedback": {"blockReason": "SAFETY"}},
    {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}},
]  # fmt: skip

GEMINI_EMBEDDINGS: list[dict[str, Any]] = [{"embeddings": [{"values": [0.5, -1.0, 2]}, {"values": [1.5]}]}]
GEMINI_MODELS: list[dict[str, Any]] = [
    {"models": [{"name": "models/gemini-2.5-flash", "supportedGenerationMethods": ["generateContent"]},
                {"name": "models/e", "supportedGenerationMethods": ["embedContent"]}], "nextPageToken": "t"},
]  # fmt: skip

CHAT_EVENTS: list[tuple[str | None, Any]] = [
    (None, {"id": "c1", "object": "chat.completion.chunk", "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}),
    (None, {"id": "c1", "choices": [{"index": 0, "delta": {"reasoning_content": "hmm"}}]}),
    (None, {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Paris"}}]}),
    (None, {"id": "c1", "choices": [{"index": 0, "delta": {"refusal": "no"}}]}),
    (None, {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"ci"}}]}}]}),
    (None, {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "function": {"arguments": "ty\":1}"}}]}}]}),
    (None, {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    (None, {"id": "c1", "choices": [], "usage": CHAT_ANSWERS[0]["usage"]}),
    (None, {"error": {"message": "overloaded", "type": "server_error"}}),
    (None, b"[DONE]"),
]  # fmt: skip

MESSAGES_EVENTS: list[tuple[str | None, Any]] = [
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "m",
        "usage": {"input_tokens": 9, "output_tokens": 1, "cache_read_input_tokens": 2}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0,
                             "content_block": {"type": "thinking", "thinking": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "signature_delta", "signature": "s"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1,
                             "delta": {"type": "text_delta", "text": "Paris"}}),
    ("content_block_start", {"type": "content_block_start", "index": 2,
                             "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 2,
                             "delta": {"type": "input_json_delta", "partial_json": "{\"city\":1}"}}),
    ("ping", {"type": "ping"}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                       "usage": {"output_tokens": 7}}),
    ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ("message_stop", {"type": "message_stop"}),
]  # fmt: skip

GEMINI_EVENTS: list[tuple[str | None, Any]] = [
    (None, {"candidates": [{"content": {"role": "model", "parts": [{"text": "hmm", "thought": True}]}, "index": 0}],
            "responseId": "r1"}),
    (None, {"candidates": [{"content": {"role": "model", "parts": [{"text": "Paris"}]}}], "responseId": "r1"}),
    (None, {"candidates": [{"content": {"parts": [{"functionCall": {"name": "weather", "args": {"city": "P"}}}]},
                            "finishReason": "STOP", "logprobsResult": {"chosenCandidates": [{"token": "P"}]}}],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 7}}),
    (None, {"promptFeedback": {"blockReason": "SAFETY"}}),
    (None, {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}),
]  # fmt: skip

RESPONSES_EVENTS: list[tuple[str | None, Any]] = [
    ("response.created", {"type": "response.created", "sequence_number": 0,
                          "response": {"id": "resp_1", "object": "response", "status": "in_progress"}}),
    ("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 1, "delta": "Paris"}),
    ("error", {"type": "error", "sequence_number": 2, "code": "server_error", "message": "boom"}),
    ("response.completed", {"type": "response.completed", "sequence_number": 3,
                            "response": {"id": "resp_1", "usage": {"input_tokens": 9, "output_tokens": 7}}}),
]  # fmt: skip
