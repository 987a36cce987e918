"""SmolLM2 served by llama.cpp on 127.0.0.1, driven through the official ``openai`` SDK and the model layer.

Generations stay short (``max_tokens`` 3-48; a tool call spends about 20 of them on its JSON frame) so the file runs in about a minute on 2 busy cores.
"""

from __future__ import annotations

import json
import os
import signal
import socket

import pytest

from curriculum.llm import AllModelsFailedError, ProviderError, RetryPolicy, get_model
from curriculum.llm.errors import SchemaMismatchError
from curriculum.llm.local import ServerStartError, ensure_server, schema_errors, start_server

CHAT = [{"role": "user", "content": "What is Python?"}]
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "minLength": 1}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
NO_RETRY = RetryPolicy(max_retries=0)


def test_plain_completion_through_the_official_sdk_counts_usage(sdk):
    answer = sdk.chat.completions.create(model="smollm2", messages=CHAT, max_tokens=16, temperature=0)
    choice = answer.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert answer.usage.prompt_tokens > 5 and 0 < answer.usage.completion_tokens <= 16
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    assert choice.finish_reason in ("stop", "length") and answer.model == "smollm2"


def test_streamed_deltas_join_to_the_same_greedy_answer(sdk):
    chunks = list(
        sdk.chat.completions.create(model="smollm2", messages=CHAT, max_tokens=12, temperature=0, stream=True)
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    whole = sdk.chat.completions.create(model="smollm2", messages=CHAT, max_tokens=12, temperature=0)
    assert len(chunks) > 3 and streamed == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "length"


def test_stop_reasons_are_length_at_the_token_limit_and_stop_at_a_stop_sequence(sdk):
    cut = sdk.chat.completions.create(model="smollm2", messages=CHAT, max_tokens=3, temperature=0)
    assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens == 3
    stopped = sdk.chat.completions.create(model="smollm2", messages=CHAT, max_tokens=32, temperature=0, stop=[" "])
    assert stopped.choices[0].finish_reason == "stop" and " " not in stopped.choices[0].message.content


def test_local_spec_attaches_to_the_shared_server_and_costs_nothing_but_compute_time(served, clean_model_env):
    model = get_model("local:smollm2")
    assert model.inner.base_url == served.base_url and model.spec == "local:smollm2"
    done = model.complete(CHAT, max_tokens=8)
    assert done.provider == "local" and done.cost_usd == 0.0 and done.latency_ms > 0
    assert done.stop_reason == "max_tokens" and done.usage.output_tokens == 8
    assert model.inner.price.input_per_mtok == 0.0 and "served at http://127.0.0.1" in model.inner.price.source
    again, started = ensure_server()
    assert not started and again.pid == served.pid


def test_a_streamed_answer_counts_the_same_usage_as_the_whole_one(served, clean_model_env):
    model = get_model("local:smollm2")
    whole = model.complete(CHAT, max_tokens=10)
    pieces: list[str] = []
    streamed = model.complete(CHAT, max_tokens=10, stream=True, on_token=pieces.append)
    assert "".join(pieces) == streamed.text == whole.text
    assert streamed.usage == whole.usage and streamed.stop_reason == "max_tokens"


def test_openai_spec_with_openai_base_url_reaches_the_same_server(served, clean_model_env, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", served.base_url)
    monkeypatch.setenv("AIE_MODEL", "openai:smollm2")
    model = get_model()
    assert model.spec == "openai:smollm2" and model.inner.base_url == served.base_url
    done = model.complete(CHAT, max_tokens=8)
    assert done.provider == "local" and done.text == get_model("local:smollm2").complete(CHAT, max_tokens=8).text


def test_a_forced_tool_call_matches_its_schema(served, clean_model_env):
    model = get_model("local:smollm2", tool_choice="get_weather")
    done = model.complete(
        [{"role": "user", "content": "What is the weather in Paris?"}], tools=[WEATHER], max_tokens=48
    )
    [call] = done.tool_calls
    assert call.name == "get_weather" and done.stop_reason == "tool_use"
    assert schema_errors(WEATHER["parameters"], call.arguments) == []


def test_with_tool_choice_auto_the_model_picks_and_the_call_still_matches(served, clean_model_env):
    done = get_model("local:smollm2").complete(
        [{"role": "user", "content": "Use the tool: weather in Paris?"}], tools=[WEATHER], max_tokens=48
    )
    for call in done.tool_calls:
        assert call.name == "get_weather" and schema_errors(WEATHER["parameters"], call.arguments) == []
    assert done.tool_calls or done.text


def test_a_json_answer_matches_its_schema(served, clean_model_env):
    done = get_model("local:smollm2", json_schema=PERSON).complete(
        [{"role": "user", "content": "Describe a person as JSON with name and age."}], max_tokens=32
    )
    assert schema_errors(PERSON, json.loads(done.text)) == []


def test_a_schema_the_model_cannot_finish_within_max_tokens_is_a_clear_error(served, clean_model_env):
    model = get_model("local:smollm2", json_schema=PERSON)
    with pytest.raises(SchemaMismatchError, match=r"not valid JSON \(the reply stopped at max_tokens=4"):
        model.complete([{"role": "user", "content": "Describe a person as JSON."}], max_tokens=4)
    forced = get_model("local:smollm2", tool_choice="get_weather")
    with pytest.raises(SchemaMismatchError, match=r"tools \(get_weather\).*max_tokens=3") as info:
        forced.complete([{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER], max_tokens=3)
    assert info.value.kind == "schema" and not info.value.retryable


def test_a_port_already_taken_is_refused_by_number(served):
    with pytest.raises(ServerStartError, match=f"port {served.port} on 127.0.0.1 is already in use"):
        start_server(port=served.port)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"port {port} .*already in use"):
            start_server(port=port)


def test_a_server_that_dies_mid_stream_hands_over_to_offline_and_says_so(served, clean_model_env, tmp_path):
    own, process = start_server(log=tmp_path / "doomed.log")
    try:
        model = get_model("local:smollm2 -> offline", base_url=own.base_url, retry=NO_RETRY)
        stream = model.stream([{"role": "user", "content": "Tell me a long story about a dragon."}], max_tokens=48)
        pieces = []
        for piece in stream:
            if not pieces:
                os.kill(process.pid, signal.SIGKILL)  # the server dies after its first token reached us
            pieces.append(piece)
        done = stream.completion
    finally:
        process.kill()
        process.wait()
    notice = next(p for p in pieces if "stopped mid-answer" in p)
    assert "local:smollm2 stopped mid-answer" in notice and "The answer of offline follows" in notice
    assert pieces.index(notice) >= 1 and done.provider == "offline"
    assert done.text == "".join(pieces) and "offline reference model" in done.text


def test_a_base_url_pointing_nowhere_names_it_and_the_chain_falls_back(clean_model_env, monkeypatch):
    from curriculum.net import free_port

    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", nowhere)
    with pytest.raises(ProviderError, match=f"the server at {nowhere} is unreachable") as info:
        get_model("openai:smollm2", retry=NO_RETRY).complete(CHAT, max_tokens=8)
    assert info.value.kind == "connection"
    done = get_model("openai:smollm2 -> offline", retry=NO_RETRY).complete(CHAT, max_tokens=8)
    assert done.provider == "offline"


def test_a_server_answering_garbage_is_named_and_the_chain_falls_back(clean_model_env):
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, PlainTextResponse

    from curriculum.net import serve

    app = FastAPI()

    @app.post("/text/v1/chat/completions")
    def text():
        return PlainTextResponse("<html>this is not a model server</html>")

    @app.post("/json/v1/chat/completions")
    def json_shape():
        return JSONResponse({"status": "ok"})

    with serve(app) as root:
        for path in ("text", "json"):
            url = f"{root}/{path}/v1"
            with pytest.raises(
                ProviderError, match=f"the server at {url} answered something that is not a chat completion"
            ) as info:
                get_model("openai:smollm2", base_url=url, retry=NO_RETRY).complete(CHAT, max_tokens=8)
            assert info.value.kind == "garbage"
            chain = get_model("openai:smollm2 -> offline", base_url=url, retry=NO_RETRY)
            assert chain.complete(CHAT, max_tokens=8).provider == "offline"
        with pytest.raises(AllModelsFailedError, match="not a chat completion"):
            get_model("openai:smollm2 -> openai:smollm2-again", base_url=f"{root}/text/v1", retry=NO_RETRY).complete(
                CHAT
            )


def test_model_status_says_what_runs_where(served):
    from typer.testing import CliRunner

    from curriculum.cli import app

    result = CliRunner().invoke(app, ["model", "status", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["state"] == "running" and info["base_url"] == served.base_url and info["pid"] == served.pid
    assert 0 < info["rss_mb"] < 1536


def test_a_regex_pattern_is_enforced_and_the_server_survives_it(served, clean_model_env):
    month = {
        "type": "object",
        "properties": {"month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"}},
        "required": ["month"],
        "additionalProperties": False,
    }
    done = get_model("local:smollm2", json_schema=month).complete(
        [{"role": "user", "content": "Which month is it? Answer as JSON."}], max_tokens=24
    )
    assert schema_errors(month, json.loads(done.text)) == []
    assert get_model("local:smollm2").complete(CHAT, max_tokens=3).usage.output_tokens == 3  # still serving
