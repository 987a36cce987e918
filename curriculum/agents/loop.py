"""A bounded, explicit agent loop: tools with JSON schemas, step records, budgets and an approval hook.

The loop is infrastructure; what it runs (the tools, the approval policy, the prompts) is yours::

    from curriculum.llm import get_model
    from curriculum.agents.loop import Tool, run_agent

    def add(a: float, b: float) -> float:
        return a + b

    calc = Tool("add", "Add two numbers a and b.", {"type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"]}, add)
    result = run_agent(get_model(), [calc], "add a=2 b=3", max_steps=4)
    result.stop_reason, result.final_answer, [c.status for c in result.tool_calls()]

What one run does, step by step (``while not final and step <= max_steps``):

1. stop with ``"budget"`` when the next model call could push spend past ``max_cost_usd`` (estimated before the
   call) or the tokens used so far past ``max_total_tokens``;
2. call the model with the conversation and the tool specs;
3. no tool calls: its text is the final answer, stop with ``"final_answer"``;
4. for each tool call, in order: unknown tool -> ``"unknown_tool"``; the same tool with the same arguments as
   the call just before it -> ``"repeated"`` (not run again; ``refuse_repeats=False`` turns this off); arguments
   that fail the tool's JSON schema -> ``"invalid"``; a tool marked ``requires_approval`` whose approval callback
   does not return exactly ``True`` (or raises) -> ``"denied"``; the tool raises -> ``"error"``; otherwise
   ``"ok"``. Every outcome goes back to the model as a tool message, so it can correct itself; nothing here
   raises except the model call itself.

After ``max_steps`` model calls without a final answer the run stops with ``"max_steps"``.

Budgets can also live in the model: a wrapper that reserves money before each call and settles the real cost
after it (the shape of :class:`curriculum.llm.ResilientModel`) raises :class:`BudgetRefusal` instead of calling
the provider, and the run stops with ``"budget"``; :attr:`RunResult.budget_refusal` holds the refusal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from ..llm.errors import SchemaMismatchError

__all__ = [
    "Tool",
    "ToolCallRecord",
    "Step",
    "RunResult",
    "AgentStopReason",
    "CallStatus",
    "BudgetRefusal",
    "run_agent",
    "call_tool",
    "validate_arguments",
    "render_output",
]

Approver = Callable[[str, dict[str, Any]], bool]

#: Why a run ended. The loop ends with ``final_answer``, ``max_steps`` or ``budget``; an application that checks
#: a task before running the loop reports ``refused`` (an input guard stopped it) or ``nothing_relevant``
#: (nothing to work from), so every caller speaks of outcomes in the same words.
AgentStopReason = Literal["final_answer", "max_steps", "budget", "refused", "nothing_relevant"]

#: What happened to one tool call.
CallStatus = Literal["ok", "invalid", "unknown_tool", "repeated", "denied", "error"]


class BudgetRefusal(Exception):
    """Raised by a model (or a model wrapper) before a call its budget does not allow; the run stops with ``"budget"``."""


def render_output(value: Any) -> str:
    """How a tool's return value is shown to the model: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


@dataclass
class Tool:
    """A tool the agent may call: ``fn(**arguments)`` runs it; ``parameters`` is its JSON schema (type object).

    ``requires_approval=True`` marks tools that change the world (send, book, pay): the loop asks the approval
    callback before running them. ``render`` turns the return value into what the model is shown
    (default :func:`render_output`); the record of the call keeps the value itself.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., Any]
    requires_approval: bool = False
    render: Callable[[Any], str] = field(default=render_output, repr=False, compare=False)
    _validator: Draft202012Validator | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(f"tool {self.name!r}: fn must be callable")
        if not isinstance(self.parameters, dict) or self.parameters.get("type") != "object":
            raise ValueError(f"tool {self.name!r}: parameters must be a JSON schema with type 'object'")
        try:
            Draft202012Validator.check_schema(self.parameters)
        except SchemaError as exc:
            raise ValueError(f"tool {self.name!r}: invalid JSON schema: {exc.message}") from exc
        self._validator = Draft202012Validator(self.parameters, format_checker=FormatChecker())

    def spec(self) -> dict[str, Any]:
        """The provider-neutral tool dict handed to ``model.complete(tools=...)``."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def validation_errors(self, arguments: Any) -> list[str]:
        """Human-readable schema violations of ``arguments`` (empty list when valid)."""
        assert self._validator is not None
        if not isinstance(arguments, dict):
            return [f"arguments must be a JSON object, got {type(arguments).__name__}"]
        errors = sorted(self._validator.iter_errors(arguments), key=lambda e: list(e.path))
        return [(f"{'/'.join(map(str, e.path))}: " if e.path else "") + e.message for e in errors]


