"""Tracing infrastructure: OpenTelemetry spans kept in memory, optionally sent to LangSmith, and a waterfall plot.

Example::

    from curriculum.agents.tracing import make_tracing, span_rows, plot_waterfall

    tracing = make_tracing("rag-demo")            # in-memory exporter; + LangSmith when LANGSMITH_API_KEY is set
    with tracing.tracer.start_as_current_span("rag.query"):
        with tracing.tracer.start_as_current_span("embed"):
            ...
    rows = span_rows(tracing.spans())             # [{"name", "start_ms", "duration_ms", "parent_id", ...}]
    plot_waterfall(tracing.spans())

The tracer provider is private to the returned object (never installed globally), so several can live side
by side in one notebook. When ``LANGSMITH_API_KEY`` is set, every finished trace is also posted to LangSmith
through its official SDK (one run per span, nested like the spans); without the key LangSmith is never called.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

__all__ = ["Tracing", "LangSmithExporter", "make_tracing", "langsmith_configured", "span_rows", "plot_waterfall"]

#: Span name prefix -> LangSmith run type (anything else is a "chain").
RUN_TYPES = {"embed": "embedding", "retrieve": "retriever", "rerank": "retriever", "generate": "llm", "tool": "tool"}


def langsmith_configured() -> bool:
    """True when ``LANGSMITH_API_KEY`` is set (and so traces will also go to LangSmith)."""
    return bool(os.environ.get("LANGSMITH_API_KEY", "").strip())


def _ts(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


class LangSmithExporter(SpanExporter):
    """Posts each finished trace to LangSmith as nested runs, with the ``langsmith`` SDK's ``RunTree``.

    Spans are buffered per trace until the root span (the one without a parent) ends, then the
    whole tree is posted. ``client`` defaults to ``langsmith.Client()`` (which reads
    ``LANGSMITH_API_KEY``/``LANGSMITH_ENDPOINT``); ``project`` defaults to ``LANGSMITH_PROJECT`` or "aie".
    """

    def __init__(self, client: Any = None, project: str | None = None) -> None:
        if client is None:
            from langsmith import Client

            client = Client()
        self.client = client
        self.project = project or os.environ.get("LANGSMITH_PROJECT") or "aie"
        self._pending: dict[int, list[ReadableSpan]] = {}
        self._lock = threading.Lock()
        self.posted_traces = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ready: list[list[ReadableSpan]] = []
        with self._lock:
            for span in spans:
                trace_id = span.context.trace_id
                self._pending.setdefault(trace_id, []).append(span)
                if span.parent is None:
                    ready.append(self._pending.pop(trace_id))
        try:
            for trace in ready:
                self._post(trace)
        except Exception:  # network or auth trouble must not break the traced application
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def _post(self, trace: list[ReadableSpan]) -> None:
        from langsmith.run_trees import RunTree

        by_parent: dict[int | None, list[ReadableSpan]] = {}
        for span in trace:
            parent = span.parent.span_id if span.parent is not None else None
            by_parent.setdefault(parent, []).append(span)
        [root] = by_parent[None]

        def fields(span: ReadableSpan) -> dict[str, Any]:
            attrs = dict(span.attributes or {})
            return {
                "run_type": RUN_TYPES.get(span.name.split(".")[0], "chain"),
                "start_time": _ts(span.start_time),
                "end_time": _ts(span.end_time),
                "inputs": {k: v for k, v in attrs.items() if not k.startswith("output")},
                "outputs": {k: v for k, v in attrs.items() if k.startswith("output")},
                "error": None if span.status.is_ok else (span.status.description or "error"),
            }

        run = RunTree(name=root.name, project_name=self.project, ls_client=self.client, **fields(root))

        def add_children(node: RunTree, span: ReadableSpan) -> None:
            for child in sorted(by_parent.get(span.context.span_id, []), key=lambda s: s.start_time):
                add_children(node.create_child(child.name, **fields(child)), child)

        add_children(run, root)
        run.post(exclude_child_runs=False)
        flush = getattr(self.client, "flush", None)
        if callable(flush):
            flush()
        self.posted_traces += 1

    def shutdown(self) -> None:
        with self._lock:
            self._pending.clear()


@dataclass
class Tracing:
    """A tracer, its provider and the in-memory exporter that keeps every finished span."""

    tracer: Tracer
    provider: TracerProvider
    memory: InMemorySpanExporter
    langsmith: LangSmithExporter | None = None
    extra: list[SpanExporter] = field(default_factory=list)

    def spans(self) -> list[ReadableSpan]:
        """Every finished span so far, in the order they ended."""
        return list(self.memory.get_finished_spans())

    def clear(self) -> None:
        self.memory.clear()

    def shutdown(self) -> None:
        self.provider.shutdown()


def make_tracing(service: str = "aie", *, langsmith: bool | None = None, langsmith_client: Any = None) -> Tracing:
    """A private tracer provider with an in-memory exporter; LangSmith too when ``langsmith`` (default: key set)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    use_langsmith = langsmith_configured() if langsmith is None else langsmith
    ls = None
    if use_langsmith:
        ls = LangSmithExporter(client=langsmith_client)
        provider.add_span_processor(SimpleSpanProcessor(ls))
    return Tracing(provider.get_tracer(service), provider, memory, ls)


def span_rows(spans: Sequence[ReadableSpan]) -> list[dict[str, Any]]:
    """One dict per span, times in ms relative to the earliest span start, sorted by start.

    Keys: name, span_id, parent_id (None for a root), trace_id, start_ms, end_ms, duration_ms, attributes.
    """
    if not spans:
        return []
    t0 = min(s.start_time for s in spans)
    rows = [
        {
            "name": s.name,
            "span_id": s.context.span_id,
            "parent_id": s.parent.span_id if s.parent is not None else None,
            "trace_id": s.context.trace_id,
            "start_ms": (s.start_time - t0) / 1e6,
            "end_ms": (s.end_time - t0) / 1e6,
            "duration_ms": (s.end_time - s.start_time) / 1e6,
            "attributes": dict(s.attributes or {}),
        }
        for s in spans
    ]
    return sorted(rows, key=lambda r: (r["start_ms"], -r["duration_ms"]))


def plot_waterfall(spans: Sequence[ReadableSpan], ax: Any = None, title: str | None = None) -> Any:
    """A waterfall (Gantt) chart of one trace: one bar per span, indented by depth. Returns the axes."""
    import matplotlib.pyplot as plt

    rows = span_rows(spans)
    if not rows:
        raise ValueError("no spans to plot")
    if len({r["trace_id"] for r in rows}) != 1:
        raise ValueError("plot_waterfall draws one trace; filter the spans by trace_id first")
    depth: dict[int, int] = {}
    for r in rows:
        depth[r["span_id"]] = 0 if r["parent_id"] is None else depth.get(r["parent_id"], 0) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1))
    labels = []
    for i, r in enumerate(rows):
        ax.broken_barh(
            [(r["start_ms"], max(r["duration_ms"], 1e-3))], (i - 0.4, 0.8), color=f"C{depth[r['span_id']] % 10}"
        )
        ax.text(r["end_ms"], i, f" {r['duration_ms']:.1f} ms", va="center", fontsize=8)
        labels.append("  " * depth[r["span_id"]] + r["name"])
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("time since the trace started (ms)")
    ax.set_title(title or "trace waterfall")
    ax.set_xlim(0, max(r["end_ms"] for r in rows) * 1.25)
    return ax
