"""Tool calls from a local llama.cpp server, decoded under one JSON schema that holds every allowed reply.

llama-cpp-python 0.3.36's own tool support (``chatml-function-calling``) enforces a forced call, but its
``tool_choice="auto"`` ignores ``max_tokens`` and lets a small model call the same tool again and again
until the context is full. So the llama.cpp dialect does what constrained-decoding servers do inside:
the reply is decoded under a grammar (``response_format``, which honours ``max_tokens``) built from a
union schema with one branch per allowed reply,

* ``{"tool": "<name>", "arguments": {<that tool's parameters>}}`` for each tool the choice allows,
* ``{"answer": "<text>"}`` unless the choice requires a call (``required`` or a tool's name),

and the tools are listed in the system turn with that reply format. The reply is turned back into a
tool call or a text answer here; earlier calls and results go back into the conversation in the same
form, so the model sees its own protocol.

Example::

    >>> tools = [{"name": "add", "description": "Add two numbers.",
    ...           "parameters": {"type": "object", "properties": {"a": {"type": "number"}}}}]
    >>> [branch["properties"].keys() for branch in reply_schema(tools, "auto")["anyOf"]]
    [dict_keys(['tool', 'arguments']), dict_keys(['answer'])]
    >>> parse_reply('{"tool": "add", "arguments": {"a": 1}}', 0)
    ('', [ToolCall(id='call_0_add', name='add', arguments={'a': 1})])
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from ..errors import SchemaMismatchError
from ..types import ToolCall

if TYPE_CHECKING:
    from ..base import Generation, Request

__all__ = [
    "allowed_tools",
    "reply_schema",
    "tool_system_prompt",
    "protocol_messages",
    "parse_reply",
    "protocol_generation",
]

_DEFAULT_SYSTEM = "You are a helpful assistant."


def allowed_tools(tools: list[dict[str, Any]], choice: str | None) -> list[dict[str, Any]]:
    """The tools a reply may call under ``choice`` (``auto``/None, ``required``, or one tool's name)."""
    if choice in (None, "auto", "required"):
        return tools
    return [t for t in tools if t["name"] == choice]


def reply_schema(
    tools: list[dict[str, Any]], choice: str | None, answer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The union schema of every allowed reply; ``answer`` is the schema of a text answer (default: a string)."""
    branches = [
        {
            "type": "object",
            "properties": {"tool": {"const": t["name"]}, "arguments": t.get("parameters") or {"type": "object"}},
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for t in allowed_tools(tools, choice)
    ]
    if choice in (None, "auto"):
        branches.append(
            {
                "type": "object",
                "properties": {"answer": answer or {"type": "string"}},
                "required": ["answer"],
                "additionalProperties": False,
            }
        )
    return {"anyOf": branches}


def tool_system_prompt(tools: list[dict[str, Any]], choice: str | None) -> str:
    """The lines added to the system turn: the tools, their parameters and the reply format."""
    listed = "\n".join(
        f"- {t['name']}: {t.get('description', '')}\n  parameters: {json.dumps(t.get('parameters') or {})}"
        for t in allowed_tools(tools, choice)
    )
    how = 'To call a tool, reply with {"tool": "<name>", "arguments": {...}}.'
    if choice in (None, "auto"):
        how += ' To answer without a tool, reply with {"answer": "<your answer>"}.'
    else:
        how += " Reply with a tool call."
    return f"You can call these tools:\n{listed}\n{how}"


def protocol_messages(
    chat: list[dict[str, Any]], messages: list[dict[str, Any]], tools: list[dict[str, Any]], choice: str | None
) -> list[dict[str, Any]]:
    """``chat`` (the translated messages) with the tool prompt in the system turn and calls/results as JSON/user turns.

    ``messages`` are the provider-neutral originals, in the same order as ``chat``.
    """
    names = {c["id"]: c["name"] for m in messages for c in (m.get("tool_calls") or [])}
    out: list[dict[str, Any]] = []
    for original, sent in zip(messages, chat):
        if original["role"] == "assistant" and original.get("tool_calls"):
            replies = [
                json.dumps({"tool": c["name"], "arguments": c.get("arguments", {})}) for c in original["tool_calls"]
            ]
            sent = {"role": "assistant", "content": "\n".join(replies)}
        elif original["role"] == "assistant":
            sent = {"role": "assistant", "content": json.dumps({"answer": original.get("content") or ""})}
        elif original["role"] == "tool":
            name = original.get("name") or names.get(original.get("tool_call_id", ""), "the tool")
            sent = {"role": "user", "content": f"Result of {name}: {original['content']}"}
        out.append(sent)
    prompt = tool_system_prompt(tools, choice)
    if out and out[0]["role"] == "system":
        out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{prompt}"}
    else:
        out.insert(0, {"role": "system", "content": f"{_DEFAULT_SYSTEM}\n\n{prompt}"})
    return out


def parse_reply(text: str, turn: int) -> tuple[str, list[ToolCall]] | None:
    """``(answer text, tool calls)`` from a reply decoded under :func:`reply_schema`; None if it is not one."""
    try:
        reply = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(reply, dict) and isinstance(reply.get("tool"), str) and isinstance(reply.get("arguments"), dict):
        return "", [ToolCall(id=f"call_{turn}_{reply['tool']}", name=reply["tool"], arguments=reply["arguments"])]
    if isinstance(reply, dict) and "answer" in reply:
        answer = reply["answer"]
        return (answer if isinstance(answer, str) else json.dumps(answer)), []
    return None


def protocol_generation(generation: Generation, request: Request, provider: str) -> Generation:
    """``generation`` with the tool call or answer its reply holds; a reply that is neither: SchemaMismatchError."""
    turn = sum(m["role"] == "assistant" for m in request.messages)
    parsed = parse_reply(generation.text, turn)
    if parsed is None:
        cut = generation.stop_reason == "max_tokens" or generation.usage.output_tokens >= request.max_tokens
        names = ", ".join(t["name"] for t in request.tools or [])
        raise SchemaMismatchError(
            f"the reply to a request with tools ({names}) is not a tool call or an answer"
            + (f" (the reply stopped at max_tokens={request.max_tokens} before it was complete)" if cut else "")
            + f": {generation.text[:80]!r}",
            provider=provider,
            errors=["reply outside the reply schema"],
        )
    text, calls = parsed
    return dataclasses.replace(
        generation, text=text, tool_calls=calls, stop_reason="tool_use" if calls else generation.stop_reason
    )


def chatml_prompt(messages: list[dict[str, Any]]) -> str:
    """The prompt llama.cpp's server renders for ``messages`` (ChatML; an empty turn keeps only its header).

    >>> chatml_prompt([{"role": "user", "content": "Hi"}])
    '<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n'
    """
    turns = []
    for m in messages:
        content = m.get("content") or ""
        turns.append(
            f"<|im_start|>{m['role']}\n" + (f"{content}<|im_end|>\n" if content and m["role"] != "tool" else "")
        )
    return "".join(turns) + "<|im_start|>assistant\n"
