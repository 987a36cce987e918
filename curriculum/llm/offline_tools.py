"""Tool use of the offline reference model: a fixed, documented grammar -- not a language model.

Given the tools and the conversation, the model reads the **request** (the last user message)
and either emits one tool call, asks for a missing argument, or writes a final answer that
quotes the tool results.

1. Entities found in the request (earlier kinds claim their text first)
   ======================  ==============================================  =================
   kind                    examples                                        value
   ======================  ==============================================  =================
   quoted text             ``"assert statement"``, ``“x”``, ``'x'``        the inner text
   email                   ``alice@example.com``                           as written
   url                     ``https://docs.python.org/3/``                  as written
   date-time               ``2026-12-03T10:00``, ``2026-12-03 10:00``      ``YYYY-MM-DDTHH:MM``
   date                    ``2026-12-03``                                  ``YYYY-MM-DD``
   time                    ``10:00``, ``9:30 pm``, ``3pm``                 ``HH:MM`` (24 h)
   time zone               ``Europe/Berlin``, ``America/New_York``, UTC    as written
   duration                ``30 minutes``, ``1.5 h``, ``2 hours``          minutes (or hours)
   number                  ``42``, ``3.5`` (not part of the above)         int or float
   ======================  ==============================================  =================

   ``key=value`` and ``key: value`` pairs whose key is a parameter name (``_``, ``-`` and
   spaces ignored, any case) set that parameter directly and win over everything else;
   ``=`` values end at white space, ``:`` values at a comma, semicolon or line end, and
   either may be quoted.

2. Which entity fills which parameter (by JSON-schema ``format``, then ``type``, then name)
   * ``format: email`` or a name with email/recipient/attendee/invitee -> the next email
     (an ``array`` of them -> every email);
   * a name with tz/timezone/zone -> the next time zone, in order of appearance;
   * ``format: date-time`` or a name with start/end/when/datetime/``*_at`` -> the date-time,
     or the date and the time joined;
   * ``format: date`` or a name with date/day -> the date; ``format: time`` or a name with
     time/hour -> the time;
   * ``integer``/``number`` named like minutes/duration -> a duration in minutes (hours for
     names with hour); other numbers -> the next bare number;
   * ``enum`` -> the first allowed value that occurs in the request;
   * ``boolean`` -> only from ``key=value``;
   * a string named query/question/text/prompt/q/input/message/search/topic -> the first
     quoted text, else the whole request; other strings -> the next quoted text.
   A parameter nothing fills takes its schema ``default``, else stays unset.

3. Which tools are called
   A tool's relevance is the weight of its terms found in the request: name parts count 2,
   description words 1 (numbers excepted), parameter-name parts 0.5 (stemmed, stop words
   dropped). The request's
   terms are its words, a few synonyms (``SYNONYMS``) and a tag per entity kind (an email
   adds "email", a time zone adds "timezone" and "time", ...). Tools scoring at least
   ``RELEVANCE`` whose required parameters are all filled form the plan: look-up tools
   (name starting with find/search/get/convert/check/...) before action tools
   (send/book/create/delete/...), otherwise in the order given. One call is made per turn.

4. When to stop
   The next planned call that was not yet made since the request (same tool, same
   arguments) is emitted. When every planned call was made, or ``MAX_CALLS`` calls were made,
   the model answers, quoting each tool result. When the most relevant tool lacks a required
   argument, no call is made and the answer asks for that argument.

Worked example: with tools ``find_free_slots(date, duration_minutes)``,
``convert_timezone(time: date-time, from_tz, to_tz="UTC")`` and
``send_invitation(email, start, duration_minutes, timezone)``, the request
"Book a 30 minute meeting with alice@example.com on 2026-12-03 at 10:00 Europe/Berlin" gives
``find_free_slots(date="2026-12-03", duration_minutes=30)``, then
``convert_timezone(time="2026-12-03T10:00", from_tz="Europe/Berlin", to_tz="UTC")``, then
``send_invitation(email="alice@example.com", start="2026-12-03T10:00", duration_minutes=30,
timezone="Europe/Berlin")``, then an answer quoting the three results.

Why one module of this size: the argument extractors, the relevance scorer and the planner are one
grammar (the table above) and are read and changed together; split, each part would only make sense with the others open.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .text import content_terms, stem, words
from .types import ToolCall

__all__ = [
    "Entity",
    "ToolDecision",
    "extract_entities",
    "param_kind",
    "extract_arguments",
    "tool_relevance",
    "decide_tool_step",
    "RELEVANCE",
    "MAX_CALLS",
]

RELEVANCE = 2.0
MAX_CALLS = 8
RESULT_QUOTE_CHARS = 400

#: Request word -> extra terms it implies (both sides are stemmed before matching).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "book": ("schedule", "reserve", "meeting", "invitation", "calendar"),
    "schedule": ("book", "meeting", "invitation", "calendar"),
    "meeting": ("calendar", "invitation", "event"),
    "invite": ("invitation", "send", "meeting"),
    "email": ("send", "mail", "message"),
    "mail": ("email", "send", "message"),
    "find": ("search", "lookup", "look"),
    "search": ("find", "lookup", "query"),
    "look": ("find", "search", "lookup"),
    "convert": ("conversion", "translate"),
    "weather": ("forecast", "temperature"),
    "cost": ("price", "pricing"),
    "price": ("cost", "pricing"),
    "delete": ("remove", "cancel"),
    "cancel": ("delete", "remove"),
    "create": ("add", "new", "make"),
}
ENTITY_TAGS: dict[str, tuple[str, ...]] = {
    "email": ("email", "mail", "address", "recipient"),
    "url": ("url", "link", "page", "web"),
    "datetime": ("date", "day", "time", "calendar"),
    "date": ("date", "day", "calendar"),
    "time": ("time",),
    "timezone": ("timezone", "zone", "time", "tz"),
    "duration": ("duration", "minute", "length"),
}
LOOKUP_VERBS = frozenset(
    "find search get list lookup look fetch read query check convert calculate compute count "
    "estimate retrieve resolve translate parse validate summarize".split()
)
ACTION_VERBS = frozenset(
    "send book create delete update write post schedule cancel invite add remove set pay transfer "
    "submit save upload reserve notify email".split()
)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("url", re.compile(r"https?://[^\s\"'<>]+")),
    ("datetime", re.compile(r"\b(\d{4}-\d{2}-\d{2})[T ](\d{1,2}):(\d{2})(?::\d{2})?(Z|[+-]\d{2}:?\d{2})?")),
    ("date", re.compile(r"\b\d{4}-\d{2}-\d{2}\b")),
    ("time", re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?(?:\s*([ap])\.?m\.?\b)?", re.I)),
    ("time", re.compile(r"\b(1[0-2]|0?[1-9])\s*([ap])\.?m\.?(?!\w)", re.I)),
    (
        "timezone",
        re.compile(
            r"\b(?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)"
            r"/[A-Za-z_]+(?:/[A-Za-z_]+)?|\b(?:UTC|GMT)\b"
        ),
    ),
    (
        "duration",
        re.compile(r"\b(\d+(?:\.\d+)?)\s*-?\s*(minutes?|mins?|hours?|hrs?|h|seconds?|secs?)\b", re.I),
    ),
]
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)")
_NUMBER = re.compile(r"(?<![\w./:-])-?\d+(?:\.\d+)?(?![\w/:])")
_TEXT_NAMES = {"query", "question", "text", "prompt", "q", "input", "message", "search", "request", "topic", "keywords"}


@dataclass(frozen=True)
class Entity:
    """A typed value found in the request, with its character span."""

    kind: str
    value: Any
    start: int
    end: int


@dataclass
class ToolDecision:
    """What the model does this turn: call tools, or answer with ``text``."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


