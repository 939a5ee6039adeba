from __future__ import annotations

from typing import Any

import msgspec
import pytest

from keyproxy.errors import InvalidUpstreamResponse, UpstreamClientError
from keyproxy.translate.gemini_response import gemini_models, gemini_to_chat

USAGE = {
    "promptTokenCount": 12,
    "candidatesTokenCount": 30,
    "totalTokenCount": 142,
    "cachedContentTokenCount": 4,
    "thoughtsTokenCount": 100,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}],
}
# The shape generateContent answers with (gemini-2.5-flash, includeThoughts on).
THINKING_ANSWER: dict[str, Any] = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {"text": "**Weighing options**\n\nThe user wants", "thought": True},
                    {"text": "Paris is the capital"},
                    {"text": " of France."},
                ],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}],
        }
    ],
    "usageMetadata": USAGE,
    "modelVersion": "gemini-2.5-flash",
    "responseId": "mI3CaLuLO9ijz7IP0ZqFiAs",
}
CALL_ANSWER: dict[str, Any] = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {
                        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                        "thoughtSignature": "CiQB0e2K",
                    },
                    {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
                ],
                "role": "model",
            },
            "finishReason": "STOP",
        }
    ],
    "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 10, "totalTokenCount": 60},
    "responseId": "c2FtcGxl",
}


def to_chat(resp: dict[str, Any]) -> dict[str, Any]:
    return gemini_to_chat(resp, model="gemini-2.5-flash", created=1_700_000_000)


def candidate(finish: str, parts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    content = {"content": {"parts": parts, "role": "model"}} if parts is not None else {}
    return {"candidates": [{**content, "finishReason": finish}]}


def test_the_envelope_is_a_chat_completion() -> None:
    completion = to_chat(THINKING_ANSWER)
    assert completion["id"] == "chatcmpl-mI3CaLuLO9ijz7IP0ZqFiAs"
    assert completion["object"] == "chat.completion"
    assert (completion["created"], completion["model"]) == (1_700_000_000, "gemini-2.5-flash")


def test_text_parts_join_into_the_content() -> None:
    assert to_chat(THINKING_ANSWER)["choices"][0]["message"]["content"] == "Paris is the capital of France."


def test_thought_parts_become_reasoning_content() -> None:
    message = to_chat(THINKING_ANSWER)["choices"][0]["message"]
    assert message["reasoning_content"] == "**Weighing options**\n\nThe user wants"


def test_usage_counts_thinking_as_completion_tokens() -> None:
    assert to_chat(THINKING_ANSWER)["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 130,
        "total_tokens": 142,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 100},
    }


def test_function_calls_become_tool_calls_with_compact_arguments() -> None:
    message = to_chat(CALL_ANSWER)["choices"][0]["message"]
    assert message["content"] is None
    assert [call["function"] for call in message["tool_calls"]] == [
        {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"name": "get_weather", "arguments": '{"city":"Rome"}'},
    ]
    assert all(call["type"] == "function" for call in message["tool_calls"])


def test_tool_call_ids_are_stable_and_distinct() -> None:
    first = [call["id"] for call in to_chat(CALL_ANSWER)["choices"][0]["message"]["tool_calls"]]
    again = [call["id"] for call in to_chat(CALL_ANSWER)["choices"][0]["message"]["tool_calls"]]
    other = [
        call["id"] for call in to_chat({**CALL_ANSWER, "responseId": "b3RoZXI="})["choices"][0]["message"]["tool_calls"]
    ]
    assert first == again
    assert len(set(first)) == 2
    assert all(call_id.startswith("call_") for call_id in first)
    assert not set(first) & set(other)


def test_a_thought_signature_rides_on_its_tool_call() -> None:
    first, second = to_chat(CALL_ANSWER)["choices"][0]["message"]["tool_calls"]
    assert first["extra_content"] == {"google": {"thought_signature": "CiQB0e2K"}}
    assert "extra_content" not in second


def test_stop_with_function_calls_finishes_as_tool_calls() -> None:
    assert to_chat(CALL_ANSWER)["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("OTHER", "stop"),
        ("LANGUAGE", "stop"),
    ],
)
def test_finish_reasons_map_to_openai_ones(reason: str, expected: str) -> None:
    assert to_chat(candidate(reason, [{"text": "x"}]))["choices"][0]["finish_reason"] == expected


def test_a_safety_stop_without_content_is_an_empty_filtered_choice() -> None:
    resp = candidate("SAFETY")
    resp["candidates"][0]["safetyRatings"] = [
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
    ]
    choice = to_chat(resp)["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": ""}
    assert choice["finish_reason"] == "content_filter"


