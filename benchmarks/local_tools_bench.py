"""Tool calls from the local model on the agent eval cases, with and without the schema constraint.

Run with ``python -m benchmarks local_tools_bench``. Every case of ``data/agent-evals/meeting_cases.jsonl``
(50 booking requests) is sent to SmolLM2-135M-Instruct with one tool, ``book_meeting``, whose parameters
are the meeting agent's schema (title, attendees, local start ``YYYY-MM-DDTHH:MM``, duration, IANA zone):

* **unconstrained** -- no ``tools`` field: the tool and its JSON schema are written in the system prompt
  and the model is asked to reply with ``{"name": "book_meeting", "arguments": {...}}`` and nothing else;
* **constrained, forced** -- ``tools`` with ``tool_choice`` naming ``book_meeting``: llama.cpp decodes the
  arguments under a grammar built from the schema;
* **constrained, auto** -- ``tool_choice="auto"``: the grammar lets the model choose a message or the call.

Two different numbers per condition: **valid calls** (a call to ``book_meeting`` whose arguments parse and
match the schema, ``jsonschema`` with formats, over all cases) and **correct arguments** (on the cases
whose expected outcome is ``booked``: attendees, title when the request names one, and start and end in
UTC, computed from the local time, zone and duration with ``zoneinfo``, all equal to the expected ones).
Per-field accuracies say where content goes wrong. Greedy decoding: the same run gives the same numbers.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

CASES = Path(__file__).resolve().parent.parent / "data" / "agent-evals" / "meeting_cases.jsonl"
MAX_TOKENS = 192
LOCAL_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$",
    "description": "local wall-clock time YYYY-MM-DDTHH:MM, no offset",
}
BOOK = {
    "name": "book_meeting",
    "description": "Book a meeting in the shared calendar.",
    "parameters": {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 1, "description": "meeting title, in quotes in the request"},
            "attendees": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1},
            "start": LOCAL_TIME,
            "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 480},
            "timezone": {"type": "string", "minLength": 1, "description": "IANA time zone such as Europe/Berlin"},
        },
        "required": ["title", "attendees", "start", "duration_minutes", "timezone"],
        "additionalProperties": False,
    },
}
SYSTEM = (
    "You book meetings for organizer@example.com. Call book_meeting with the title given in quotes, the "
    "attendees' email addresses, the local start time as YYYY-MM-DDTHH:MM, the duration in minutes and the "
    "IANA time zone named in the request."
)
UNCONSTRAINED_SYSTEM = (
    SYSTEM + "\n\nThe tool:\n" + json.dumps(BOOK) + "\n\nReply with only a JSON object "
    '{"name": "book_meeting", "arguments": {...}} and nothing else.'
)
FIELDS = ("attendees", "title", "start_utc", "end_utc")


def load_cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]


def _utc(local: str, zone: str, minutes: int = 0) -> str | None:
    try:
        moment = datetime.strptime(local, "%Y-%m-%dT%H:%M").replace(tzinfo=ZoneInfo(zone))
    except (ValueError, KeyError, TypeError):
        return None
    return (moment.astimezone(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%MZ")


def field_checks(arguments: dict[str, Any], expect: dict[str, Any]) -> dict[str, bool]:
    """Which expected fields the arguments get right (title only when the case names one)."""
    start, zone = arguments.get("start", ""), arguments.get("timezone", "")
    minutes = arguments.get("duration_minutes") if isinstance(arguments.get("duration_minutes"), int) else 0
    checks = {
        "attendees": sorted(a.lower() for a in arguments.get("attendees", []) if isinstance(a, str))
        == sorted(a.lower() for a in expect["attendees"]),
        "start_utc": _utc(start, zone) == expect["start_utc"],
        "end_utc": _utc(start, zone, minutes) == expect["end_utc"],
    }
    if "title" in expect:
        checks["title"] = arguments.get("title") == expect["title"]
    return checks


def unconstrained_call(model, request: str) -> dict[str, Any] | None:
    from curriculum.llm.local import schema_errors

    done = model.complete(
        [{"role": "system", "content": UNCONSTRAINED_SYSTEM}, {"role": "user", "content": request}],
        max_tokens=MAX_TOKENS,
    )
    text = done.text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        reply = json.loads(text)
    except json.JSONDecodeError:
        return None
    if (
        not isinstance(reply, dict)
        or reply.get("name") != "book_meeting"
        or not isinstance(reply.get("arguments"), dict)
    ):
        return None
    return reply["arguments"] if not schema_errors(BOOK["parameters"], reply["arguments"]) else None


def constrained_call(model, request: str) -> dict[str, Any] | None:
    from curriculum.llm.errors import SchemaMismatchError

    try:
        done = model.complete(
            [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}],
            tools=[BOOK],
            max_tokens=MAX_TOKENS,
        )
    except SchemaMismatchError:
        return None
    calls = [c for c in done.tool_calls if c.name == "book_meeting"]
    return calls[0].arguments if calls else None


def run(condition: str, call, cases) -> dict[str, Any]:
    valid = correct = booked = 0
    fields = {f: [0, 0] for f in FIELDS}
    start = time.perf_counter()
    for case in cases:
        arguments = call(case["request"])
        valid += arguments is not None
        if case["expect"]["outcome"] != "booked":
            continue
        booked += 1
        checks = field_checks(arguments or {}, case["expect"])
        correct += arguments is not None and all(checks.values())
        for name, ok in checks.items():
            fields[name][0] += arguments is not None and ok
            fields[name][1] += 1
    return {
        "condition": condition,
        "valid": valid,
        "cases": len(cases),
        "correct": correct,
        "booked": booked,
        "fields": fields,
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    """Print the share of valid tool calls and of correct arguments per condition."""
    from curriculum.llm.local import ensure_server, stop_server
    from curriculum.llm.local.spec import local_model

    _, started = ensure_server(progress=False)
    try:
        report(load_cases(), local_model)
    finally:
        if started:
            stop_server()


def report(cases, local_model) -> None:
    """Run the three conditions and print their table."""
    print("== local model: tool calls on the meeting-agent eval cases ==")
    print(
        f"{len(cases)} cases ({sum(c['expect']['outcome'] == 'booked' for c in cases)} to book), "
        f"max_tokens {MAX_TOKENS}, greedy; load average (1 min) at start: {os.getloadavg()[0]:.1f}"
    )
    plain = local_model()
    forced = local_model(tool_choice="book_meeting")
    auto = local_model(tool_choice="auto")
    print(f"server: {plain.base_url}")
    rows = [
        run("unconstrained (schema in the prompt)", lambda r: unconstrained_call(plain, r), cases),
        run("constrained, tool_choice=book_meeting", lambda r: constrained_call(forced, r), cases),
        run("constrained, tool_choice=auto", lambda r: constrained_call(auto, r), cases),
    ]
    print(
        f"{'condition':<40} {'valid calls':>13} {'correct args':>13}  "
        + "  ".join(f"{f:>10}" for f in FIELDS)
        + "      time"
    )
    for row in rows:
        per_field = "  ".join(f"{row['fields'][f][0]:>4}/{row['fields'][f][1]:<5}" for f in FIELDS)
        print(
            f"{row['condition']:<40} {row['valid']:>3}/{row['cases']} {row['valid'] / row['cases']:5.0%} "
            f"{row['correct']:>3}/{row['booked']} {row['correct'] / row['booked']:5.0%}  {per_field}  {row['seconds']:6.1f} s"
        )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