def _duration_minutes(amount: float, unit: str) -> float:
    unit = unit.lower()
    if unit.startswith("h"):
        return amount * 60
    if unit.startswith("s"):
        return amount / 60
    return amount


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def extract_entities(text: str) -> list[Entity]:
    """Typed entities of ``text`` (see the table in the module docstring), in order of appearance."""
    taken: list[tuple[int, int]] = []
    found: list[Entity] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for match in _QUOTED.finditer(text):
        inner = next(g for g in match.groups() if g is not None)
        found.append(Entity("quoted", inner, match.start(), match.end()))
    quoted_spans = [(e.start, e.end) for e in found]

    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if not free(match.start(), match.end()):
                continue
            value: Any = match.group(0)
            if kind == "datetime":
                date, hour, minute, zone = match.groups()
                value = f"{date}T{int(hour):02d}:{minute}" + (zone or "")
            elif kind == "date":
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    continue
            elif kind == "time":
                groups = match.groups()
                hour = int(groups[0])
                minute = groups[1] if len(groups) == 3 else "00"
                meridiem = (groups[2] if len(groups) == 3 else groups[1]) or ""
                if meridiem.lower() == "p" and hour < 12:
                    hour += 12
                elif meridiem.lower() == "a" and hour == 12:
                    hour = 0
                value = f"{hour:02d}:{minute}"
            elif kind == "duration":
                value = _duration_minutes(float(match.group(1)), match.group(2))
            elif kind == "url":
                value = value.rstrip(".,;:!?)")
            taken.append((match.start(), match.end()))
            found.append(Entity(kind, value, match.start(), match.end()))

    blocked = taken + quoted_spans
    for match in _NUMBER.finditer(text):
        if all(match.end() <= a or match.start() >= b for a, b in blocked):
            found.append(Entity("number", _number(match.group(0)), match.start(), match.end()))
    return sorted(found, key=lambda e: e.start)


