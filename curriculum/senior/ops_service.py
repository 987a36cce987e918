"""A small support-assistant service to run on-call drills against.

The service answers customer questions from the synthetic help center (``data/help-center``):
it retrieves the most similar articles (all-MiniLM-L6-v2 embeddings), asks a model from the
course's model layer to answer from them with ``[n]`` citations, and exports Prometheus metrics.
Faults can be switched on at run time, each where it happens in production:

======================  ================================================================
``rate_limit``          the provider answers HTTP 429 to a share (``rate``) of the calls
``outage``              the provider answers HTTP 503 to a share of the calls
``cost_spike``          a bad config stuffs every article into every prompt
``quality_drop``        a stale index: retrieval returns the *least* related articles
======================  ================================================================

The first two are raised at the provider edge as the model layer's own
:class:`~curriculum.llm.ProviderError` (what the SDK wrappers raise for a real 429/503); the
last two change what the service really does, so their effect on tokens, cost and answers is
measured, not simulated.

Endpoints: ``POST /v1/ask``, ``GET /metrics`` (Prometheus text), ``GET /healthz``,
``POST /admin/faults`` ``{"fault": "rate_limit" | ... | null, "rate": 0..1}``.

Example::

    from curriculum.senior.ops_service import create_app, run_drill, load_questions
    from curriculum.senior.serve import serve
    with serve(create_app()) as url:
        before, after = run_drill(url, "rate_limit", rate=0.9, questions=load_questions())
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from curriculum.paths import DATA_DIR

__all__ = [
    "FAULTS",
    "HELP_CENTER",
    "Article",
    "load_articles",
    "load_questions",
    "FaultInjector",
    "create_app",
    "scrape",
    "run_drill",
]

FAULTS = ("rate_limit", "outage", "cost_spike", "quality_drop")
HELP_CENTER = DATA_DIR / "help-center"
TOP_K = 2
MAX_ATTEMPTS = 3
SYSTEM_PROMPT = (
    "You are the support assistant of a project-management product. Answer the customer's question "
    "only from the numbered help-center sources, citing them as [n]. If they do not answer it, say so."
)
_CITATION = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    text: str


def load_articles() -> list[Article]:
    """The help-center articles, in file order."""
    with open(HELP_CENTER / "articles.jsonl", encoding="utf-8") as fh:
        return [Article(**json.loads(line)) for line in fh if line.strip()]


def load_questions() -> list[str]:
    """The customer questions the drills send (each answered by one article)."""
    with open(HELP_CENTER / "questions.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in fh if line.strip()]


class FaultInjector:
    """Wraps a model of the model layer; raises provider errors for a share of calls when told to.

    The random draws come from a seeded generator, so a drill is reproducible.
    """

    def __init__(self, model: Any, seed: int = 0) -> None:
        self.model = model
        self.fault: str | None = None
        self.rate = 0.0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def set(self, fault: str | None, rate: float = 1.0) -> None:
        """Switch a fault on (``rate``: share of affected calls) or everything off (``None``)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)} or None")
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"rate must be between 0 and 1 (got {rate!r})")
        with self._lock:
            self.fault, self.rate = fault, float(rate)

    def complete(self, messages: list[dict], **kwargs: Any):
        from curriculum.llm import ProviderError

        with self._lock:
            fault, hit = self.fault, self._rng.random() < self.rate
        provider = getattr(self.model, "provider", "") or "model"
        if hit and fault == "rate_limit":
            raise ProviderError(
                "429 Too Many Requests (injected)", provider=provider, status_code=429, retryable=True, retry_after=0.0
            )
        if hit and fault == "outage":
            raise ProviderError(
                "503 Service Unavailable (injected)", provider=provider, status_code=503, retryable=True
            )
        return self.model.complete(messages, **kwargs)


class Ask(BaseModel):
    """Body of ``POST /v1/ask``."""

    question: str = Field(min_length=1, max_length=2000)


class FaultSwitch(BaseModel):
    """Body of ``POST /admin/faults``: a fault name (or null for none) and the share of calls it hits."""

    fault: str | None = None
    rate: float = Field(default=1.0, ge=0.0, le=1.0)


def _sources_block(articles: Sequence[Article]) -> str:
    return "\n".join(f"[{i}] (source: help-center/{a.id}) {a.text}" for i, a in enumerate(articles, start=1))


