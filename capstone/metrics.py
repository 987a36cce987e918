"""Prometheus metrics of one app: HTTP traffic in process, cost and budgets read from the database.

Budget and cost series are collected from Postgres at scrape time, so they agree across worker
processes and survive a restart. ``aie_budget_tripped`` is the alert gauge: 1 while a feature's
daily ceiling is crossed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from capstone.service import Assistant

__all__ = ["Metrics", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _DatabaseCollector(Collector):
    def __init__(self, assistant: Callable[[], Assistant | None]) -> None:
        self.assistant = assistant

    def collect(self) -> Iterator:
        assistant = self.assistant()
        if assistant is None:
            return
        states = assistant.ledger.states()
        spent = GaugeMetricFamily("aie_budget_spent_usd", "USD spent today per feature", labels=["feature"])
        reserved = GaugeMetricFamily(
            "aie_budget_reserved_usd", "USD reserved by calls in flight per feature", labels=["feature"]
        )
        ceiling = GaugeMetricFamily("aie_budget_ceiling_usd", "daily hard ceiling per feature", labels=["feature"])
        tripped = GaugeMetricFamily(
            "aie_budget_tripped", "1 while the feature's daily ceiling is crossed (alert)", labels=["feature"]
        )
        alerts = CounterMetricFamily(
            "aie_budget_alerts", "ceiling crossings alerted today per feature", labels=["feature"]
        )
        for s in states:
            spent.add_metric([s.feature], s.spent_usd)
            reserved.add_metric([s.feature], s.reserved_usd)
            ceiling.add_metric([s.feature], s.ceiling_usd)
            tripped.add_metric([s.feature], 1.0 if s.tripped else 0.0)
            alerts.add_metric([s.feature], s.alerts)
        yield from (spent, reserved, ceiling, tripped, alerts)
        totals = assistant.ledger.totals()
        cost = CounterMetricFamily(
            "aie_cost_usd", "USD spent on model and embedding calls, all time", labels=["feature"]
        )
        tokens = CounterMetricFamily("aie_tokens", "tokens billed, all time", labels=["feature", "direction"])
        calls = CounterMetricFamily("aie_paid_calls", "paid calls made, all time", labels=["feature"])
        for feature, row in sorted(totals.items()):
            cost.add_metric([feature], row["cost_usd"])
            tokens.add_metric([feature, "input"], row["input_tokens"])
            tokens.add_metric([feature, "output"], row["output_tokens"])
            calls.add_metric([feature], row["calls"])
        yield from (cost, tokens, calls)
        blocked = CounterMetricFamily(
            "aie_output_blocked", "answers replaced because they would have revealed the canary (this process)"
        )
        blocked.add_metric([], getattr(assistant, "blocked_responses", 0))
        yield blocked
        docs = GaugeMetricFamily("aie_documents", "documents in the index", labels=["visibility"])
        for visibility, count in assistant.document_counts().items():
            docs.add_metric([visibility], count)
        yield docs


class Metrics:
    """The registry of one app instance (several apps in one process never collide)."""

    def __init__(self, assistant: Callable[[], Assistant | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aie_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "aie_http_request_duration_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10),
        )
        self.answers = Counter("aie_answers", "answers by outcome", ["outcome"], registry=self.registry)
        self.registry.register(_DatabaseCollector(assistant))

    def render(self) -> bytes:
        return generate_latest(self.registry)