def _name_parts(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [p for p in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if p]


def _norm_key(key: str) -> str:
    return re.sub(r"[\s_-]+", "", key.lower())


def param_kind(name: str, schema: dict[str, Any]) -> str:
    """The kind of value a parameter takes: email, timezone, datetime, date, time, url,
    minutes, hours, number, enum, boolean, text, string -- or ``array:<kind>``."""
    kind_type = schema.get("type")
    fmt = schema.get("format", "")
    parts = set(_name_parts(name))
    lowered = name.lower()
    if kind_type == "array":
        return "array:" + param_kind(name, schema.get("items", {"type": "string"}))
    if "enum" in schema:
        return "enum"
    if kind_type == "boolean":
        return "boolean"
    if kind_type in ("integer", "number"):
        if parts & {"minute", "minutes", "mins", "duration", "length"}:
            return "minutes"
        if parts & {"hour", "hours"}:
            return "hours"
        return "number"
    formats = {"email": "email", "date-time": "datetime", "date": "date", "time": "time", "uri": "url", "url": "url"}
    if fmt in formats:
        return formats[fmt]
    if parts & {"email", "emails", "recipient", "recipients", "attendee", "attendees", "invitee", "invitees"}:
        return "email"
    if parts & {"tz", "timezone", "zone"} or "timezone" in lowered or "time_zone" in lowered:
        return "timezone"
    if parts & {"datetime", "start", "end", "when"} or lowered.endswith("_at"):
        return "datetime"
    if parts & {"date", "day"}:
        return "date"
    if parts & {"time", "hour"}:
        return "time"
    if parts & {"url", "uri", "link"}:
        return "url"
    if parts & _TEXT_NAMES:
        return "text"
    return "string"


def _pairs(text: str, properties: dict[str, Any]) -> dict[str, str]:
    """``key=value`` / ``key: value`` pairs whose key names a parameter."""
    names = {_norm_key(name): name for name in properties}
    out: dict[str, str] = {}
    for match in re.finditer(r"(?<![\w/@.])([A-Za-z_][\w-]*(?: [A-Za-z_][\w-]*)?)\s*(=|:)\s*", text):
        key = _norm_key(match.group(1))
        if key not in names:
            key = _norm_key(match.group(1).split(" ")[-1])
            if key not in names:
                continue
        rest = text[match.end() :]
        quoted = re.match(r"\"([^\"]*)\"|'([^']*)'|“([^”]*)”", rest)
        if quoted:
            value = next(g for g in quoted.groups() if g is not None)
        elif match.group(2) == "=":
            value = re.match(r"[^\s,;]*", rest).group(0)
        else:
            value = re.match(r"[^,;\n]*", rest).group(0).strip()
        if value:
            out.setdefault(names[key], value)
    return out


def _coerce(value: str, kind: str, schema: dict[str, Any]) -> Any:
    """A ``key=value`` string turned into the parameter's type."""
    base = kind.removeprefix("array:")
    if base in ("email", "timezone", "datetime", "date", "time", "url", "minutes"):
        entities = [
            e for e in extract_entities(value) if e.kind == base or (base == "minutes" and e.kind == "duration")
        ]
        if entities:
            picked = [e.value for e in entities] if kind.startswith("array:") else entities[0].value
            return _number(str(picked)) if base == "minutes" else picked
    if kind.startswith("array:"):
        return [part.strip() for part in value.split(",") if part.strip()]
    if schema.get("type") == "boolean":
        return value.strip().lower() in ("true", "yes", "1", "on")
    if schema.get("type") in ("integer", "number"):
        try:
            return _number(value)
        except ValueError:
            return value
    return value


def extract_arguments(tool: dict[str, Any], request: str) -> tuple[dict[str, Any], list[str]]:
    """Arguments for ``tool`` read from ``request``, and the required parameters left unfilled."""
    schema = tool.get("parameters") or {}
    properties: dict[str, Any] = schema.get("properties", {})
    required = list(schema.get("required", []))
    entities = extract_entities(request)
    pairs = _pairs(request, properties)
    used: set[int] = set()
    numeric_params = [n for n, s in properties.items() if s.get("type") in ("integer", "number") and n not in pairs]

    def take(kind: str) -> Entity | None:
        for i, entity in enumerate(entities):
            if entity.kind == kind and i not in used:
                used.add(i)
                return entity
        return None

    def first(kind: str) -> Entity | None:
        return next((e for e in entities if e.kind == kind), None)

    args: dict[str, Any] = {}
    for name, prop in properties.items():
        kind = param_kind(name, prop)
        if name in pairs:
            args[name] = _coerce(pairs[name], kind, prop)
            continue
        value: Any = None
        if kind == "array:email":
            value = [e.value for e in entities if e.kind == "email"] or None
        elif kind.startswith("array:"):
            inner = kind.removeprefix("array:")
            value = [e.value for e in entities if e.kind == inner] or None
        elif kind in ("email", "timezone", "url"):
            entity = take(kind)
            value = entity.value if entity else None
        elif kind == "datetime":
            full, date, time = first("datetime"), first("date"), first("time")
            value = full.value if full else (f"{date.value}T{time.value}" if date and time else None)
        elif kind == "date":
            full, date = first("datetime"), first("date")
            value = date.value if date else (full.value[:10] if full else None)
        elif kind == "time":
            full, time = first("datetime"), first("time")
            value = time.value if time else (full.value[11:16] if full else None)
        elif kind in ("minutes", "hours"):
            entity = take("duration")
            if entity:
                value = entity.value if kind == "minutes" else entity.value / 60
                value = _number(str(value))
            else:
                bare = [e for e in entities if e.kind == "number"]
                if len(bare) == 1 and len(numeric_params) == 1:
                    value = bare[0].value
        elif kind == "number":
            entity = take("number")
            value = entity.value if entity else None
        elif kind == "enum":
            lowered = request.lower()
            value = next(
                (v for v in prop["enum"] if re.search(rf"(?<!\w){re.escape(str(v).lower())}(?!\w)", lowered)),
                None,
            )
        elif kind in ("text", "string"):
            entity = take("quoted")
            value = entity.value if entity else (request.strip() if kind == "text" else None)
        if value is None and "default" in prop:
            value = prop["default"]
        if value is not None:
            if prop.get("type") == "integer" and isinstance(value, float) and value.is_integer():
                value = int(value)
            if prop.get("type") == "string" and not isinstance(value, str):
                value = str(value)
            args[name] = value
    missing = [name for name in required if name not in args]
    return args, missing


def _request_terms(request: str) -> set[str]:
    terms = set(content_terms(request))
    for word in words(request):
        for synonym in SYNONYMS.get(word, ()) + SYNONYMS.get(stem(word), ()):
            terms.add(stem(synonym))
    for entity in extract_entities(request):
        for tag in ENTITY_TAGS.get(entity.kind, ()):
            terms.add(stem(tag))
    return terms


def tool_relevance(tool: dict[str, Any], request: str) -> float:
    """How strongly the request points at ``tool`` (weights: name 2, description 1, parameters 0.5)."""
    weights: dict[str, float] = {}
    for part in _name_parts(tool["name"]):
        weights[stem(part)] = max(weights.get(stem(part), 0), 2.0)
    for term in content_terms(tool.get("description", "")):
        if not term.isdigit():  # numbers in a description are examples, not topic words
            weights[term] = max(weights.get(term, 0), 1.0)
    for prop in (tool.get("parameters") or {}).get("properties", {}):
        for part in _name_parts(prop):
            weights[stem(part)] = max(weights.get(stem(part), 0), 0.5)
    terms = _request_terms(request)
    return sum(weight for term, weight in weights.items() if term in terms)


def _phase(tool: dict[str, Any]) -> int:
    verb = (_name_parts(tool["name"]) or [""])[0]
    if verb in LOOKUP_VERBS:
        return 0
    if verb in ACTION_VERBS:
        return 2
    return 1


def _canonical(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, sort_keys=True, default=str)


def _call_id(position: int, name: str, arguments: dict[str, Any]) -> str:
    digest = hashlib.sha256(f"{position}:{name}:{_canonical(arguments)}".encode()).hexdigest()
    return f"call_{digest[:24]}"


def _describe(name: str, schema: dict[str, Any]) -> str:
    hints = {
        "email": "an email address",
        "timezone": "a time zone such as Europe/Berlin",
        "datetime": "a date and time such as 2026-12-03 10:00",
        "date": "a date such as 2026-12-03",
        "time": "a time such as 10:00",
        "minutes": "a duration such as 30 minutes",
        "hours": "a duration such as 2 hours",
        "number": "a number",
        "url": "a URL",
        "enum": "one of " + ", ".join(map(str, schema.get("enum", []))),
    }
    kind = param_kind(name, schema).removeprefix("array:")
    hint = schema.get("description") or hints.get(kind, 'a value in quotes, or name="value"')
    return f"{name} ({hint})"


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > RESULT_QUOTE_CHARS:
        text = text[: RESULT_QUOTE_CHARS - 1] + "…"
    return f'"{text}"'


def _final_answer(messages: Sequence[dict[str, Any]], since: int) -> str:
    names = {}
    for message in messages[since:]:
        for call in message.get("tool_calls") or []:
            names[call["id"]] = call["name"]
    results = [
        (m.get("name") or names.get(m.get("tool_call_id", ""), "tool"), m.get("content") or "")
        for m in messages[since:]
        if m["role"] == "tool"
    ]
    if not results:
        return "The tools returned nothing for this request."
    lines = [f"I used {len(results)} tool result{'s' if len(results) != 1 else ''} for your request:"]
    lines += [f"- {name} returned {_quote(content)}" for name, content in results]
    return "\n".join(lines)


def decide_tool_step(messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]]) -> ToolDecision | None:
    """The next step of an agent loop under the grammar above.

    Returns None when no tool is relevant and no tool was used since the request (the caller
    then answers from sources or as plain chat).
    """
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if last_user is None:
        return None
    request = messages[last_user].get("content") or ""
    made = [
        (call["name"], _canonical(call.get("arguments", {})))
        for m in messages[last_user + 1 :]
        if m["role"] == "assistant"
        for call in m.get("tool_calls") or []
    ]
    scored = [(tool_relevance(tool, request), i, tool) for i, tool in enumerate(tools)]
    relevant = [(score, i, tool) for score, i, tool in scored if score >= RELEVANCE]
    if not relevant:
        return ToolDecision(text=_final_answer(messages, last_user + 1)) if made else None
    plan: list[tuple[int, int, dict[str, Any], dict[str, Any]]] = []
    primary = max(relevant, key=lambda r: (r[0], -r[1]))
    for _score, i, tool in relevant:
        args, missing = extract_arguments(tool, request)
        if missing:
            if tool is primary[2] and (tool["name"], _canonical(args)) not in made and not made:
                props = (tool.get("parameters") or {}).get("properties", {})
                needs = ", ".join(_describe(name, props.get(name, {})) for name in missing)
                return ToolDecision(text=f"To use {tool['name']} I need {needs}. Please provide it and ask again.")
            continue
        plan.append((_phase(tool), i, tool, args))
    plan.sort(key=lambda p: (p[0], p[1]))
    if len(made) < MAX_CALLS:
        for _, _, tool, args in plan:
            if (tool["name"], _canonical(args)) not in made:
                call = ToolCall(id=_call_id(len(messages), tool["name"], args), name=tool["name"], arguments=args)
                return ToolDecision(tool_calls=[call])
    return ToolDecision(text=_final_answer(messages, last_user + 1))
