"""The offline reference model as a model: interface, streaming, usage, cost, truncation."""

from __future__ import annotations

import pytest

from curriculum.llm import Completion, InvalidRequestError, count_tokens, default_price_table, get_model
from curriculum.llm.offline import MODEL_NAME

PASS_PROMPT = [
    {"role": "system", "content": "Answer only from the sources; cite them as [n]."},
    {
        "role": "user",
        "content": "[1] (source: python-reference/pass) pass is a null operation: when it is executed, "
        "nothing happens.\n\nQuestion: What happens when pass is executed?",
    },
]


@pytest.fixture(scope="module")
def model(warm_embedder):
    return get_model("offline")


def test_default_spec_without_environment_is_the_offline_model(no_api_keys):
    model = get_model()
    assert model.spec == "offline" and model.provider == "offline" and model.model_name == MODEL_NAME


def test_completion_carries_text_usage_cost_model_and_latency(model):
    done = model.complete(PASS_PROMPT)
    assert isinstance(done, Completion)
    assert done.text == "pass is a null operation: when it is executed, nothing happens. [1]"
    assert done.model == "offline-reference" and done.provider == "offline"
    assert done.stop_reason == "end_turn" and done.tool_calls == []
    assert done.latency_ms > 0


def test_usage_is_counted_with_cl100k_and_priced_with_the_stand_in_price(model):
    done = model.complete(PASS_PROMPT)
    assert done.usage.input_tokens == count_tokens(PASS_PROMPT)
    assert done.usage.output_tokens == count_tokens(done.text)
    assert done.usage.cached_tokens == 0
    price = default_price_table().price("offline", MODEL_NAME)
    expected = (done.usage.input_tokens * price.input_per_mtok + done.usage.output_tokens * price.output_per_mtok) / 1e6
    assert done.cost_usd == pytest.approx(expected)


def test_estimate_cost_prices_the_prompt_and_the_whole_output_budget(model):
    price = default_price_table().price("offline", MODEL_NAME)
    expected = (count_tokens(PASS_PROMPT) * price.input_per_mtok + 300 * price.output_per_mtok) / 1e6
    assert model.estimate_cost(PASS_PROMPT, 300) == pytest.approx(expected)
    assert model.estimate_cost(PASS_PROMPT, 300) > model.complete(PASS_PROMPT).cost_usd


def test_streaming_sends_deltas_to_on_token_that_join_to_the_text(model):
    pieces: list[str] = []
    done = model.complete(PASS_PROMPT, stream=True, on_token=pieces.append)
    assert len(pieces) > 3 and "".join(pieces) == done.text


def test_stream_iterator_yields_deltas_then_holds_the_completion(model):
    stream = model.stream(PASS_PROMPT)
    text = "".join(stream)
    assert text == stream.completion.text == model.complete(PASS_PROMPT).text
    assert stream.first_token_ms is not None and stream.first_token_ms <= stream.completion.latency_ms


def test_non_streaming_call_never_calls_on_token(model):
    pieces: list[str] = []
    model.complete(PASS_PROMPT, on_token=pieces.append)
    assert pieces == []


def test_max_tokens_truncates_the_reply_and_says_so(model):
    done = model.complete(PASS_PROMPT, max_tokens=4)
    assert done.usage.output_tokens == 4 and done.stop_reason == "max_tokens"
    assert model.complete(PASS_PROMPT).text.startswith(done.text)


def test_plain_chat_says_it_is_the_offline_reference_model_and_echoes(model):
    done = model.complete([{"role": "user", "content": "Tell me a joke about compilers."}])
    assert "offline reference model" in done.text
    assert "Tell me a joke about compilers." in done.text


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([], "must not be empty"),
        ([{"role": "robot", "content": "hi"}], "role must be one of"),
        ([{"role": "user", "content": None}], "content must be a string"),
        ([{"role": "tool", "content": "x"}], "tool_call_id"),
        ([{"role": "assistant", "content": "", "tool_calls": [{"name": "x"}]}], "needs an id and a name"),
    ],
)
def test_malformed_messages_are_refused_before_any_work(model, messages, message):
    with pytest.raises(InvalidRequestError, match=message):
        model.complete(messages)


def test_malformed_tools_and_settings_are_refused(model):
    chat = [{"role": "user", "content": "hi"}]
    with pytest.raises(InvalidRequestError, match="name must match"):
        model.complete(chat, tools=[{"name": "bad name", "parameters": {"type": "object"}}])
    with pytest.raises(InvalidRequestError, match="required names unknown"):
        model.complete(
            chat, tools=[{"name": "t", "parameters": {"type": "object", "properties": {}, "required": ["x"]}}]
        )
    with pytest.raises(InvalidRequestError, match="max_tokens"):
        model.complete(chat, max_tokens=0)
    with pytest.raises(InvalidRequestError, match="temperature"):
        model.complete(chat, temperature=3)


def test_completion_to_message_round_trips_into_the_next_turn(model):
    tools = [
        {
            "name": "search_docs",
            "description": "Search the documentation.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        }
    ]
    done = model.complete([{"role": "user", "content": "search the docs for decorators"}], tools=tools)
    message = done.to_message()
    assert message["role"] == "assistant" and message["tool_calls"][0]["name"] == "search_docs"
    assert message["tool_calls"][0]["arguments"] == {"query": "search the docs for decorators"}
