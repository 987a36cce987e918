"""``openai:<model>`` through the official SDK: the exact requests sent and the answers read."""

from __future__ import annotations

import json

import httpx
import pytest
from llm_wire import openai_chat_completion, sse

from curriculum.llm import ConfigurationError, ToolCall, Usage, default_price_table, get_model

TOOLS = [
    {
        "name": "convert_timezone",
        "description": "Convert a time between zones.",
        "parameters": {
            "type": "object",
            "properties": {"time": {"type": "string"}, "to_tz": {"type": "string"}},
            "required": ["time", "to_tz"],
        },
    }
]
CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Convert 10:00 Berlin time to UTC."},
]


def build(openai_sdk, *responses, spec="openai:gpt-4o-mini"):
    client, recorder = openai_sdk(*responses)
    return get_model(spec, client=client, sleep=lambda s: None), recorder


def test_request_goes_to_chat_completions_with_bearer_key_and_translated_tools(openai_sdk):
    model, recorder = build(openai_sdk, httpx.Response(200, json=openai_chat_completion()))
    model.complete(CHAT, tools=TOOLS, max_tokens=64, temperature=0.2)
    request = recorder.requests[0]
    assert request.method == "POST" and request.url.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-openai"
    assert request.headers["x-stainless-retry-count"] == "0"
    assert recorder.body() == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Convert 10:00 Berlin time to UTC."},
        ],
        "max_completion_tokens": 64,
        "temperature": 0.2,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "convert_timezone",
                    "description": "Convert a time between zones.",
                    "parameters": TOOLS[0]["parameters"],
                },
            }
        ],
    }
    assert "tool_choice" not in recorder.body() and "prompt_cache_key" not in recorder.body()


def test_a_seed_is_sent_only_when_given_and_a_bad_one_is_refused_before_any_request(openai_sdk):
    from curriculum.llm import InvalidRequestError

    model, recorder = build(openai_sdk, *(httpx.Response(200, json=openai_chat_completion()) for _ in range(2)))
    model.complete(CHAT, temperature=0.8, seed=7)
    model.complete(CHAT, temperature=0.8)
    assert recorder.body(0)["seed"] == 7 and "seed" not in recorder.body(1)
    for bad in (-1, 2**31, 1.5, True, "7"):
        with pytest.raises(InvalidRequestError, match="seed must be an int"):
            model.complete(CHAT, seed=bad)
    assert len(recorder.requests) == 2


def test_answer_text_usage_cached_tokens_and_cost_are_read(openai_sdk):
    body = openai_chat_completion("It is 09:00 UTC.", prompt_tokens=2000, completion_tokens=8, cached_tokens=1536)
    model, _ = build(openai_sdk, httpx.Response(200, json=body))
    done = model.complete(CHAT)
    assert done.text == "It is 09:00 UTC." and done.stop_reason == "end_turn"
    assert done.usage == Usage(input_tokens=2000, output_tokens=8, cached_tokens=1536)
    assert done.model == "gpt-4o-mini-2024-07-18" and done.provider == "openai"
    expected = (464 * 0.15 + 1536 * 0.075 + 8 * 0.6) / 1e6
    assert done.cost_usd == pytest.approx(expected)
    assert done.cost_usd == pytest.approx(default_price_table().cost("openai", "gpt-4o-mini", done.usage))


def test_tool_calls_in_the_answer_become_tool_calls_with_decoded_arguments(openai_sdk):
    calls = [
        {
            "id": "call_abc",
            "type": "function",
            "function": {"name": "convert_timezone", "arguments": '{"time": "10:00", "to_tz": "UTC"}'},
        },
        {"id": "call_bad", "type": "function", "function": {"name": "convert_timezone", "arguments": "{not json"}},
    ]
    body = openai_chat_completion(None, tool_calls=calls, finish_reason="tool_calls")
    model, _ = build(openai_sdk, httpx.Response(200, json=body))
    done = model.complete(CHAT, tools=TOOLS)
    assert done.stop_reason == "tool_use" and done.text == ""
    assert done.tool_calls == [
        ToolCall("call_abc", "convert_timezone", {"time": "10:00", "to_tz": "UTC"}),
        ToolCall("call_bad", "convert_timezone", {"_raw": "{not json"}),
    ]


