"""The offline reference model's tool grammar: entities, arguments, the agent loop, stopping."""

from __future__ import annotations

import pytest

from curriculum.llm import get_model
from curriculum.llm.offline_tools import (
    MAX_CALLS,
    decide_tool_step,
    extract_arguments,
    extract_entities,
    param_kind,
    tool_relevance,
)

MEETING_TOOLS = [
    {
        "name": "find_free_slots",
        "description": "Find free calendar slots on a date for a meeting of a given duration.",
        "parameters": {
            "type": "object",
            "properties": {"date": {"type": "string", "format": "date"}, "duration_minutes": {"type": "integer"}},
            "required": ["date", "duration_minutes"],
        },
    },
    {
        "name": "convert_timezone",
        "description": "Convert a local date and time from one time zone to another.",
        "parameters": {
            "type": "object",
            "properties": {
                "time": {"type": "string", "format": "date-time"},
                "from_tz": {"type": "string"},
                "to_tz": {"type": "string", "default": "UTC"},
            },
            "required": ["time", "from_tz"],
        },
    },
    {
        "name": "send_invitation",
        "description": "Send a calendar invitation email for a meeting.",
        "parameters": {
            "type": "object",
            "properties": {
                "email": {"type": "string", "format": "email"},
                "start": {"type": "string", "format": "date-time"},
                "duration_minutes": {"type": "integer"},
                "timezone": {"type": "string"},
            },
            "required": ["email", "start", "duration_minutes"],
        },
    },
]
MEETING_REQUEST = "Book a 30 minute meeting with alice@example.com on 2026-12-03 at 10:00 Europe/Berlin"

SEARCH_TOOL = {
    "name": "search_docs",
    "description": "Search the Python documentation.",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "top_k": {"type": "integer", "default": 5}},
        "required": ["query"],
    },
}


@pytest.fixture(scope="module")
def model():
    return get_model("offline")


def run_agent(model, request: str, tools, answer_tool=lambda call: f"{call.name} ok", max_turns: int = 10):
    """A minimal agent loop; returns (calls made, final completion)."""
    messages = [{"role": "user", "content": request}]
    calls = []
    for _ in range(max_turns):
        done = model.complete(messages, tools=tools)
        if not done.tool_calls:
            return calls, done
        messages.append(done.to_message())
        for call in done.tool_calls:
            calls.append(call)
            messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": answer_tool(call)})
    raise AssertionError("the offline model did not stop calling tools")


def test_meeting_request_calls_lookups_then_the_invitation_then_answers(model):
    calls, final = run_agent(model, MEETING_REQUEST, MEETING_TOOLS)
    assert [(c.name, c.arguments) for c in calls] == [
        ("find_free_slots", {"date": "2026-12-03", "duration_minutes": 30}),
        ("convert_timezone", {"time": "2026-12-03T10:00", "from_tz": "Europe/Berlin", "to_tz": "UTC"}),
        (
            "send_invitation",
            {
                "email": "alice@example.com",
                "start": "2026-12-03T10:00",
                "duration_minutes": 30,
                "timezone": "Europe/Berlin",
            },
        ),
    ]
    assert final.stop_reason == "end_turn"


def test_final_answer_quotes_every_tool_result(model):
    results = {
        "find_free_slots": '["2026-12-03T09:00Z", "2026-12-03T10:00Z"]',
        "convert_timezone": "2026-12-03T09:00:00+00:00",
        "send_invitation": "invitation sent to alice@example.com",
    }
    _, final = run_agent(model, MEETING_REQUEST, MEETING_TOOLS, answer_tool=lambda call: results[call.name])
    for name, result in results.items():
        assert f'{name} returned "{result}"' in final.text


def test_tool_call_turn_reports_tool_use_and_counts_its_tokens(model):
    done = model.complete([{"role": "user", "content": MEETING_REQUEST}], tools=MEETING_TOOLS)
    assert done.stop_reason == "tool_use" and done.text == ""
    assert done.usage.output_tokens > 0 and done.cost_usd > 0


def test_missing_required_argument_makes_no_call_and_asks_for_it(model):
    done = model.complete(
        [{"role": "user", "content": "Book a 30 minute meeting on 2026-12-03 at 10:00"}], tools=MEETING_TOOLS
    )
    assert done.tool_calls == []
    assert "send_invitation" in done.text and "email" in done.text


def test_same_call_already_made_is_not_repeated(model):
    args = {"query": "assert statement", "top_k": 5}
    messages = [
        {"role": "user", "content": 'Search the docs for "assert statement"'},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "search_docs", "arguments": args}]},
        {"role": "tool", "tool_call_id": "c1", "name": "search_docs", "content": "assert: debugging aid"},
    ]
    done = model.complete(messages, tools=[SEARCH_TOOL])
    assert done.tool_calls == []
    assert 'search_docs returned "assert: debugging aid"' in done.text


