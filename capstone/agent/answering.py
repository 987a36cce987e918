"""One question, one answer: the capstone's glue around the library's agent loop.

::

    screen the question (injection patterns)         -> refused, no model call
    search_docs(question)                            -> numbered evidence (relevant, not quarantined)
    arithmetic in the question                       -> calculate(question), planned like the search
    nothing relevant                                 -> nothing_relevant, no model call
    curriculum.agents.run_agent(BudgetedModel, build_tools(caller), question, max_steps)
        every model call: reserve -> call -> settle  (capstone.agent.budget; refused -> stop "budget")
        tool calls validated against their schemas, repeats refused, results fed back
    tools were used and the answer cites nothing     -> one "compose" call without tools, over all evidence
    resolve [n] markers to quotes, guard the output

A small model served on this machine (``local:smollm2``: :func:`capstone.agent.generative.is_generative`)
skips the loop: one call over the top passages, streamed to ``on_token`` when given, then every sentence is
checked against the passage it cites; unsupported ones are dropped and counted, and when none is left the
answer is the extractive quote of the same passages (``extractive_fallback``).

The first model call refused by the budget ends the request with the ledger's error (HTTP 402 or
429); a later refusal ends the loop and the answer abstains. Errors of the model provider are raised.
:attr:`AgentResult.trace` is the JSON form of the typed records (planned tool calls, the loop's
:class:`~curriculum.agents.Step` records and the :class:`~capstone.agent.budget.BilledCall` of each step).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from capstone.agent.budget import BilledCall, BudgetedModel, LedgerRefusal
from capstone.agent.calculator import wants_arithmetic
from capstone.agent.citations import MARKER, Resolved, resolve
from capstone.agent.evidence import Evidence, EvidenceList
from capstone.agent.generative import grounded_messages, is_generative, passages, verify_generated
from capstone.agent.prompt import NOTHING_RELEVANT, REFUSAL, defuse_question, system_prompt
from capstone.agent.tools import ToolContext, ToolResult, build_tools
from capstone.cost.ledger import Ledger, RequestBudget, RequestLimitExceeded
from capstone.db import Database
from capstone.guard.injection import screen
from capstone.guard.output import guard_answer
from capstone.rag.retriever import Retriever
from capstone.settings import Settings
from curriculum.agents.loop import AgentStopReason, RunResult, ToolCallRecord, call_tool, run_agent
from curriculum.llm import ABSTAIN_PREFIX, ChatModel

__all__ = ["Agent", "AgentResult"]

_LIMIT_WORDS = {"budget": "the cost limit", "max_steps": "the step limit"}
_CLAIM_END = re.compile(r"(?:\[\d{1,3}\])+")  # a run of markers closes one claim


@dataclass
class AgentResult:
    """The answer to one question and the typed records of how it was reached."""

    answer: str
    citations: list[dict]
    abstained: bool
    refused: bool
    stop_reason: AgentStopReason
    planned: list[ToolCallRecord] = field(default_factory=list)  # tool calls made before the model (search, calculator)
    run: RunResult | None = None  # the agent loop, when it ran
    billed: list[BilledCall] = field(default_factory=list)  # every settled model call, in order
    question_flags: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    dropped_claims: list[str] = field(default_factory=list)
    guard: dict = field(default_factory=dict)
    retrieval: Any = None
    draft_sentences: int = 0  # sentences (claims) the model wrote, before the citation check
    extractive_fallback: bool = False  # no generated sentence held: the answer is the extractive quote
    answered_by: str | None = None  # the model of the last billed call (a fallback's name when the first failed)

    @property
    def trace(self) -> list[dict]:
        """Every step as a JSON-ready dict: ``guard``, ``tool`` and ``model`` entries in the order they happened."""
        out: list[dict] = []
        if self.question_flags:
            out.append({"type": "guard", "name": "screen_question", "result": ", ".join(self.question_flags)})
        out += [_tool_entry(rec) for rec in self.planned]
        steps = self.run.steps if self.run is not None else []
        for i, call in enumerate(self.billed):
            out.append(_model_entry(call, steps[i].tool_calls if i < len(steps) else []))
            if i < len(steps):
                out += [_tool_entry(rec) for rec in steps[i].tool_calls]
        return [{"step": n, **entry} for n, entry in enumerate(out)]


def _tool_entry(rec: ToolCallRecord) -> dict:
    summary = rec.value.summary if isinstance(rec.value, ToolResult) else rec.output[:200]
    return {
        "type": "tool",
        "name": rec.name,
        "arguments": rec.arguments,
        "ok": rec.status == "ok",
        "status": rec.status,
        "result": summary,
        "latency_ms": round(rec.latency_ms, 2),
    }


def _model_entry(call: BilledCall, tool_calls: list[ToolCallRecord]) -> dict:
    return {
        "type": "model",
        "feature": call.feature,
        "model": call.model,
        "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in tool_calls],
        "stop_reason": call.stop_reason,
        "input_tokens": call.input_tokens,
        "output_tokens": call.output_tokens,
        "reserved_usd": round(call.reserved_usd, 8),
        "cost_usd": round(call.cost_usd, 8),
        "latency_ms": round(call.latency_ms, 2),
    }


class Agent:
    """Answers one question for one caller within one request budget."""

    def __init__(
        self, model: ChatModel, retriever: Retriever, db: Database, ledger: Ledger, settings: Settings
    ) -> None:
        self.model = model
        self.retriever = retriever
        self.db = db
        self.ledger = ledger
        self.settings = settings

    def run(
        self,
        question: str,
        *,
        viewer: int | None,
        budget: RequestBudget,
        mode: str | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> AgentResult:
        """Answer ``question`` for ``viewer`` (a user id; None: anonymous).

        ``on_token`` receives the generative model's text deltas as they arrive (drafts: the checked answer
        is the result's ``answer``). Raises BudgetExceeded / RequestLimitExceeded when the first model call
        does not fit, and ModelError.
        """
        settings = self.settings
        mode = mode or settings.retrieval
        screened = screen(question)
        if screened.flagged:
            return AgentResult(
                REFUSAL,
                [],
                True,
                True,
                "refused",
                question_flags=screened.reasons,
                guard={"question_flags": screened.reasons},
            )

        ctx = ToolContext(self.retriever, self.db, settings, viewer, mode=mode)
        started = time.perf_counter()
        retrieval = self.retriever.retrieve(question, k=settings.top_k, viewer=viewer, mode=mode)
        quarantined = [c.id for c in retrieval.chunks if c.flagged]
        ctx.evidence.add_chunks(
            c for c in retrieval.chunks if retrieval.similarity.get(c.id, 0.0) >= settings.min_relevance
        )
        found = f"{len(ctx.evidence)} relevant chunks" + (f", {len(quarantined)} quarantined" if quarantined else "")
        planned = [
            ToolCallRecord(
                "planned-search", "search_docs", {"query": question}, "ok", found, (time.perf_counter() - started) * 1e3
            )
        ]
        tools = build_tools(ctx)
        if wants_arithmetic(question):  # planned like the search: a question with arithmetic in it gets the calculator
            calculator = next(t for t in tools if t.name == "calculate")
            planned.append(call_tool(calculator, "planned-calculate", {"input": question}))
        if not len(ctx.evidence):
            return AgentResult(
                NOTHING_RELEVANT,
                [],
                True,
                False,
                "nothing_relevant",
                planned,
                quarantined=quarantined,
                retrieval=retrieval,
            )

        model = BudgetedModel(self.model, self.ledger, budget)
        task = defuse_question(question)
        if is_generative(self.model, settings.answering):
            return self._generate(task, model, ctx, planned, quarantined, retrieval, on_token)
        run = run_agent(
            model,
            tools,
            task,
            system=system_prompt(settings, ctx.evidence.items, tools),
            max_steps=settings.agent_max_steps,
            max_tokens=settings.max_output_tokens,
        )
        if run.budget_refusal is not None and not run.steps:
            raise _ledger_error(run.budget_refusal)
        final, stop = run.final_answer, run.stop_reason
        used_tools = any(s.tool_calls for s in run.steps)
        if used_tools and (final is None or not MARKER.search(final)) and not (final or "").startswith(ABSTAIN_PREFIX):
            compose = [
                {"role": "system", "content": system_prompt(settings, ctx.evidence.items)},
                {"role": "user", "content": task},
            ]
            try:
                final = model.complete(compose, max_tokens=settings.max_output_tokens).text
            except LedgerRefusal as refusal:
                if not isinstance(refusal.error, RequestLimitExceeded):
                    raise refusal.error from None
                stop = "budget"
        if final is None:
            final = f"{ABSTAIN_PREFIX} enough to answer within this request's limits ({_LIMIT_WORDS.get(stop, stop)} was reached)."
        resolved = resolve(re.sub(r"(?<!\n)\n(?!\n)", " ", final), ctx.evidence.by_number())
        return self._finish(resolved, stop, ctx.evidence, planned, run, model.calls, quarantined, retrieval)

    def _generate(
        self,
        task: str,
        model: BudgetedModel,
        ctx: ToolContext,
        planned: list[ToolCallRecord],
        quarantined: list[str],
        retrieval: Any,
        on_token: Callable[[str], None] | None,
    ) -> AgentResult:
        """One generative call over the top passages, every sentence checked; the extractive quote when none holds."""
        settings = self.settings
        shown = EvidenceList(passages(ctx.evidence.items, settings.generative_passages, settings.generative_chars))
        messages = grounded_messages(task, shown.items, settings.canary)
        try:
            draft = model.complete(
                messages,
                max_tokens=settings.generative_max_tokens,
                stream=on_token is not None,
                on_token=on_token,
            )
        except LedgerRefusal as refusal:
            raise refusal.error from None
        verified = verify_generated(draft.text, shown.by_number())
        resolved = Resolved(verified.answer, verified.citations, verified.dropped, verified.repaired)
        fallback = not verified.citations
        if fallback:  # nothing the model wrote holds: quote the same passages instead
            from curriculum.llm.offline import OfflineReferenceModel

            extractive = BudgetedModel(OfflineReferenceModel(prices=self.model.prices), self.ledger, model.budget)
            try:
                quote = extractive.complete(messages, max_tokens=settings.max_output_tokens).text
            except LedgerRefusal:
                quote = f"{ABSTAIN_PREFIX} anything I could cite for this question."
            model.calls.extend(extractive.calls)
            quoted = resolve(re.sub(r"(?<!\n)\n(?!\n)", " ", quote), shown.by_number())
            resolved = Resolved(quoted.answer, quoted.citations, verified.dropped, quoted.repaired)
        result = self._finish(resolved, "final_answer", shown, planned, None, model.calls, quarantined, retrieval)
        result.draft_sentences = verified.sentences
        result.extractive_fallback = fallback and bool(result.citations)
        return result

    def _finish(
        self,
        resolved: Resolved,
        stop: AgentStopReason,
        evidence: EvidenceList,
        planned: list[ToolCallRecord],
        run: RunResult | None,
        billed: list[BilledCall],
        quarantined: list[str],
        retrieval: Any,
    ) -> AgentResult:
        """Abstain when nothing valid is cited, guard the output."""
        settings = self.settings
        answer = resolved.answer
        abstained = not resolved.citations  # an answer with nothing valid to cite is not given
        if abstained and not answer.startswith(ABSTAIN_PREFIX):
            answer = f"{ABSTAIN_PREFIX} anything I could cite for this question."
        guarded = guard_answer(answer, settings.canary, settings.allowed_link_hosts)
        citations = [] if abstained or guarded.leaked else resolved.citations
        return AgentResult(
            answer=guarded.text,
            citations=citations,
            abstained=abstained or guarded.leaked,
            refused=guarded.leaked,
            stop_reason=stop,
            planned=planned,
            run=run,
            billed=list(billed),
            evidence=list(evidence.items),
            quarantined=quarantined,
            dropped_claims=resolved.dropped,
            retrieval=retrieval,
            answered_by=billed[-1].model if billed else None,
            draft_sentences=len(resolved.dropped) + len(_CLAIM_END.findall(resolved.answer)),
            guard={
                "removed_links": len(guarded.removed_links),
                "canary_blocked": guarded.leaked,
                "repaired_citations": resolved.repaired,
            },
        )


def _ledger_error(refusal: Exception) -> Exception:
    """The ledger's own error behind a refusal (what the API maps to 402 or 429)."""
    return refusal.error if isinstance(refusal, LedgerRefusal) else refusal