def test_tool_calls_and_results_in_the_history_use_the_function_format(openai_sdk):
    model, recorder = build(openai_sdk, httpx.Response(200, json=openai_chat_completion("Done.")))
    history = CHAT + [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_1", "name": "convert_timezone", "arguments": {"time": "10:00", "to_tz": "UTC"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "convert_timezone", "content": "09:00 UTC"},
    ]
    model.complete(history, tools=TOOLS)
    assert recorder.body()["messages"][2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "convert_timezone", "arguments": '{"time": "10:00", "to_tz": "UTC"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "09:00 UTC"},
    ]


def test_cache_prefix_sends_a_prompt_cache_key_stable_across_questions(openai_sdk):
    model, recorder = build(
        openai_sdk,
        httpx.Response(200, json=openai_chat_completion()),
        httpx.Response(200, json=openai_chat_completion()),
    )
    model.complete(CHAT, tools=TOOLS, cache_prefix=True)
    model.complete([CHAT[0], {"role": "user", "content": "Another question"}], tools=TOOLS, cache_prefix=True)
    first, second = recorder.body(0)["prompt_cache_key"], recorder.body(1)["prompt_cache_key"]
    assert first == second and first.startswith("aie-")


def test_reasoning_models_get_no_temperature(openai_sdk):
    model, recorder = build(
        openai_sdk, httpx.Response(200, json=openai_chat_completion(model="gpt-5-mini")), spec="openai:gpt-5-mini"
    )
    model.complete(CHAT)
    assert "temperature" not in recorder.body()


def test_streaming_delivers_deltas_and_reads_usage_from_the_last_chunk(openai_sdk):
    def chunk(delta, finish=None, usage=None, choices=True):
        return {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
            "usage": usage,
        }

    events = [
        (None, chunk({"role": "assistant", "content": ""})),
        (None, chunk({"content": "It is "})),
        (None, chunk({"content": "09:00 UTC."})),
        (None, chunk({}, finish="stop")),
        (
            None,
            chunk(
                {},
                usage={
                    "prompt_tokens": 30,
                    "completion_tokens": 5,
                    "total_tokens": 35,
                    "prompt_tokens_details": {"cached_tokens": 0},
                },
                choices=False,
            ),
        ),
        (None, "[DONE]"),
    ]
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(events))
    model, recorder = build(openai_sdk, response)
    pieces: list[str] = []
    done = model.complete(CHAT, stream=True, on_token=pieces.append)
    assert pieces == ["It is ", "09:00 UTC."] and done.text == "It is 09:00 UTC."
    assert done.usage == Usage(30, 5) and done.stop_reason == "end_turn"
    assert recorder.body()["stream"] is True and recorder.body()["stream_options"] == {"include_usage": True}


def test_streamed_tool_call_arguments_are_joined(openai_sdk):
    def chunk(delta, finish=None):
        return {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    first = {"index": 0, "id": "call_9", "type": "function", "function": {"name": "convert_timezone", "arguments": ""}}
    events = [
        (None, chunk({"role": "assistant", "tool_calls": [first]})),
        (None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"time": "10:00",'}}]})),
        (None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": ' "to_tz": "UTC"}'}}]})),
        (None, chunk({}, finish="tool_calls")),
        (None, "[DONE]"),
    ]
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(events))
    model, _ = build(openai_sdk, response)
    done = model.stream(CHAT, tools=TOOLS).completion
    assert done.tool_calls == [ToolCall("call_9", "convert_timezone", {"time": "10:00", "to_tz": "UTC"})]
    assert done.stop_reason == "tool_use"


def test_missing_key_names_the_environment_variable(no_api_keys):
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        get_model("openai:gpt-4o-mini")


def test_key_from_the_environment_is_sent(monkeypatch, no_api_keys):
    import openai

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    model = get_model("openai:gpt-4o-mini")
    assert isinstance(model.inner.client, openai.OpenAI)
    assert model.inner.client.api_key == "sk-from-env" and model.inner.client.max_retries == 0


def test_response_arguments_round_trip_as_json(openai_sdk):
    model, recorder = build(openai_sdk, httpx.Response(200, json=openai_chat_completion()))
    args = {"time": "10:00", "to_tz": "Asia/Tokyo", "nested": {"k": [1, 2]}}
    model.complete(
        CHAT
        + [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "c", "name": "convert_timezone", "arguments": args}],
            },
            {"role": "tool", "tool_call_id": "c", "content": "ok"},
        ]
    )
    sent = recorder.body()["messages"][2]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(sent) == args
