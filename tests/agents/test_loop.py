"""The loop's mechanics, driven by a scripted model (a stand-in for any provider, not the product path)."""

from dataclasses import dataclass, field
from typing import get_args

import pytest

from curriculum.agents.loop import AgentStopReason, BudgetRefusal, Tool, call_tool, run_agent
from curriculum.llm.types import Completion, ToolCall, Usage


@dataclass
class Scripted:
    """Answers with the scripted completions in order and remembers every request."""

    script: list
    price: float = 0.0
    seen: list = field(default_factory=list)

    def complete(self, messages, tools=None, max_tokens=512, **_):
        self.seen.append([dict(m) for m in messages])
        text, calls = self.script.pop(0)
        tcs = [ToolCall(f"c{len(self.seen)}_{i}", n, a) for i, (n, a) in enumerate(calls)]
        return Completion(text, tcs, Usage(100, 10), self.price, "scripted", 1.0, "tool_use" if tcs else "end_turn")

    def estimate_cost(self, messages, max_tokens):
        return self.price


ADD = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
    "additionalProperties": False,
}


def _tools(sent):
    def send(to: str) -> str:
        sent.append(to)
        return f"sent to {to}"

    def boom(a, b):
        raise ValueError("division by zero")

    return [
        Tool("add", "add numbers", ADD, lambda a, b: a + b),
        Tool("boom", "fails", ADD, boom),
        Tool(
            "send",
            "send mail",
            {"type": "object", "properties": {"to": {"type": "string", "format": "email"}}, "required": ["to"]},
            send,
            requires_approval=True,
        ),
    ]


def test_statuses_are_fed_back_and_run_finishes():
    sent = []
    model = Scripted(
        [
            ("", [("add", {"a": 1}), ("add", {"a": 1, "b": 2}), ("nope", {}), ("boom", {"a": 1, "b": 1})]),
            ("", [("send", {"to": "bob@example.com"}), ("send", {"to": "not-an-email"})]),
            ("done: 3", []),
        ]
    )
    result = run_agent(model, _tools(sent), "task", approve=lambda name, args: args["to"].endswith("@example.com"))
    assert result.stop_reason == "final_answer" and result.final_answer == "done: 3"
    assert [c.status for c in result.tool_calls()] == ["invalid", "ok", "unknown_tool", "error", "ok", "invalid"]
    assert sent == ["bob@example.com"]
    tool_msgs = [m for m in model.seen[1] if m["role"] == "tool"]
    assert "required property" in tool_msgs[0]["content"] and tool_msgs[1]["content"] == "3"
    assert "division by zero" in tool_msgs[3]["content"]
    assert result.tool_outputs() == ["3", "sent to bob@example.com"]


@pytest.mark.parametrize("approver", [None, lambda n, a: False, lambda n, a: "yes", lambda n, a: 1 / 0])
def test_side_effects_never_run_without_an_explicit_true(approver):
    sent = []
    model = Scripted([("", [("send", {"to": "bob@example.com"})]), ("ok", [])])
    result = run_agent(model, _tools(sent), "task", approve=approver)
    assert sent == [] and result.tool_calls()[0].status == "denied"


def test_step_and_budget_limits():
    model = Scripted([("", [("add", {"a": 1, "b": 2})])] * 10)
    result = run_agent(model, _tools([]), "task", max_steps=3)
    assert result.stop_reason == "max_steps" and len(result.steps) == 3 and result.final_answer is None
    model = Scripted([("", [("add", {"a": 1, "b": 2})])] * 10, price=0.01)
    result = run_agent(model, _tools([]), "task", max_steps=10, max_cost_usd=0.025)
    assert result.stop_reason == "budget" and len(result.steps) == 2
    model = Scripted([("", [("add", {"a": 1, "b": 2})])] * 10)
    result = run_agent(model, _tools([]), "task", max_steps=10, max_total_tokens=250)
    assert result.stop_reason == "budget" and result.total_tokens == 330


def test_bad_setup_is_refused():
    with pytest.raises(ValueError, match="type 'object'"):
        Tool("x", "d", {"type": "string"}, print)
    with pytest.raises(ValueError, match="invalid JSON schema"):
        Tool("x", "d", {"type": "object", "properties": {"a": {"type": "nonsense"}}}, print)
    with pytest.raises(ValueError, match="non-empty"):
        run_agent(Scripted([]), [], "  ")


