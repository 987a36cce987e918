"""Checks on the provider-neutral message and tool format, done before any provider is called.

Every provider receives messages that passed :func:`validate_messages` and tools that passed
:func:`validate_tools`, so the translations in the provider modules can rely on the shape.

Example::

    >>> validate_messages([{"role": "user", "content": "hi"}])
    >>> validate_messages([{"role": "robot", "content": "hi"}])
    Traceback (most recent call last):
    ...
    curriculum.llm.errors.InvalidRequestError: message 0: role must be one of system, user, assistant, tool (got 'robot')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .errors import InvalidRequestError

__all__ = ["ROLES", "validate_messages", "validate_tools", "system_text", "last_user_index"]

ROLES = ("system", "user", "assistant", "tool")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def validate_messages(messages: Sequence[dict[str, Any]]) -> None:
    """Raise :class:`InvalidRequestError` naming the first malformed message, if any."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidRequestError("messages must be a list of dicts")
    if not messages:
        raise InvalidRequestError("messages must not be empty")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequestError(f"message {i}: must be a dict, got {type(message).__name__}")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequestError(f"message {i}: role must be one of {', '.join(ROLES)} (got {role!r})")
        content = message.get("content")
        if content is None and role == "assistant" and message.get("tool_calls"):
            content = ""
        if not isinstance(content, str):
            raise InvalidRequestError(f"message {i}: content must be a string (got {type(content).__name__})")
        if role == "assistant":
            for j, call in enumerate(message.get("tool_calls") or []):
                if not isinstance(call, dict) or not call.get("id") or not call.get("name"):
                    raise InvalidRequestError(f"message {i}: tool_calls[{j}] needs an id and a name")
                if not isinstance(call.get("arguments", {}), dict):
                    raise InvalidRequestError(f"message {i}: tool_calls[{j}].arguments must be a dict")
        if role == "tool" and not message.get("tool_call_id"):
            raise InvalidRequestError(f"message {i}: a tool message needs the tool_call_id it answers")


def validate_tools(tools: Sequence[dict[str, Any]] | None) -> None:
    """Raise :class:`InvalidRequestError` naming the first malformed tool, if any."""
    if tools is None:
        return
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise InvalidRequestError(f"tool {i}: must be a dict")
        name = tool.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise InvalidRequestError(f"tool {i}: name must match [A-Za-z0-9_-]{{1,64}} (got {name!r})")
        if name in seen:
            raise InvalidRequestError(f"tool {i}: duplicate name {name!r}")
        seen.add(name)
        params = tool.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(params, dict) or params.get("type", "object") != "object":
            raise InvalidRequestError(f"tool {name!r}: parameters must be a JSON schema of type object")
        required = params.get("required", [])
        unknown = [r for r in required if r not in params.get("properties", {})]
        if unknown:
            raise InvalidRequestError(f"tool {name!r}: required names unknown properties {unknown}")


def system_text(messages: Sequence[dict[str, Any]]) -> str:
    """All system messages joined by blank lines (providers take the system prompt apart)."""
    return "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m["content"])


def last_user_index(messages: Sequence[dict[str, Any]]) -> int | None:
    """Index of the last user message, or None when there is none."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "user":
            return i
    return None
