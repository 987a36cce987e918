"""Schemas enforced over the API, and checked again when the answer comes back.

A served model decodes under a grammar built from the schema (llama.cpp turns a JSON schema into a GBNF
grammar), so the shape is right by construction; the answer is still validated here with ``jsonschema``
(formats included), because a grammar cannot hold a reply cut short by ``max_tokens`` and a server may
ignore a field it does not know. A mismatch raises :class:`~curriculum.llm.errors.SchemaMismatchError`
naming the tool (or the answer), the reason and whether the token limit was hit.

Two wire forms of ``response_format``:

* ``openai`` (OpenAI, vLLM, Ollama, LM Studio): ``{"type": "json_schema", "json_schema": {"name", "schema",
  "strict": true}}``;
* ``llama.cpp`` (``llama_cpp.server``): ``{"type": "json_object", "schema": {...}}``.

llama.cpp builds its grammar from the schema with ``json_schema_to_gbnf``, which mistranslates regex
escapes in a ``pattern`` (``\\d``, ``\\.``): the grammar fails to parse and the server process dies.
:func:`grammar_schema` therefore sends it a copy whose patterns spell shorthand classes out (``\\d`` ->
``[0-9]``, escaped punctuation -> ``[.]``) and drops a pattern it cannot rewrite; the full schema is still
checked on the answer.

Example::

    >>> grammar_pattern(r"^\\d{4}-\\d{2}$"), grammar_pattern(r"^a\\.b$"), grammar_pattern(r"^[\\d_]+$")
    ('^[0-9]{4}-[0-9]{2}$', '^a[.]b$', '^[0-9_]+$')
    >>> response_format({"type": "object"}, "llama.cpp")
    {'type': 'json_object', 'schema': {'type': 'object'}}
    >>> schema_errors({"type": "object", "required": ["n"]}, {})
    ["$: 'n' is a required property"]
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidRequestError, SchemaMismatchError
from ..types import ToolCall

__all__ = [
    "DIALECTS",
    "EMAIL_PATTERN",
    "grammar_pattern",
    "grammar_schema",
    "response_format",
    "tool_choice_param",
    "schema_errors",
    "check_json_answer",
    "check_tool_calls",
]

DIALECTS = ("openai", "llama.cpp")


_SHORTHANDS = {"d": ("[0-9]", "0-9"), "w": ("[A-Za-z0-9_]", "A-Za-z0-9_"), "s": ("[ \\t\\n\\r]", " \\t\\n\\r")}


def grammar_pattern(pattern: str) -> str | None:
    """``pattern`` without the backslash escapes llama.cpp's converter mistranslates, or None if it cannot be."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped in _SHORTHANDS:
                out.append(_SHORTHANDS[escaped][in_class])
            elif escaped and not in_class and not escaped.isalnum() and escaped not in "]^-\\":
                out.append(f"[{escaped}]")
            else:
                return None
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


EMAIL_PATTERN = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)+$"
MAX_ENUM_RANGE = 1000


def grammar_schema(schema: Any) -> Any:
    """A copy of ``schema`` for llama.cpp's grammar converter (see the module docstring).

    Besides rewriting patterns, it spells out for the grammar what the converter would skip: an ``email``
    string format becomes a pattern, and an integer range of at most ``MAX_ENUM_RANGE`` values an ``enum``.
    """
    if isinstance(schema, list):
        return [grammar_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "pattern" and isinstance(value, str):
            rewritten = grammar_pattern(value)
            if rewritten is not None:
                out[key] = rewritten
        else:
            out[key] = grammar_schema(value)
    if out.get("type") == "string" and out.get("format") == "email" and "pattern" not in out:
        out["pattern"] = EMAIL_PATTERN
    low, high = out.get("minimum"), out.get("maximum")
    if (
        out.get("type") == "integer"
        and isinstance(low, int)
        and isinstance(high, int)
        and 0 <= high - low < MAX_ENUM_RANGE
    ):
        out["enum"] = list(range(low, high + 1))
    return out


def response_format(schema: dict[str, Any], dialect: str = "openai", name: str = "answer") -> dict[str, Any]:
    """The ``response_format`` that asks a server for JSON matching ``schema``."""
    if dialect == "llama.cpp":
        return {"type": "json_object", "schema": grammar_schema(schema)}
    if dialect == "openai":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    raise InvalidRequestError(f"unknown schema dialect {dialect!r}; use one of {DIALECTS}")


def tool_choice_param(choice: str, tool_names: list[str]) -> str | dict[str, Any]:
    """``auto``/``required``/``none`` as they are; a tool's name becomes the forced-function form."""
    if choice in ("auto", "required", "none"):
        return choice
    if choice not in tool_names:
        raise InvalidRequestError(
            f"tool_choice names {choice!r}, which is not among the tools ({', '.join(tool_names)})"
        )
    return {"type": "function", "function": {"name": choice}}


def schema_errors(schema: dict[str, Any], value: Any) -> list[str]:
    """Every way ``value`` breaks ``schema`` (``$.path: message``), formats such as ``email`` included."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidRequestError(f"not a valid JSON schema: {exc.message}") from exc
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{err.json_path}: {err.message}" for err in sorted(validator.iter_errors(value), key=lambda e: e.json_path)
    ]


def _cut_short(hit_limit: bool, max_tokens: int) -> str:
    return f" (the reply stopped at max_tokens={max_tokens} before it was complete)" if hit_limit else ""


def check_json_answer(text: str, schema: dict[str, Any], *, provider: str, hit_limit: bool, max_tokens: int) -> Any:
    """The decoded JSON answer, or :class:`SchemaMismatchError` when it is not JSON or breaks ``schema``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaMismatchError(
            f"the answer is not valid JSON{_cut_short(hit_limit, max_tokens)}: {exc.msg} at character {exc.pos} "
            f"of {text[:80]!r}",
            provider=provider,
            errors=[exc.msg],
        ) from None
    errors = schema_errors(schema, value)
    if errors:
        raise SchemaMismatchError(
            f"the JSON answer does not match its schema: {'; '.join(errors[:3])}", provider=provider, errors=errors
        )
    return value


def check_tool_calls(
    calls: list[ToolCall], tools: list[dict[str, Any]], *, provider: str, hit_limit: bool, max_tokens: int
) -> None:
    """Raise :class:`SchemaMismatchError` unless every call names a given tool and its arguments match its schema."""
    by_name = {t["name"]: t for t in tools}
    for call in calls:
        tool = by_name.get(call.name)
        if tool is None:
            raise SchemaMismatchError(
                f"the model called {call.name!r}, which is not among the tools ({', '.join(by_name)})",
                provider=provider,
                errors=[f"unknown tool {call.name!r}"],
            )
        if set(call.arguments) == {"_raw"}:
            raise SchemaMismatchError(
                f"the arguments of the call to {call.name!r} are not a JSON object{_cut_short(hit_limit, max_tokens)}: "
                f"{call.arguments['_raw'][:80]!r}",
                provider=provider,
                errors=["arguments are not a JSON object"],
            )
        errors = schema_errors(tool.get("parameters") or {"type": "object"}, call.arguments)
        if errors:
            raise SchemaMismatchError(
                f"the call to {call.name!r} does not match its parameters: {'; '.join(errors[:3])}",
                provider=provider,
                errors=errors,
            )
