"""The value types of the model layer: what goes into ``complete`` and what comes out.

Messages and tools stay plain dicts (so notebooks can write them as literals); results are
small frozen dataclasses.

Example::

    >>> call = ToolCall(id="call_1", name="convert_timezone", arguments={"from_tz": "Europe/Berlin"})
    >>> done = Completion(text="", tool_calls=[call], usage=Usage(120, 18), cost_usd=0.0,
    ...                   model="offline-reference", latency_ms=3.1, stop_reason="tool_use")
    >>> done.to_message()["tool_calls"][0]["name"]
    'convert_timezone'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "Message",
    "ToolSpec",
    "ToolCallDict",
    "Usage",
    "ToolCall",
    "Completion",
    "StopReason",
]

Role = Literal["system", "user", "assistant", "tool"]

#: Normalised stop reasons: every provider's own value is mapped onto these (others pass through).
StopReason = Literal["end_turn", "max_tokens", "tool_use", "stop_sequence", "content_filter", "refusal"]


class ToolCallDict(TypedDict):
    """A tool call as carried by an assistant message."""

    id: str
    name: str
    arguments: dict[str, Any]


class Message(TypedDict):
    """One chat message. ``tool_calls`` only on assistant messages; ``tool_call_id``/``name`` on tool ones."""

    role: Role
    content: str
    tool_calls: NotRequired[list[ToolCallDict]]
    tool_call_id: NotRequired[str]
    name: NotRequired[str]


class ToolSpec(TypedDict):
    """A tool the model may call; ``parameters`` is a JSON schema of type ``object``."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    """Token counts of one call.

    ``input_tokens`` counts every prompt token, cached ones included; ``cached_tokens`` is the part
    read from the provider's prompt cache and ``cache_write_tokens`` the part written to it
    (Anthropic bills writes at a premium). Both are subsets of ``input_tokens``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model asked for. ``arguments`` is already decoded from JSON."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> ToolCallDict:
        return {"id": self.id, "name": self.name, "arguments": dict(self.arguments)}


@dataclass(frozen=True)
class Completion:
    """The result of ``model.complete``.

    ``stop_reason`` is normalised to ``end_turn``, ``max_tokens``, ``tool_use`` or ``stop_sequence``
    (other provider values pass through unchanged); ``provider`` names who answered, which in a
    fallback chain may differ from the first link.
    """

    text: str
    tool_calls: list[ToolCall]
    usage: Usage
    cost_usd: float
    model: str
    latency_ms: float
    stop_reason: str | None = None
    provider: str = ""

    def to_message(self) -> Message:
        """The assistant message to append to the conversation before the next turn."""
        message: Message = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        return message
