"""The agent's tools: typed functions with a JSON schema, registered by name.

=================  ==============================================================  =============
tool               what it does                                                    side effects
=================  ==============================================================  =============
``search_docs``    retrieve more passages (hybrid search, same access rules)        none
``read_source``    a whole document, by name or by the best match for a topic       none
``calculate``      exact arithmetic on Python literals, parsed with ``ast``        none
``docs_ticket``    file a ticket for the documentation team (``tickets`` table)    one row
=================  ==============================================================  =============

Every tool sees only what the caller may see (``ctx.viewer``). Results that carry document text
come back as new numbered evidence, so the answer can cite them like the first passages.
Descriptions are short on purpose: the offline reference model picks tools by the words of
the question, so each description avoids words that ordinary documentation questions use.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capstone.db import Database
    from capstone.rag.retriever import Retriever
    from capstone.rag.store import StoredChunk

__all__ = ["Evidence", "ToolContext", "ToolResult", "Tool", "TOOLS", "tool_specs", "safe_eval", "CalcError"]


@dataclass(frozen=True)
class Evidence:
    """A numbered passage the answer may cite: a chunk, or the output of a tool."""

    number: int
    chunk_id: str
    source: str
    text: str
    kind: str = "chunk"  # "chunk" or "tool"


@dataclass
class ToolContext:
    retriever: Retriever
    db: Database
    viewer: int | None
    evidence: list[Evidence]
    mode: str = "hybrid"
    max_read_chunks: int = 6

    def add_chunks(self, chunks: list[StoredChunk]) -> list[Evidence]:
        """Number the chunks not yet in the evidence list and append them."""
        known = {e.chunk_id for e in self.evidence}
        added = []
        for chunk in chunks:
            if chunk.id in known or chunk.flagged:
                continue
            item = Evidence(len(self.evidence) + 1, chunk.id, chunk.source, chunk.text)
            self.evidence.append(item)
            added.append(item)
            known.add(chunk.id)
        return added

    def add_tool_output(self, name: str, call_id: str, text: str) -> Evidence:
        for known in self.evidence:
            if known.kind == "tool" and known.source == f"tool/{name}" and known.text == text:
                return known  # the same result twice is one source
        item = Evidence(len(self.evidence) + 1, f"tool:{name}:{call_id}", f"tool/{name}", text, kind="tool")
        self.evidence.append(item)
        return item


@dataclass
class ToolResult:
    """What a tool returns to the model (``content``) and to the trace (``summary``)."""

    content: str
    summary: str
    evidence: list[Evidence] = field(default_factory=list)
    ok: bool = True


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[ToolContext, dict[str, Any], str], ToolResult]

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


TOOLS: dict[str, Tool] = {}


def register(name: str, description: str, parameters: dict[str, Any]) -> Callable:
    """Decorator adding a tool function ``fn(ctx, args, call_id) -> ToolResult`` to :data:`TOOLS`."""

    def wrap(fn: Callable[[ToolContext, dict[str, Any], str], ToolResult]) -> Callable:
        TOOLS[name] = Tool(name, description, parameters, fn)
        return fn

    return wrap


def tool_specs() -> list[dict[str, Any]]:
    """The JSON specs handed to the model."""
    return [t.spec() for t in TOOLS.values()]


def format_evidence(items: list[Evidence]) -> str:
    """Evidence as source blocks, the format the prompt uses (hard-wrapped prose unwrapped, tags defused)."""
    return "\n".join(f'<source id="{e.number}" name="{e.source}">\n{defuse(unwrap(e.text))}\n</source>' for e in items)


_BLOCK_START = re.compile(r"^(?:\s|[-*+>#|]|\d+[.)]\s|```)")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")


def unwrap(text: str) -> str:
    r"""Join hard-wrapped prose lines (so a sentence is one line); lists, headings, code and blank lines stay.

    An indented line right after a list item continues that item.

    >>> unwrap("Assert statements are a convenient way\nto insert assertions.\n\n- item one\n  continued\n- item")
    'Assert statements are a convenient way to insert assertions.\n\n- item one continued\n- item'
    """
    out: list[str] = []
    in_item = False
    for line in text.split("\n"):
        prev = out[-1] if out else ""
        if not line.strip():
            in_item = False
            out.append(line)
            continue
        if _ITEM.match(line):
            in_item = True
            out.append(line)
            continue
        continues_item = in_item and line[:1] in (" ", "\t")
        continues_prose = prev.strip() and not _BLOCK_START.match(line) and not prev.startswith((" ", "\t", "#", "|", "```"))
        if continues_item or (continues_prose and not in_item):
            out[-1] = prev.rstrip() + " " + line.strip()
        else:
            in_item = False
            out.append(line)
    return "\n".join(out)


def defuse(text: str) -> str:
    """Stop a passage from closing its source block or opening a fake one."""
    return re.sub(r"(?i)<(/?)\s*source", r"‹\1source", text)


def _text_arg(args: dict[str, Any], *names: str) -> str:
    for name in names:
        value = args.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:1000]
    return ""


@register(
    "search_docs",
    "Search the docs index for more passages on a query.",
    {"type": "object", "properties": {"query": {"type": "string", "description": "what to look for"}}, "required": ["query"]},
)
def search_docs(ctx: ToolContext, args: dict[str, Any], call_id: str) -> ToolResult:
    query = _text_arg(args, "query")
    if not query:
        return ToolResult("error: give a query", "no query", ok=False)
    found = ctx.retriever.retrieve(query, k=3, viewer=ctx.viewer, mode=ctx.mode)
    added = ctx.add_chunks(found.chunks)
    if not added:
        return ToolResult("No new passages found.", f"0 new of {len(found.chunks)}")
    return ToolResult(format_evidence(added), f"{len(added)} new: " + ", ".join(e.chunk_id for e in added), added)


_SOURCE_NAME = re.compile(r"\b((?:python-reference|wiki|notion|confluence|markdown|upload|file)/[\w./@ -]*[\w])")


@register(
    "read_source",
    "Read a whole page of the index, given its name (like python-reference/assert) or a topic.",
    {"type": "object", "properties": {"topic": {"type": "string", "description": "page name or topic"}}, "required": ["topic"]},
)
def read_source(ctx: ToolContext, args: dict[str, Any], call_id: str) -> ToolResult:
    topic = _text_arg(args, "topic", "source", "name")
    if not topic:
        return ToolResult("error: give a page name or topic", "no topic", ok=False)
    named = _SOURCE_NAME.search(topic)
    chunks = ctx.retriever.store.source_chunks(named.group(1), ctx.viewer) if named else []
    if not chunks:
        best = ctx.retriever.retrieve(topic, k=1, viewer=ctx.viewer, mode=ctx.mode).chunks
        chunks = ctx.retriever.store.source_chunks(best[0].source, ctx.viewer) if best else []
    if not chunks:
        return ToolResult("No page found.", "no page", ok=False)
    added = ctx.add_chunks(chunks[: ctx.max_read_chunks])
    source = chunks[0].source
    if not added:
        return ToolResult(f"{source} is already among the sources.", f"{source}: already cited")
    return ToolResult(format_evidence(added), f"{source}: {len(added)} chunks", added)


# -- calculate --------------------------------------------------------------------------------

class CalcError(ValueError):
    """The expression is not plain arithmetic, or is too large to compute."""


_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Invert: operator.invert, ast.Not: operator.not_}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_FUNCS: dict[str, Callable] = {
    "abs": abs, "round": round, "min": min, "max": max, "divmod": divmod, "pow": pow, "int": int, "float": float,
    "bool": bool, "len": len, "sum": sum, "sqrt": math.sqrt, "gcd": math.gcd, "factorial": math.factorial, "hex": hex,
    "bin": bin, "oct": oct,
}
_MAX_INT_BITS = 4096


def safe_eval(expression: str) -> Any:
    """Evaluate arithmetic on literals with ``ast`` -- no names, attributes or calls beyond a small list.

    >>> safe_eval("2**10 + 7 // 2")
    1027
    >>> safe_eval("__import__('os')")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    capstone.agent.tools.CalcError: calls are limited to abs, round, min, max, divmod, pow, int, float, bool, len, sum, sqrt, gcd, factorial, hex, bin, oct
    """
    if len(expression) > 300:
        raise CalcError("expression longer than 300 characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise CalcError(f"not a Python expression: {exc.msg}") from None

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex, str, bool)) and not (
            isinstance(node.value, str) and len(node.value) > 100
        ):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            return type(node.elts)(ev(e) for e in node.elts) if isinstance(node, ast.List) else tuple(ev(e) for e in node.elts)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 10_000:
                raise CalcError("exponent too large")
            if isinstance(node.op, ast.LShift) and isinstance(right, int) and right > _MAX_INT_BITS:
                raise CalcError("shift too large")
            if isinstance(node.op, ast.Mult) and isinstance(left, str) | isinstance(right, str):
                raise CalcError("string repetition is not arithmetic")
            result = _BINOPS[type(node.op)](left, right)
            if isinstance(result, int) and result.bit_length() > _MAX_INT_BITS:
                raise CalcError("result too large")
            return result
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.BoolOp):
            values = [ev(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            left = ev(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id not in _FUNCS:
                raise CalcError("calls are limited to " + ", ".join(_FUNCS))
            args = [ev(a) for a in node.args]
            if node.func.id == "factorial" and args and isinstance(args[0], int) and args[0] > 500:
                raise CalcError("factorial argument too large")
            if node.func.id == "pow" and len(args) >= 2 and isinstance(args[1], (int, float)) and abs(args[1]) > 10_000:
                raise CalcError("exponent too large")
            result = _FUNCS[node.func.id](*args)
            if isinstance(result, int) and result.bit_length() > _MAX_INT_BITS:
                raise CalcError("result too large")
            return result
        if isinstance(node, ast.Call):
            raise CalcError("calls are limited to " + ", ".join(_FUNCS))
        raise CalcError(f"{type(node).__name__} is not allowed (only literals, arithmetic, comparisons and a few functions)")

    try:
        return ev(tree)
    except CalcError:
        raise
    except (ArithmeticError, ValueError, TypeError, OverflowError) as exc:
        raise CalcError(f"{type(exc).__name__}: {exc}") from None


_CANDIDATE = re.compile(r"(?:\b(?:" + "|".join(_FUNCS) + r"|True|False|e\d+)\b|[\d.()\[\]+\-*/%<>=!&|^~,\s]|0x[0-9a-fA-F]+)+")


def find_expression(text: str) -> str | None:
    """The longest piece of ``text`` that evaluates as arithmetic: "What is 2**10?" -> "2**10"."""
    text = text.strip().strip("`")
    runs = {m.group(0).strip(" ?.,\n") for m in _CANDIDATE.finditer(text)} | {text.rstrip("?. ")}
    candidates = sorted({r[i:j].strip() for r in runs for i in range(0, min(len(r), 3)) for j in range(len(r), max(len(r) - 3, 0), -1)}, key=len, reverse=True)
    for candidate in candidates:
        if not re.search(r"\d", candidate):
            continue
        try:
            safe_eval(candidate)
        except CalcError:
            continue
        return candidate
    return None


@register(
    "calculate",
    "Calculator: arithmetic like 2**10, 7 // 2 or divmod(17, 5).",
    {"type": "object", "properties": {"input": {"type": "string", "description": "the arithmetic to compute"}}, "required": ["input"]},
)
def calculate(ctx: ToolContext, args: dict[str, Any], call_id: str) -> ToolResult:
    text = _text_arg(args, "input", "expression")
    expression = find_expression(text) if text else None
    if expression is None:
        return ToolResult("error: no arithmetic found", "no arithmetic", ok=False)
    value = safe_eval(expression)
    sentence = f"The Python expression {expression} evaluates to {value!r}."
    item = ctx.add_tool_output("calculate", call_id, sentence)
    return ToolResult(format_evidence([item]), f"{expression} = {value!r}", [item])


@register(
    "docs_ticket",
    "File a ticket for the docs team.",
    {
        "type": "object",
        "properties": {"text": {"type": "string", "description": "what is missing, wrong or unclear"}},
        "required": ["text"],
    },
)
def docs_ticket(ctx: ToolContext, args: dict[str, Any], call_id: str) -> ToolResult:
    text = _text_arg(args, "text")
    if len(text) < 10:
        return ToolResult("error: describe the problem in at least 10 characters", "too short", ok=False)
    title = text.split("\n", 1)[0][:120]
    with ctx.db.connection() as conn:
        ticket_id = conn.execute(
            "INSERT INTO tickets (user_id, title, body) VALUES (%s, %s, %s) RETURNING id", (ctx.viewer, title, text)
        ).fetchone()[0]
    sentence = f"Docs ticket number {ticket_id} was filed for the documentation team with the title: {title}"
    item = ctx.add_tool_output("docs_ticket", call_id, sentence)
    return ToolResult(format_evidence([item]), f"ticket {ticket_id}", [item])