def test_the_same_call_twice_in_a_row_is_not_run_again():
    runs = []
    tool = Tool("add", "add numbers", ADD, lambda a, b: runs.append((a, b)) or a + b)
    model = Scripted(
        [
            ("", [("add", {"a": 1, "b": 2})]),
            ("", [("add", {"b": 2, "a": 1}), ("add", {"a": 2, "b": 2})]),  # same arguments in another order
            ("", [("add", {"a": 1, "b": 2})]),  # not in a row any more: runs
            ("done", []),
        ]
    )
    result = run_agent(model, [tool], "task")
    assert [c.status for c in result.tool_calls()] == ["ok", "repeated", "ok", "ok"]
    assert runs == [(1, 2), (2, 2), (1, 2)]
    told = [m["content"] for m in model.seen[2] if m["role"] == "tool"]
    assert "same arguments" in told[1] and result.stop_reason == "final_answer"
    again = run_agent(
        Scripted([("", [("add", {"a": 1, "b": 2})])] * 2 + [("done", [])]), [tool], "task", refuse_repeats=False
    )
    assert [c.status for c in again.tool_calls()] == ["ok", "ok"]


def test_a_model_that_refuses_for_budget_stops_the_run():
    class Refusing(Scripted):
        def complete(self, messages, tools=None, max_tokens=512, **_):
            if len(self.seen) == 2:
                raise BudgetRefusal("no money left")
            return super().complete(messages, tools, max_tokens)

    model = Refusing([("", [("add", {"a": 1, "b": 2})])] * 5)
    result = run_agent(model, _tools([]), "task", max_steps=5)
    assert result.stop_reason == "budget" and len(result.steps) == 2
    assert isinstance(result.budget_refusal, BudgetRefusal) and "no money" in str(result.budget_refusal)
    finished = run_agent(Scripted([("done", [])]), [], "task")
    assert finished.budget_refusal is None and finished.stop_reason in get_args(AgentStopReason)


def test_the_record_keeps_the_value_and_render_decides_what_the_model_sees():
    tool = Tool(
        "lookup",
        "look up",
        {"type": "object", "properties": {}},
        lambda: {"rows": 3, "secret": "s"},
        render=lambda value: f"{value['rows']} rows",
    )
    record = call_tool(tool, "c1", {})
    assert record.status == "ok" and record.output == "3 rows" and record.value == {"rows": 3, "secret": "s"}
    failing = call_tool(Tool("bad", "d", ADD, lambda a, b: 1, render=lambda value: value["x"]), "c2", {"a": 1, "b": 2})
    assert failing.status == "error" and failing.value is None and "TypeError" in failing.output
    extra = call_tool(tool, "c3", {"x": 1})  # the schema allows the key, the function does not: reported, not raised
    assert extra.status == "error" and "unexpected keyword" in extra.output


def test_a_malformed_reply_costs_a_step_and_is_fed_back_to_the_model():
    from curriculum.llm.errors import SchemaMismatchError

    class Malformed(Scripted):
        def complete(self, messages, tools=None, max_tokens=512, **_):
            if not self.seen:
                self.seen.append([dict(m) for m in messages])
                raise SchemaMismatchError("cut at max_tokens", provider="local", errors=["truncated"])
            return super().complete(messages, tools, max_tokens)

    model = Malformed([("the answer", [])])
    result = run_agent(model, [], "say it", max_steps=3)
    assert result.final_answer == "the answer" and result.stop_reason == "final_answer"
    assert len(result.steps) == 2 and result.steps[0].text.startswith("(malformed reply")
    assert "not a valid tool call or answer" in model.seen[-1][-1]["content"]


def test_malformed_replies_stop_at_max_steps():
    from curriculum.llm.errors import SchemaMismatchError

    class AlwaysMalformed(Scripted):
        def complete(self, messages, tools=None, max_tokens=512, **_):
            self.seen.append(1)
            raise SchemaMismatchError("garbage", provider="local", errors=["not json"])

    model = AlwaysMalformed([])
    result = run_agent(model, [], "say it", max_steps=2)
    assert result.final_answer is None and result.stop_reason == "max_steps" and len(model.seen) == 2