def validate_arguments(tool: Tool, arguments: Any) -> list[str]:
    """Schema violations of ``arguments`` for ``tool``; ``[]`` means the call may run."""
    return tool.validation_errors(arguments)


@dataclass
class ToolCallRecord:
    """What happened to one tool call (see :data:`CallStatus`); ``output`` is what the model was told.

    ``value`` is what the tool returned (only when ``status`` is ``"ok"``), for the caller's own records.
    """

    id: str
    name: str
    arguments: dict[str, Any]
    status: CallStatus
    output: str
    latency_ms: float = 0.0
    value: Any = field(default=None, repr=False, compare=False)


@dataclass
class Step:
    """One model call and the tool calls it asked for."""

    number: int
    text: str
    tool_calls: list[ToolCallRecord]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float


@dataclass
class RunResult:
    """The outcome of :func:`run_agent`."""

    final_answer: str | None
    stop_reason: AgentStopReason
    steps: list[Step]
    messages: list[dict[str, Any]]
    budget_refusal: BudgetRefusal | None = None  # set when a budgeted model refused the next call

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.steps)

    @property
    def total_tokens(self) -> int:
        return sum(s.input_tokens + s.output_tokens for s in self.steps)

    def tool_calls(self, name: str | None = None, status: str | None = None) -> list[ToolCallRecord]:
        """Every tool call of the run, optionally only those of one tool and/or one status."""
        return [
            c
            for s in self.steps
            for c in s.tool_calls
            if (name is None or c.name == name) and (status is None or c.status == status)
        ]

    def tool_outputs(self) -> list[str]:
        """The outputs of the successful tool calls (what the model was actually told)."""
        return [c.output for c in self.tool_calls(status="ok")]

    def summary(self) -> str:
        """One line per step: the tool calls with their status, then how the run ended."""
        lines = []
        for s in self.steps:
            calls = ", ".join(f"{c.name}({c.status})" for c in s.tool_calls) or f"final: {s.text[:60]!r}"
            lines.append(f"step {s.number}: {calls}")
        lines.append(f"stopped: {self.stop_reason}")
        return "\n".join(lines)


def call_tool(tool: Tool, call_id: str, arguments: dict[str, Any], approve: Approver | None = None) -> ToolCallRecord:
    """Run one call of ``tool`` the way the loop does: validate, ask approval when required, run, record.

    Never raises: a bad argument, a refusal or the tool's own exception is the record's status and output.
    """
    problems = tool.validation_errors(arguments)
    if problems:
        return ToolCallRecord(
            call_id, tool.name, arguments, "invalid", "error: invalid arguments: " + "; ".join(problems)
        )
    if tool.requires_approval:
        try:
            approved = approve is not None and approve(tool.name, dict(arguments)) is True
        except Exception as exc:  # a broken approver must not let the call through
            return ToolCallRecord(
                call_id,
                tool.name,
                arguments,
                "denied",
                f"error: approval failed ({type(exc).__name__}: {exc}); the action was not taken",
            )
        if not approved:
            return ToolCallRecord(
                call_id, tool.name, arguments, "denied", "error: a human did not approve this action; it was not taken"
            )
    start = time.perf_counter()
    try:
        value = tool.fn(**arguments)
        output = tool.render(value)
    except Exception as exc:  # fed back to the model so it can recover
        ms = (time.perf_counter() - start) * 1000
        return ToolCallRecord(call_id, tool.name, arguments, "error", f"error: {type(exc).__name__}: {exc}", ms)
    ms = (time.perf_counter() - start) * 1000
    return ToolCallRecord(call_id, tool.name, arguments, "ok", output, ms, value)