def test_each_candidate_becomes_a_choice_at_its_index() -> None:
    resp = {
        "candidates": [
            {"content": {"parts": [{"text": "A"}], "role": "model"}, "finishReason": "STOP"},
            {"content": {"parts": [{"text": "B"}], "role": "model"}, "finishReason": "MAX_TOKENS", "index": 1},
        ]
    }
    choices = to_chat(resp)["choices"]
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in choices] == [
        (0, "A", "stop"),
        (1, "B", "length"),
    ]


def test_an_answer_without_usage_metadata_has_no_usage() -> None:
    assert "usage" not in to_chat(candidate("STOP", [{"text": "x"}]))


def test_a_blocked_prompt_is_a_client_error() -> None:
    resp = {
        "promptFeedback": {
            "blockReason": "PROHIBITED_CONTENT",
            "safetyRatings": [{"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "HIGH"}],
        },
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
        "modelVersion": "gemini-2.5-flash",
    }
    with pytest.raises(UpstreamClientError, match="prompt blocked by Gemini: PROHIBITED_CONTENT") as caught:
        to_chat(resp)
    assert caught.value.upstream_status == 400
    assert caught.value.code == "content_filter"


def test_no_candidates_and_no_block_reason_is_an_invalid_answer() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        to_chat({"usageMetadata": {"promptTokenCount": 8}})


def test_the_completion_serialises_to_json() -> None:
    assert msgspec.json.decode(msgspec.json.encode(to_chat(CALL_ANSWER)))["object"] == "chat.completion"


def test_models_keep_chat_and_embedding_models_without_their_prefix() -> None:
    resp = {
        "models": [
            {"name": "models/gemini-2.5-flash", "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/gemini-embedding-001", "supportedGenerationMethods": ["embedContent", "countTextTokens"]},
            {"name": "models/imagen-4.0-generate-001", "supportedGenerationMethods": ["predict"]},
            {"name": "models/aqa", "supportedGenerationMethods": ["generateAnswer"]},
        ],
        "nextPageToken": "Chxtb2RlbHMv",
    }
    assert gemini_models(resp) == ["gemini-2.5-flash", "gemini-embedding-001"]


def test_models_without_a_methods_list_are_kept() -> None:
    assert gemini_models({"models": [{"name": "models/gemini-pro"}]}) == ["gemini-pro"]


def test_a_model_list_without_models_is_invalid() -> None:
    with pytest.raises(InvalidUpstreamResponse):
        gemini_models({"error": "nope"})


LOGPROBS_RESULT = {
    "topCandidates": [
        {
            "candidates": [
                {"token": "Paris", "tokenId": 1, "logProbability": -0.01},
                {"token": "Lyon", "logProbability": -4.6},
            ]
        },
        {"candidates": [{"token": "!", "tokenId": 2}]},
    ],
    "chosenCandidates": [{"token": "Paris", "tokenId": 1, "logProbability": -0.01}, {"token": "!", "tokenId": 2}],
}


def test_logprobs_results_become_openai_logprobs_with_their_alternatives() -> None:
    candidate = {"content": {"parts": [{"text": "Paris!"}], "role": "model"}, "logprobsResult": LOGPROBS_RESULT}
    choice = to_chat({"candidates": [candidate]})["choices"][0]
    assert choice["logprobs"] == {
        "content": [
            {
                "token": "Paris",
                "logprob": -0.01,
                "bytes": list(b"Paris"),
                "top_logprobs": [
                    {"token": "Paris", "logprob": -0.01, "bytes": list(b"Paris")},
                    {"token": "Lyon", "logprob": -4.6, "bytes": list(b"Lyon")},
                ],
            },
            # Protobuf JSON leaves out a log probability of 0.
            {
                "token": "!",
                "logprob": 0.0,
                "bytes": [33],
                "top_logprobs": [{"token": "!", "logprob": 0.0, "bytes": [33]}],
            },
        ],
        "refusal": None,
    }


def test_logprobs_without_alternatives_have_empty_top_logprobs() -> None:
    result = {"chosenCandidates": [{"token": "Hi", "logProbability": -0.5}]}
    candidate = {"content": {"parts": [{"text": "Hi"}], "role": "model"}, "logprobsResult": result}
    content = to_chat({"candidates": [candidate]})["choices"][0]["logprobs"]["content"]
    assert content == [{"token": "Hi", "logprob": -0.5, "bytes": list(b"Hi"), "top_logprobs": []}]


def test_a_candidate_without_logprobs_has_null_logprobs() -> None:
    assert to_chat(THINKING_ANSWER)["choices"][0]["logprobs"] is None
