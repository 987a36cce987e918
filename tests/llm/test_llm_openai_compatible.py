"""``openai:<model>`` against any OpenAI-compatible server: base URL, pricing by where it runs, schemas, fallback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from curriculum.llm import (
    ConfigurationError,
    FallbackModel,
    InvalidRequestError,
    ToolCall,
    UnknownPriceError,
    Usage,
    get_model,
)
from curriculum.llm.base import ChatModel, Generation, Request
from curriculum.llm.errors import ProviderError, SchemaMismatchError
from curriculum.llm.local.schema import check_json_answer, check_tool_calls
from curriculum.llm.openai_provider import is_loopback, openai_params

TOOL = {
    "name": "book_meeting",
    "description": "Book a meeting.",
    "parameters": {
        "type": "object",
        "properties": {
            "attendees": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1},
            "duration_minutes": {"type": "integer", "minimum": 5},
        },
        "required": ["attendees", "duration_minutes"],
        "additionalProperties": False,
    },
}
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def request(messages, tools=None, max_tokens=32, stream=False) -> Request:
    return Request(
        messages=messages, tools=tools, max_tokens=max_tokens, temperature=0.0, stream=stream, cache_prefix=False
    )


@pytest.mark.parametrize(
    "url, local",
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://127.3.2.1/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5:8000/v1", False),
        (None, False),
    ],
)
def test_loopback_addresses_are_this_machine(url, local):
    assert is_loopback(url) is local


def test_an_unknown_model_on_a_loopback_server_needs_no_key_and_costs_nothing(no_api_keys):
    model = get_model("openai:qwen2.5:0.5b", base_url="http://127.0.0.1:11434/v1")
    assert model.provider == "local" and model.inner.client.base_url.host == "127.0.0.1"
    assert model.inner.price.input_per_mtok == 0.0 and model.inner.price.output_per_mtok == 0.0
    assert (
        "served at http://127.0.0.1:11434/v1" in model.inner.price.source and "compute time" in model.inner.price.note
    )
    assert model.estimate_cost([{"role": "user", "content": "hi"}], max_tokens=100) == 0.0


def test_an_unknown_model_on_another_machine_is_refused_naming_the_server(no_api_keys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with pytest.raises(UnknownPriceError, match=r"openai:my-llama on the server at http://10\.0\.0\.5:8000/v1"):
        get_model("openai:my-llama", base_url="http://10.0.0.5:8000/v1")


def test_a_known_model_keeps_its_price_behind_a_loopback_proxy(no_api_keys):
    model = get_model("openai:gpt-4o-mini", base_url="http://127.0.0.1:4000/v1")
    assert model.provider == "openai" and model.inner.price.input_per_mtok == pytest.approx(0.15)


def test_openai_base_url_from_the_environment_points_the_same_code_elsewhere(no_api_keys, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8000/v1")
    model = get_model("openai:Qwen/Qwen2.5-0.5B-Instruct")
    assert (
        model.inner.base_url == "http://localhost:8000/v1"
        and str(model.inner.client.base_url) == "http://localhost:8000/v1/"
    )


def test_a_remote_server_still_needs_a_key(no_api_keys):
    with pytest.raises(ConfigurationError, match="at https://vllm.example.com/v1 needs an API key: set OPENAI_API_KEY"):
        get_model("openai:gpt-4o-mini", base_url="https://vllm.example.com/v1")


def test_llama_cpp_dialect_sends_tools_as_one_union_schema_reply_and_its_own_fields():
    from curriculum.llm.local.schema import grammar_schema

    history = [
        {"role": "user", "content": "Book 30 minutes with ana@example.com"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c1", "name": "book_meeting", "arguments": {"duration_minutes": 30}}],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "book_meeting", "content": "booked"},
    ]
    params = openai_params("smollm2", request(history, tools=[TOOL]), tool_choice="auto", dialect="llama.cpp")
    assert params["max_tokens"] == 32 and "max_completion_tokens" not in params
    assert "tools" not in params and "tool_choice" not in params  # the server's own auto mode ignores max_tokens
    system = params["messages"][0]
    assert system["role"] == "system" and "- book_meeting: Book a meeting." in system["content"]
    assert params["messages"][2] == {
        "role": "assistant",
        "content": '{"tool": "book_meeting", "arguments": {"duration_minutes": 30}}',
    }
    assert params["messages"][3] == {"role": "user", "content": "Result of book_meeting: booked"}
    union = params["response_format"]["schema"]["anyOf"]
    assert params["response_format"]["type"] == "json_object"
    assert union[0]["properties"]["tool"] == {"const": "book_meeting"}
    assert union[0]["properties"]["arguments"] == grammar_schema(TOOL["parameters"])
    assert union[1]["properties"] == {"answer": {"type": "string"}}
    forced = openai_params(
        "smollm2", request(history[:1], tools=[TOOL]), tool_choice="book_meeting", dialect="llama.cpp"
    )
    assert len(forced["response_format"]["schema"]["anyOf"]) == 1  # a call is required: no answer branch
    as_json = openai_params("smollm2", request([history[0]]), json_schema=SCHEMA, dialect="llama.cpp")
    assert as_json["response_format"] == {"type": "json_object", "schema": SCHEMA}


def test_a_union_schema_reply_becomes_a_tool_call_or_an_answer():
    from curriculum.llm.local.tools import parse_reply

    assert parse_reply('{"tool": "book_meeting", "arguments": {"duration_minutes": 30}}', 2) == (
        "",
        [ToolCall("call_2_book_meeting", "book_meeting", {"duration_minutes": 30})],
    )
    assert parse_reply('{"answer": "Which day?"}', 0) == ("Which day?", [])
    assert parse_reply('{"tool": "book_meeting", "argu', 0) is None


def test_openai_dialect_sends_a_strict_json_schema_and_keeps_tool_turns():
    params = openai_params("gpt-4o-mini", request([{"role": "user", "content": "hi"}]), json_schema=SCHEMA)
    assert params["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
    }
    assert params["max_completion_tokens"] == 32 and "tool_choice" not in params
    compatible = openai_params("qwen2.5", request([{"role": "user", "content": "hi"}]), hosted=False)
    assert compatible["max_tokens"] == 32 and "max_completion_tokens" not in compatible


def test_a_tool_choice_that_names_no_given_tool_is_refused():
    with pytest.raises(InvalidRequestError, match="tool_choice names 'send_mail', which is not among the tools"):
        openai_params("m", request([{"role": "user", "content": "hi"}], tools=[TOOL]), tool_choice="send_mail")


def test_tool_arguments_that_break_the_schema_raise_naming_the_tool_and_the_reason():
    bad = ToolCall("c", "book_meeting", {"attendees": ["not-an-email"], "duration_minutes": 2})
    with pytest.raises(SchemaMismatchError, match="call to 'book_meeting' does not match its parameters") as info:
        check_tool_calls([bad], [TOOL], provider="local", hit_limit=False, max_tokens=64)
    assert info.value.errors == [
        "$.attendees[0]: 'not-an-email' is not a 'email'",
        "$.duration_minutes: 2 is less than the minimum of 5",
    ]
    with pytest.raises(SchemaMismatchError, match="called 'cancel', which is not among the tools"):
        check_tool_calls([ToolCall("c", "cancel", {})], [TOOL], provider="local", hit_limit=False, max_tokens=64)
    good = ToolCall("c", "book_meeting", {"attendees": ["ana@example.com"], "duration_minutes": 30})
    check_tool_calls([good], [TOOL], provider="local", hit_limit=False, max_tokens=64)


def test_a_json_answer_cut_short_says_the_token_limit_was_hit():
    with pytest.raises(SchemaMismatchError, match=r"not valid JSON \(the reply stopped at max_tokens=8"):
        check_json_answer('{"answer": "It is', SCHEMA, provider="local", hit_limit=True, max_tokens=8)
    with pytest.raises(SchemaMismatchError, match="'answer' is a required property"):
        check_json_answer('{"reply": "x"}', SCHEMA, provider="local", hit_limit=False, max_tokens=8)
    assert check_json_answer('{"answer": "x"}', SCHEMA, provider="local", hit_limit=False, max_tokens=8) == {
        "answer": "x"
    }


class Scripted(ChatModel):
    """A chain link that streams the given pieces, then fails (``fail``) or finishes."""

    def __init__(self, name: str, pieces: list[str], fail: bool) -> None:
        super().__init__()
        self.spec, self.provider, self.model_name = name, "offline", "offline-reference"
        self.pieces, self.fail = pieces, fail

    def _events(self, request: Request) -> Iterator[str | Generation]:
        yield from self.pieces
        if self.fail:
            raise ProviderError("connection reset", provider=self.spec, retryable=True, kind="stream")
        yield Generation(
            "".join(self.pieces),
            [],
            Usage(3, len(self.pieces)),
            self.model_name,
            self.provider,
            "end_turn",
            self.model_name,
        )


def test_a_chain_link_that_breaks_mid_stream_is_followed_by_a_notice_and_the_next_answer():
    chain = FallbackModel(
        [
            ("first", Scripted("first", ["Once ", "upon"], fail=True)),
            ("second", Scripted("second", ["Hello."], fail=False)),
        ]
    )
    pieces: list[str] = []
    done = chain.complete([{"role": "user", "content": "story"}], stream=True, on_token=pieces.append)
    assert pieces[:2] == ["Once ", "upon"] and pieces[-1] == "Hello."
    assert pieces[2] == "\n\n[first stopped mid-answer: connection reset. The answer of second follows.]\n\n"
    assert done.text == "".join(pieces)


def test_the_last_link_breaking_mid_stream_raises():
    chain = FallbackModel(
        [("first", Scripted("first", [], fail=True)), ("second", Scripted("second", ["Hel"], fail=True))]
    )
    with pytest.raises(ProviderError, match="connection reset"):
        chain.complete([{"role": "user", "content": "story"}], stream=True)


def test_an_unknown_local_model_is_refused_with_the_bundled_names(no_api_keys):
    with pytest.raises(ConfigurationError, match="unknown local model 'llama3'.*smollm2"):
        get_model("local:llama3")


def test_patterns_sent_to_llama_cpp_spell_out_their_escapes_or_are_left_to_validation():
    from curriculum.llm.local.schema import grammar_schema

    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "pattern": r"^\d{2}:\d{2}$"},
            "word": {"type": "string", "pattern": r"^\bx$"},
        },
    }
    sent = grammar_schema(schema)
    assert sent["properties"]["when"]["pattern"] == "^[0-9]{2}:[0-9]{2}$"
    assert "pattern" not in sent["properties"]["word"] and schema["properties"]["word"]["pattern"] == r"^\bx$"
    tool = dict(TOOL, parameters={"type": "object", "properties": {"when": {"type": "string", "pattern": r"^\d+$"}}})
    params = openai_params(
        "smollm2", request([{"role": "user", "content": "hi"}], tools=[tool]), tool_choice="auto", dialect="llama.cpp"
    )
    sent = params["response_format"]["schema"]["anyOf"][0]["properties"]["arguments"]
    assert sent["properties"]["when"]["pattern"] == "^[0-9]+$"
    assert tool["parameters"]["properties"]["when"]["pattern"] == r"^\d+$"  # the caller's schema is untouched


def test_the_grammar_copy_spells_out_email_formats_and_small_integer_ranges():
    from curriculum.llm.local.schema import EMAIL_PATTERN, grammar_schema

    sent = grammar_schema(TOOL["parameters"])
    assert sent["properties"]["attendees"]["items"]["pattern"] == EMAIL_PATTERN
    wide = grammar_schema({"type": "integer", "minimum": 5, "maximum": 480})
    assert wide["enum"][0] == 5 and wide["enum"][-1] == 480 and len(wide["enum"]) == 476
    assert "enum" not in grammar_schema({"type": "integer", "minimum": 0, "maximum": 10**6})
    assert (
        "enum" not in grammar_schema(TOOL["parameters"])["properties"]["duration_minutes"]
    )  # no maximum: left to validation