def _call_key(name: str, arguments: dict[str, Any]) -> str:
    return name + json.dumps(arguments, sort_keys=True, default=str, ensure_ascii=False)


def run_agent(
    model: Any,
    tools: Sequence[Tool],
    task: str,
    *,
    system: str | None = None,
    max_steps: int = 8,
    max_cost_usd: float | None = None,
    max_total_tokens: int | None = None,
    approve: Approver | None = None,
    max_tokens: int = 512,
    on_step: Callable[[Step], None] | None = None,
    refuse_repeats: bool = True,
) -> RunResult:
    """Run ``task`` with ``model`` and ``tools`` until a final answer, ``max_steps`` or a budget stops it.

    ``approve(tool_name, arguments)`` is called before every tool marked ``requires_approval``; only ``True``
    lets it run. Without an approver, such tools never run. With ``refuse_repeats`` a call identical to the
    one just before it (same tool, same arguments) is not run again; the model is told so instead.
    """
    if not isinstance(task, str) or not task.strip():
        raise ValueError("task must be a non-empty string")
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        raise ValueError(f"tool names must be unique, got {names}")
    by_name = {t.name: t for t in tools}
    specs = [t.spec() for t in tools] or None
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": task})
    steps: list[Step] = []
    spent = 0.0
    final: str | None = None
    stop: AgentStopReason = "max_steps"
    refusal: BudgetRefusal | None = None
    previous: str | None = None  # the last tool call of the run, as a comparable key
    step = 1
    while final is None and step <= max_steps:
        if max_total_tokens is not None and sum(s.input_tokens + s.output_tokens for s in steps) >= max_total_tokens:
            stop = "budget"
            break
        if max_cost_usd is not None and spent + float(model.estimate_cost(messages, max_tokens)) > max_cost_usd:
            stop = "budget"
            break
        try:
            done = model.complete(messages, tools=specs, max_tokens=max_tokens)
        except BudgetRefusal as exc:
            stop, refusal = "budget", exc
            break
        except SchemaMismatchError as exc:
            # a reply that is neither a valid tool call nor an answer costs a step and goes back to the model
            feedback = f"error: your last reply was not a valid tool call or answer ({exc}). Reply again."
            messages.append({"role": "user", "content": feedback})
            record = Step(step, f"(malformed reply: {exc})", [], 0, 0, 0.0, 0.0)
            steps.append(record)
            if on_step is not None:
                on_step(record)
            step += 1
            continue
        spent += float(done.cost_usd or 0.0)
        calls = list(done.tool_calls or [])
        records: list[ToolCallRecord] = []
        if calls:
            messages.append(
                {
                    "role": "assistant",
                    "content": done.text or "",
                    "tool_calls": [{"id": c.id, "name": c.name, "arguments": dict(c.arguments)} for c in calls],
                }
            )
            for c in calls:
                tool = by_name.get(c.name)
                key = _call_key(c.name, dict(c.arguments))
                if tool is None:
                    rec = ToolCallRecord(
                        c.id,
                        c.name,
                        dict(c.arguments),
                        "unknown_tool",
                        f"error: there is no tool named {c.name!r}; tools: {', '.join(names)}",
                    )
                elif refuse_repeats and key == previous:
                    rec = ToolCallRecord(
                        c.id,
                        c.name,
                        dict(c.arguments),
                        "repeated",
                        f"error: {c.name} was just called with these same arguments and was not run "
                        "again; its result is above. Answer from it, or call something else.",
                    )
                else:
                    rec = call_tool(tool, c.id, dict(c.arguments), approve)
                previous = key
                records.append(rec)
                messages.append({"role": "tool", "tool_call_id": c.id, "name": c.name, "content": rec.output})
        else:
            final = done.text or ""
            stop = "final_answer"
            messages.append({"role": "assistant", "content": final})
        record = Step(
            step,
            done.text or "",
            records,
            done.usage.input_tokens,
            done.usage.output_tokens,
            float(done.cost_usd or 0.0),
            float(done.latency_ms or 0.0),
        )
        steps.append(record)
        if on_step is not None:
            on_step(record)
        step += 1
    return RunResult(final, stop, steps, messages, refusal)
