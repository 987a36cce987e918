"""``anthropic:<model>`` through the official SDK: the exact requests sent and the answers read."""

from __future__ import annotations

import httpx2
import pytest
from llm_wire import anthropic_message, sse

from curriculum.llm import ConfigurationError, ToolCall, Usage, default_price_table, get_model

TOOLS = [
    {
        "name": "search_docs",
        "description": "Search the Python documentation.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
    {
        "name": "open_page",
        "description": "Open a documentation page.",
        "parameters": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
    },
]
SYSTEM = "Answer from the sources.\n[1] (source: python-reference/pass) pass is a null operation."
CHAT = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What does pass do?"}]
EPHEMERAL = {"type": "ephemeral"}


def build(anthropic_sdk, *responses):
    client, recorder = anthropic_sdk(*responses)
    return get_model("anthropic:claude-haiku-4-5", client=client, sleep=lambda s: None), recorder


def ok(**kwargs):
    return httpx2.Response(200, json=anthropic_message(**kwargs))


def test_request_goes_to_messages_with_version_header_system_on_top_and_tools(anthropic_sdk):
    model, recorder = build(anthropic_sdk, ok())
    model.complete(CHAT, tools=TOOLS, max_tokens=100, temperature=0.7)
    request = recorder.requests[0]
    assert request.method == "POST" and request.url.path == "/v1/messages"
    assert request.headers["anthropic-version"] == "2026-10-21"
    assert request.headers["authorization"] == "Bearer sk-ant-test"
    assert "x-api-key" not in request.headers
    assert recorder.body() == {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "system": SYSTEM,
        "messages": [{"role": "user", "content": "What does pass do?"}],
        "tools": [
            {
                "name": "search_docs",
                "description": "Search the Python documentation.",
                "input_schema": TOOLS[0]["parameters"],
            },
            {"name": "open_page", "description": "Open a documentation page.", "input_schema": TOOLS[1]["parameters"]},
        ],
    }


def test_no_tool_choice_and_no_temperature_are_sent(anthropic_sdk):
    model, recorder = build(anthropic_sdk, ok())
    model.complete(CHAT, tools=TOOLS, temperature=0.5)
    assert "tool_choice" not in recorder.body() and "temperature" not in recorder.body()


def test_text_tool_use_and_stop_reason_are_read(anthropic_sdk):
    content = [
        {"type": "text", "text": "Let me look that up."},
        {"type": "tool_use", "id": "toolu_01", "name": "search_docs", "input": {"query": "pass statement"}},
    ]
    model, _ = build(anthropic_sdk, ok(content=content, stop_reason="tool_use"))
    done = model.complete(CHAT, tools=TOOLS)
    assert done.text == "Let me look that up." and done.stop_reason == "tool_use"
    assert done.tool_calls == [ToolCall("toolu_01", "search_docs", {"query": "pass statement"})]
    assert done.model == "claude-haiku-4-5-20251001" and done.provider == "anthropic"


def test_tool_results_travel_in_one_user_turn_after_the_tool_use_turn(anthropic_sdk):
    model, recorder = build(anthropic_sdk, ok())
    history = CHAT + [
        {
            "role": "assistant",
            "content": "Searching.",
            "tool_calls": [
                {"id": "toolu_1", "name": "search_docs", "arguments": {"query": "pass"}},
                {"id": "toolu_2", "name": "open_page", "arguments": {"url": "https://docs.python.org/3/"}},
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "name": "search_docs", "content": "pass: null operation"},
        {"role": "tool", "tool_call_id": "toolu_2", "name": "open_page", "content": "page text", "is_error": True},
    ]
    model.complete(history, tools=TOOLS)
    assert recorder.body()["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Searching."},
                {"type": "tool_use", "id": "toolu_1", "name": "search_docs", "input": {"query": "pass"}},
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "open_page",
                    "input": {"url": "https://docs.python.org/3/"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "pass: null operation"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "page text", "is_error": True},
            ],
        },
    ]


def test_cache_prefix_marks_the_system_block_and_the_turn_before_the_newest(anthropic_sdk):
    model, recorder = build(anthropic_sdk, ok())
    history = CHAT + [
        {"role": "assistant", "content": "pass does nothing. [1]"},
        {"role": "user", "content": "And when is it useful?"},
    ]
    model.complete(history, tools=TOOLS, cache_prefix=True)
    body = recorder.body()
    assert body["system"] == [{"type": "text", "text": SYSTEM, "cache_control": EPHEMERAL}]
    assert body["messages"] == [
        {"role": "user", "content": "What does pass do?"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "pass does nothing. [1]", "cache_control": EPHEMERAL}],
        },
        {"role": "user", "content": "And when is it useful?"},
    ]
    assert all("cache_control" not in tool for tool in body["tools"])


def test_cache_prefix_without_system_prompt_marks_the_last_tool(anthropic_sdk):
    model, recorder = build(anthropic_sdk, ok())
    model.complete([{"role": "user", "content": "What does pass do?"}], tools=TOOLS, cache_prefix=True)
    tools = recorder.body()["tools"]
    assert "cache_control" not in tools[0] and tools[1]["cache_control"] == EPHEMERAL


def test_cache_reads_and_writes_are_counted_and_priced(anthropic_sdk):
    model, _ = build(anthropic_sdk, ok(input_tokens=40, output_tokens=12, cache_read=3000, cache_write=500))
    done = model.complete(CHAT, cache_prefix=True)
    assert done.usage == Usage(input_tokens=3540, output_tokens=12, cached_tokens=3000, cache_write_tokens=500)
    expected = (40 * 1.0 + 3000 * 0.1 + 500 * 1.25 + 12 * 5.0) / 1e6
    assert done.cost_usd == pytest.approx(expected)
    assert done.cost_usd == pytest.approx(default_price_table().cost("anthropic", "claude-haiku-4-5", done.usage))


def stream_events(text_pieces, *, stop_reason="end_turn", output_tokens=6):
    message = anthropic_message(content=[], input_tokens=25, output_tokens=1)
    message["stop_reason"] = None
    events = [("message_start", {"type": "message_start", "message": message})]
    events.append(
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
    )
    events.append(("ping", {"type": "ping"}))
    for piece in text_pieces:
        events.append(
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def test_streaming_delivers_text_deltas_and_the_final_usage(anthropic_sdk):
    response = httpx2.Response(
        200, headers={"content-type": "text/event-stream"}, content=sse(stream_events(["pass ", "does ", "nothing."]))
    )
    model, recorder = build(anthropic_sdk, response)
    pieces: list[str] = []
    done = model.complete(CHAT, stream=True, on_token=pieces.append)
    assert pieces == ["pass ", "does ", "nothing."] and done.text == "pass does nothing."
    assert done.usage == Usage(25, 6) and done.stop_reason == "end_turn"
    assert recorder.body()["stream"] is True


def test_missing_key_names_the_environment_variable(no_api_keys):
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        get_model("anthropic:claude-haiku-4-5")