def create_app(model: Any = None, *, seed: int = 0, top_k: int = TOP_K):
    """The FastAPI app; ``model`` defaults to ``get_model()`` (offline unless ``AIE_MODEL`` is set)."""
    import numpy as np
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import PlainTextResponse
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from curriculum.embeddings import embed
    from curriculum.llm import ABSTAIN_PREFIX, ProviderError, get_model

    articles = load_articles()
    vectors = embed([f"{a.title}. {a.text}" for a in articles], progress=False)
    provider = FaultInjector(model if model is not None else get_model(), seed=seed)
    state = {"fault": None, "rate": 0.0}

    registry = CollectorRegistry()
    requests = Counter("assistant_requests", "Questions answered, by outcome", ["outcome"], registry=registry)
    calls = Counter("assistant_provider_calls", "Calls to the model provider, retries included", registry=registry)
    errors = Counter("assistant_provider_errors", "Failed provider calls, by kind", ["kind"], registry=registry)
    cost = Counter("assistant_cost_usd", "Spend on model calls in USD", registry=registry)
    tokens = Counter("assistant_tokens", "Model tokens, by direction", ["direction"], registry=registry)
    answers = Counter(
        "assistant_answers", "Answers, by whether a cited source supports them", ["supported"], registry=registry
    )
    latency = Histogram("assistant_request_latency_seconds", "End-to-end latency of /v1/ask", registry=registry)
    for outcome in ("ok", "throttled", "provider_error"):
        requests.labels(outcome=outcome)
    for kind in ("rate_limit", "unavailable"):
        errors.labels(kind=kind)
    for direction in ("input", "output"):
        tokens.labels(direction=direction)
    for supported in ("true", "false"):
        answers.labels(supported=supported)

    app = FastAPI(title="Support assistant (on-call drill target)")

    def retrieve(question: str) -> list[Article]:
        if state["fault"] == "cost_spike":
            return list(articles)
        sims = vectors @ embed([question], progress=False)[0]
        order = np.argsort(-sims, kind="stable")
        if state["fault"] == "quality_drop":
            order = order[::-1]
        return [articles[i] for i in order[:top_k]]

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True, "fault": state["fault"]}

    @app.post("/admin/faults")
    def set_fault(body: FaultSwitch) -> dict:
        if body.fault is not None and body.fault not in FAULTS:
            raise HTTPException(
                status_code=422, detail=f"unknown fault {body.fault!r}; choose one of {', '.join(FAULTS)} or null"
            )
        provider.set(body.fault if body.fault in ("rate_limit", "outage") else None, body.rate)
        state["fault"], state["rate"] = body.fault, body.rate
        return dict(state)

    @app.post("/v1/ask")
    def ask(body: Ask) -> dict:
        start = time.perf_counter()
        picked = retrieve(body.question)
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"{_sources_block(picked)}\n\nQuestion: {body.question.strip()}"},
        ]
        last_error: Exception | None = None
        for _ in range(MAX_ATTEMPTS):
            calls.inc()
            try:
                done = provider.complete(messages, max_tokens=200)
                break
            except ProviderError as exc:
                last_error = exc
                errors.labels(kind="rate_limit" if exc.status_code == 429 else "unavailable").inc()
                if not exc.retryable:
                    break
        else:
            done = None
        if done is None:
            throttled = getattr(last_error, "status_code", None) == 429
            requests.labels(outcome="throttled" if throttled else "provider_error").inc()
            latency.observe(time.perf_counter() - start)
            raise HTTPException(status_code=503 if throttled else 502, detail=f"model provider failed: {last_error}")
        cited = sorted({int(n) for n in _CITATION.findall(done.text) if 1 <= int(n) <= len(picked)})
        supported = bool(cited) and not done.text.startswith(ABSTAIN_PREFIX)
        requests.labels(outcome="ok").inc()
        cost.inc(done.cost_usd)
        tokens.labels(direction="input").inc(done.usage.input_tokens)
        tokens.labels(direction="output").inc(done.usage.output_tokens)
        answers.labels(supported=str(supported).lower()).inc()
        latency.observe(time.perf_counter() - start)
        return {
            "answer": done.text,
            "sources": [f"help-center/{picked[n - 1].id}" for n in cited],
            "supported": supported,
            "usage": {
                "input_tokens": done.usage.input_tokens,
                "output_tokens": done.usage.output_tokens,
                "cost_usd": done.cost_usd,
            },
        }

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> str:
        return generate_latest(registry).decode("utf-8")

    app.state.provider = provider
    return app


def scrape(base_url: str) -> dict[str, float]:
    """``GET /metrics`` parsed into ``{'name{label="value"}': number}`` (counters as ``*_total``).

    Example keys: ``assistant_provider_calls_total``,
    ``assistant_provider_errors_total{kind="rate_limit"}``, ``assistant_cost_usd_total``.
    """
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(base_url.rstrip("/") + "/metrics", timeout=10).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = float(sample.value)
    return out


def _send(base_url: str, questions: Sequence[str]) -> Iterator[int]:
    import httpx

    with httpx.Client(base_url=base_url, timeout=30) as client:
        for question in questions:
            yield client.post("/v1/ask", json={"question": question}).status_code


def run_drill(
    base_url: str,
    fault: str | None,
    questions: Sequence[str],
    rate: float = 1.0,
) -> tuple[dict[str, float], dict[str, float]]:
    """Switch ``fault`` on (``None``: healthy traffic), send every question once, switch it off.

    Returns the metrics scraped just before and just after the traffic, the window an alert
    rule is evaluated over.
    """
    import httpx

    if fault is not None and fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)} or None")
    if not questions:
        raise ValueError("a drill needs at least one question")
    httpx.post(
        base_url.rstrip("/") + "/admin/faults", json={"fault": fault, "rate": rate}, timeout=10
    ).raise_for_status()
    try:
        before = scrape(base_url)
        for _ in _send(base_url, questions):
            pass
        after = scrape(base_url)
    finally:
        httpx.post(
            base_url.rstrip("/") + "/admin/faults", json={"fault": None, "rate": 0.0}, timeout=10
        ).raise_for_status()
    return before, after
