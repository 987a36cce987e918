"""Every paid model call of a request goes through :class:`BudgetedModel`: reserve, call, settle.

It wraps a model the way :class:`curriculum.llm.ResilientModel` does (same interface, same
``complete``), and before each call:

1. estimates the worst case (prompt tokens + ``max_tokens`` of output, priced) and reserves it in the
   :class:`~capstone.cost.ledger.Ledger` against the feature's daily ceiling and the request's own limit;
   a reservation that does not fit raises :class:`LedgerRefusal` (a :class:`curriculum.agents.BudgetRefusal`,
   so the agent loop stops with ``"budget"``) and the provider is not called;
2. calls the model;
3. settles the real cost (or releases the reservation when the call failed) and records a :class:`BilledCall`.

The feature billed is ``agent`` for a call that follows tool results and ``ask`` otherwise
(:func:`billed_feature`). Example::

    model = BudgetedModel(get_model(), ledger, RequestBudget.new(settings.request_limit_usd))
    run_agent(model, tools, question, max_steps=settings.agent_max_steps)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from capstone.cost.ledger import BudgetExceeded, Ledger, RequestBudget, RequestLimitExceeded
from curriculum.agents.loop import BudgetRefusal
from curriculum.llm import ChatModel
from curriculum.llm.base import Generation, Request

__all__ = ["BilledCall", "BudgetedModel", "LedgerRefusal", "billed_feature"]


class LedgerRefusal(BudgetRefusal):
    """The ledger refused a call: ``error`` says why (the daily ceiling, HTTP 429, or the request's limit, HTTP 402)."""

    def __init__(self, error: BudgetExceeded | RequestLimitExceeded) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class BilledCall:
    """One settled model call: what was reserved, what it cost, and what the provider said."""

    feature: str
    model: str
    reserved_usd: float
    cost_usd: float
    input_tokens: int
    output_tokens: int
    stop_reason: str | None
    latency_ms: float


def billed_feature(messages: Sequence[dict[str, Any]]) -> str:
    """``agent`` once the conversation holds a tool result, else ``ask``.

    >>> billed_feature([{"role": "user", "content": "hi"}]), billed_feature([{"role": "tool", "content": "3"}])
    ('ask', 'agent')
    """
    return "agent" if any(m.get("role") == "tool" for m in messages) else "ask"


class BudgetedModel(ChatModel):
    """``inner`` with every call reserved, then settled, in ``ledger`` for one request's ``budget``."""

    def __init__(self, inner: ChatModel, ledger: Ledger, budget: RequestBudget) -> None:
        super().__init__(prices=inner.prices)
        self.inner = inner
        self.provider = inner.provider
        self.model_name = inner.model_name
        self.spec = inner.spec
        self.ledger = ledger
        self.budget = budget
        self.calls: list[BilledCall] = []

    def estimate_cost(self, messages, max_tokens=512, tools=None) -> float:
        return self.inner.estimate_cost(messages, max_tokens, tools)

    def _events(self, request: Request) -> Iterator[str | Generation]:
        feature = billed_feature(request.messages)
        estimate = self.inner.estimate_cost(request.messages, request.max_tokens, request.tools)
        try:
            reservation = self.ledger.reserve(feature, estimate, self.budget)
        except (BudgetExceeded, RequestLimitExceeded) as exc:
            raise LedgerRefusal(exc) from exc
        started = time.perf_counter()
        generation: Generation | None = None
        try:
            for event in self.inner._events(request):
                if isinstance(event, Generation):
                    generation = event
                yield event
        except BaseException:
            self.ledger.release(reservation, self.budget)
            raise
        if generation is None:  # the base class raises for this provider bug; nothing was billed
            self.ledger.release(reservation, self.budget)
            return
        cost = self.prices.cost(generation.provider, generation.price_model, generation.usage)
        usage = generation.usage
        self.ledger.settle(
            reservation,
            cost_usd=cost,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            model=generation.model,
            budget=self.budget,
        )
        self.calls.append(
            BilledCall(
                feature,
                generation.model,
                estimate,
                cost,
                usage.input_tokens,
                usage.output_tokens,
                generation.stop_reason,
                (time.perf_counter() - started) * 1e3,
            )
        )
