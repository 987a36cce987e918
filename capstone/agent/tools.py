"""The agent's tools, built for one request: what they may see and do depends on who asks.

=================  ==============================================================  =============
tool               what it does                                                    side effects
=================  ==============================================================  =============
``search_docs``    retrieve more passages (hybrid search, same access rules)        none
``read_source``    a whole document, by name or by the best match for a topic       none
``calculate``      exact arithmetic on Python literals, parsed with ``ast``        none
``docs_ticket``    file a ticket for the documentation team (signed-in callers)    one row
=================  ==============================================================  =============

:func:`build_tools` returns :class:`curriculum.agents.Tool` objects bound to one :class:`ToolContext`
(the caller, the store, the settings, the request's evidence), so nothing is shared between requests.
Arguments are checked against each tool's JSON schema by the loop before a tool runs; a failing tool
raises, and the loop tells the model. Every tool sees only what the caller may see (``ctx.viewer``);
anonymous callers are not offered ``docs_ticket``, and it refuses them if called anyway
(:mod:`capstone.agent.tickets` also holds the per-caller daily limit). Results that carry document text
come back as new numbered evidence, so the answer can cite them like the first passages.
Descriptions are short on purpose: the offline reference model picks tools by the words of the
question, so each description avoids words that ordinary documentation questions use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from capstone.agent.calculator import CalcError, find_expression, safe_eval
from capstone.agent.evidence import Evidence, EvidenceList, format_evidence
from capstone.agent.tickets import TicketRefused, file_ticket
from curriculum.agents.loop import Tool

if TYPE_CHECKING:
    from capstone.db import Database
    from capstone.rag.retriever import Retriever
    from capstone.settings import Settings

__all__ = ["ToolContext", "ToolResult", "build_tools", "TOOL_NAMES"]

#: Every tool the agent can have, in the order they are offered.
TOOL_NAMES = ("search_docs", "read_source", "calculate", "docs_ticket")
_TEXT_CHARS = 6000  # the longest question the API accepts; a planned call passes the whole question


@dataclass
class ToolContext:
    """What the tools of one request work with: the caller (``viewer``: a user id, None when anonymous) and the request's evidence."""

    retriever: Retriever
    db: Database
    settings: Settings
    viewer: int | None
    evidence: EvidenceList = field(default_factory=EvidenceList)
    mode: str = "hybrid"
    max_read_chunks: int = 6


@dataclass(frozen=True)
class ToolResult:
    """What a tool returns: ``content`` for the model, ``summary`` for the trace, the evidence it added."""

    content: str
    summary: str
    evidence: tuple[Evidence, ...] = ()


def _text(description: str, *, min_length: int = 1, max_length: int = _TEXT_CHARS) -> dict:
    return {
        "type": "string",
        "description": description,
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": r"\S",
    }


def _schema(name: str, description: str, **limits: int) -> dict:
    return {
        "type": "object",
        "properties": {name: _text(description, **limits)},
        "required": [name],
        "additionalProperties": False,
    }


def search_docs(ctx: ToolContext, query: str) -> ToolResult:
    """Three more passages for ``query``; only those not yet in the evidence are added."""
    found = ctx.retriever.retrieve(query.strip(), k=3, viewer=ctx.viewer, mode=ctx.mode)
    added = ctx.evidence.add_chunks(found.chunks)
    if not added:
        return ToolResult("No new passages found.", f"0 new of {len(found.chunks)}")
    return ToolResult(
        format_evidence(added), f"{len(added)} new: " + ", ".join(e.chunk_id for e in added), tuple(added)
    )


_SOURCE_NAME = re.compile(r"\b((?:python-reference|wiki|notion|confluence|markdown|upload|file)/[\w./@ -]*[\w])")


def read_source(ctx: ToolContext, topic: str) -> ToolResult:
    """The first chunks of the page named in ``topic``, else of the page that best matches it."""
    topic = topic.strip()
    named = _SOURCE_NAME.search(topic)
    store = ctx.retriever.store
    chunks = store.source_chunks(named.group(1), ctx.viewer) if named else []
    if not chunks:
        best = ctx.retriever.retrieve(topic, k=1, viewer=ctx.viewer, mode=ctx.mode).chunks
        chunks = store.source_chunks(best[0].source, ctx.viewer) if best else []
    if not chunks:
        raise LookupError("no page found for this topic")
    added = ctx.evidence.add_chunks(chunks[: ctx.max_read_chunks])
    source = chunks[0].source
    if not added:
        return ToolResult(f"{source} is already among the sources.", f"{source}: already cited")
    return ToolResult(format_evidence(added), f"{source}: {len(added)} chunks", tuple(added))


def calculate(ctx: ToolContext, input: str) -> ToolResult:
    """Evaluate the arithmetic found in ``input``; the result becomes a citable sentence."""
    expression = find_expression(input)
    if expression is None:
        raise CalcError("no arithmetic found")
    value = safe_eval(expression)
    item = ctx.evidence.add_tool_output("calculate", f"The Python expression {expression} evaluates to {value!r}.")
    return ToolResult(format_evidence([item]), f"{expression} = {value!r}", (item,))


def docs_ticket(ctx: ToolContext, text: str) -> ToolResult:
    """File a ticket for the caller (refused for anonymous callers and past the daily limit)."""
    if ctx.viewer is None:
        raise TicketRefused("anonymous callers cannot file docs tickets; send an API key")
    text = text.strip()
    title = text.split("\n", 1)[0][:120]
    ticket_id = file_ticket(
        ctx.db, user_id=ctx.viewer, title=title, body=text, limit=ctx.settings.tickets_per_user_per_day
    )
    item = ctx.evidence.add_tool_output(
        "docs_ticket", f"Docs ticket number {ticket_id} was filed for the documentation team with the title: {title}"
    )
    return ToolResult(format_evidence([item]), f"ticket {ticket_id}", (item,))


def _content(result: ToolResult) -> str:
    return result.content


def build_tools(ctx: ToolContext) -> list[Tool]:
    """The tools offered to this request's caller, bound to ``ctx`` (``docs_ticket`` only for signed-in callers)."""
    tools = [
        Tool(
            "search_docs",
            "Search the docs index for more passages on a query.",
            _schema("query", "what to look for"),
            partial(search_docs, ctx),
            render=_content,
        ),
        Tool(
            "read_source",
            "Read a whole page of the index, given its name (like python-reference/assert) or a topic.",
            _schema("topic", "page name or topic"),
            partial(read_source, ctx),
            render=_content,
        ),
        Tool(
            "calculate",
            "Calculator: arithmetic like 2**10, 7 // 2 or divmod(17, 5).",
            _schema("input", "the arithmetic to compute"),
            partial(calculate, ctx),
            render=_content,
        ),
    ]
    if ctx.viewer is not None and ctx.settings.tickets_per_user_per_day > 0:
        tools.append(
            Tool(
                "docs_ticket",
                "File a ticket for the docs team.",
                _schema("text", "what is missing, wrong or unclear", min_length=10, max_length=4000),
                partial(docs_ticket, ctx),
                render=_content,
            )
        )
    return tools