def test_calls_stop_after_the_per_turn_limit():
    tool = {
        "name": "lookup_number",
        "description": "Look up a number.",
        "parameters": {"type": "object", "properties": {}},
    }
    messages = [{"role": "user", "content": "look up the number"}]
    for i in range(MAX_CALLS):
        messages.append(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": f"c{i}", "name": "other", "arguments": {"i": i}}],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "name": "other", "content": str(i)})
    decision = decide_tool_step(messages, [tool])
    assert decision is not None and decision.tool_calls == []


def test_query_parameter_gets_the_quoted_text_and_defaults_fill_the_rest():
    args, missing = extract_arguments(SEARCH_TOOL, 'Search the docs for "assert statement"')
    assert (args, missing) == ({"query": "assert statement", "top_k": 5}, [])


def test_query_parameter_gets_the_whole_request_without_quotes():
    args, _ = extract_arguments(SEARCH_TOOL, "search the docs for how assert works")
    assert args["query"] == "search the docs for how assert works"


def test_key_value_pairs_set_parameters_and_win_over_entities():
    args, _ = extract_arguments(SEARCH_TOOL, 'search the docs query="with statement" top_k=3, about 10 things')
    assert args == {"query": "with statement", "top_k": 3}
    args, _ = extract_arguments(SEARCH_TOOL, "search the docs; Query: context managers, top-k: 2")
    assert args == {"query": "context managers", "top_k": 2}


def test_enum_parameter_takes_the_value_named_in_the_request():
    tool = {
        "name": "get_forecast",
        "description": "Weather forecast.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "units": {"type": "string", "enum": ["metric", "imperial"]}},
            "required": ["city"],
        },
    }
    args, missing = extract_arguments(tool, "Forecast for 'Lisbon' in imperial units")
    assert (args, missing) == ({"city": "Lisbon", "units": "imperial"}, [])


def test_array_of_emails_collects_every_address():
    tool = {
        "name": "send_mail",
        "description": "Send an email.",
        "parameters": {
            "type": "object",
            "properties": {"recipients": {"type": "array", "items": {"type": "string", "format": "email"}}},
            "required": ["recipients"],
        },
    }
    args, _ = extract_arguments(tool, "mail bob@example.org and carol@example.net")
    assert args == {"recipients": ["bob@example.org", "carol@example.net"]}


def test_entities_are_typed_and_numbers_exclude_dates_and_times():
    text = 'Search "error 404" at 3pm or 9:30 pm for 1.5 hours, see https://x.org/a. on 2026-02-01 and 42 more'
    found = [(e.kind, e.value) for e in extract_entities(text)]
    assert found == [
        ("quoted", "error 404"),
        ("time", "15:00"),
        ("time", "21:30"),
        ("duration", 90.0),
        ("url", "https://x.org/a"),
        ("date", "2026-02-01"),
        ("number", 42),
    ]


@pytest.mark.parametrize(
    ("name", "schema", "kind"),
    [
        ("attendee", {"type": "string"}, "email"),
        ("to_tz", {"type": "string"}, "timezone"),
        ("starts_at", {"type": "string"}, "datetime"),
        ("day", {"type": "string"}, "date"),
        ("time", {"type": "string", "format": "date-time"}, "datetime"),
        ("duration_minutes", {"type": "integer"}, "minutes"),
        ("limit", {"type": "integer"}, "number"),
        ("question", {"type": "string"}, "text"),
        ("city", {"type": "string"}, "string"),
        ("attendees", {"type": "array", "items": {"type": "string"}}, "array:email"),
    ],
)
def test_parameter_kind_follows_format_then_type_then_name(name, schema, kind):
    assert param_kind(name, schema) == kind


def test_unrelated_tools_score_below_relevance_and_the_model_says_so(model):
    assert tool_relevance(MEETING_TOOLS[0], "What is the capital of France?") < 2.0
    done = model.complete([{"role": "user", "content": "What is the capital of France?"}], tools=MEETING_TOOLS)
    assert done.tool_calls == [] and "None of the tools" in done.text


def test_tool_call_ids_are_deterministic(model):
    messages = [{"role": "user", "content": MEETING_REQUEST}]
    first = model.complete(messages, tools=MEETING_TOOLS).tool_calls[0]
    again = model.complete(messages, tools=MEETING_TOOLS).tool_calls[0]
    assert first == again and first.id.startswith("call_")
