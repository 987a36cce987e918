"""The capstone's agent on the library loop: tools built per caller, schema-checked arguments, the budget
wrapper (reserve, call, settle), the docs-ticket rules (signed-in callers only, a daily limit kept in
Postgres) and the refusal of a call repeated twice in a row.

Where a test needs a model that does something the offline reference model never does (call a tool it
was not offered, repeat itself), the model is the real OpenAI provider whose HTTP transport answers in
the Chat Completions format: the double sits at the network edge of a paid API, nowhere else.
"""

from __future__ import annotations

import json

import pytest
from llm_wire import openai_chat_completion

from capstone.agent.answering import Agent
from capstone.agent.budget import BudgetedModel, LedgerRefusal
from capstone.agent.tickets import TicketRefused, file_ticket, tickets_today
from capstone.agent.tools import ToolContext, build_tools, docs_ticket
from capstone.cost.ledger import RequestBudget, RequestLimitExceeded
from capstone.db import Database
from capstone.guard.auth import create_user
from curriculum.agents import call_tool

TICKET_LIMIT = 2
PASS_QUESTION = "What does the pass statement do?"
PASS_ANSWER = '"pass" is a null operation — when it is executed, nothing happens. [1]'
TICKET_QUESTION = "Please file a ticket: the power operator page needs an example"


@pytest.fixture(scope="module")
def service(fresh_settings):
    from capstone.rag.connectors import python_reference
    from capstone.service import Assistant

    assistant = Assistant.open(fresh_settings(tickets_per_user_per_day=TICKET_LIMIT))
    assistant.ingest([d for d in python_reference() if d.source.endswith(("/pass", "/power", "/binary"))])
    yield assistant
    assistant.close()


@pytest.fixture(scope="module")
def people(service):
    return {name: create_user(service.db, name)[0] for name in ("ada", "bob", "carol", "dave", "erin")}


class Wire:
    """Chat Completions answers in order (``(text, [(tool, arguments), ...])``); keeps every request body."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.bodies: list[dict] = []

    def __call__(self, request):
        import httpx

        self.bodies.append(json.loads(request.content))
        text, calls = self.answers.pop(0)
        message = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.bodies)}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for i, (name, args) in enumerate(calls)
            ]
        return httpx.Response(
            200,
            json=openai_chat_completion(
                message["content"],
                tool_calls=message.get("tool_calls"),
                finish_reason="tool_calls" if calls else "stop",
                prompt_tokens=30,
                completion_tokens=5,
                model="gpt-4o-mini",
            ),
        )

    def tool_messages(self, request: int) -> list[str]:
        return [m["content"] for m in self.bodies[request]["messages"] if m["role"] == "tool"]


def _wired_model(wire):
    import httpx
    import openai

    from curriculum.llm import get_model

    client = openai.OpenAI(
        api_key="sk-test", http_client=httpx.Client(transport=httpx.MockTransport(wire)), max_retries=0
    )
    return get_model("openai:gpt-4o-mini", client=client)


def _agent(service, wire, **settings) -> Agent:
    return Agent(
        _wired_model(wire), service.retriever, service.db, service.ledger, service.settings.model_copy(update=settings)
    )


def _ask(agent: Agent, question: str, viewer: int | None, limit: float = 0.05):
    result = agent.run(question, viewer=viewer, budget=RequestBudget.new(limit, viewer))
    assert json.loads(json.dumps(result.trace)) == result.trace  # what goes into the response's debug
    return result


def _tickets(service) -> int:
    with service.db.connection() as conn:
        return conn.execute("SELECT count(*) FROM tickets").fetchone()[0]


def _names(tools) -> list[str]:
    return [t.name for t in tools]


def test_tools_are_built_per_request_for_the_caller(service, people):
    anonymous = ToolContext(service.retriever, service.db, service.settings, None)
    ada = ToolContext(service.retriever, service.db, service.settings, people["ada"].id)
    assert _names(build_tools(anonymous)) == ["search_docs", "read_source", "calculate"]
    assert _names(build_tools(ada)) == ["search_docs", "read_source", "calculate", "docs_ticket"]
    off = service.settings.model_copy(update={"tickets_per_user_per_day": 0})
    assert "docs_ticket" not in _names(build_tools(ToolContext(service.retriever, service.db, off, people["ada"].id)))
    other = ToolContext(service.retriever, service.db, service.settings, people["ada"].id)
    calculator = next(t for t in build_tools(ada) if t.name == "calculate")
    record = call_tool(calculator, "c1", {"input": "2**10"})
    assert record.status == "ok" and "1024" in record.output and record.value.summary == "2**10 = 1024"
    assert [e.text for e in ada.evidence.items] == ["The Python expression 2**10 evaluates to 1024."]
    assert len(other.evidence) == 0  # nothing is shared between requests


def test_tool_arguments_are_checked_against_their_schemas(service, people):
    ctx = ToolContext(service.retriever, service.db, service.settings, people["bob"].id)
    tools = {t.name: t for t in build_tools(ctx)}
    before = _tickets(service)
    for name, arguments, problem in [
        ("read_source", {"page": "python-reference/pass"}, "'topic' is a required property"),
        ("search_docs", {"query": "   "}, "does not match"),
        ("docs_ticket", {"text": "short"}, "is too short"),
        ("calculate", {"input": 42}, "is not of type 'string'"),
    ]:
        record = call_tool(tools[name], "c", arguments)
        assert record.status == "invalid" and problem in record.output, (name, record.output)
    assert _tickets(service) == before and len(ctx.evidence) == 0

    wire = Wire(("", [("read_source", {"page": "python-reference/pass"})]), (PASS_ANSWER, []))
    result = _ask(_agent(service, wire), PASS_QUESTION, people["bob"].id)
    steps = [s for s in result.trace if s["type"] == "tool" and s["name"] == "read_source"]
    assert [s["status"] for s in steps] == ["invalid"] and not steps[0]["ok"]
    assert wire.tool_messages(1)[0].startswith("error: invalid arguments") and "topic" in wire.tool_messages(1)[0]
    assert result.citations and not result.abstained  # the model corrected course after the error


def test_budget_wrapper_refuses_before_a_call_that_would_exceed_the_limit(service):
    messages = [{"role": "user", "content": "What does the pass statement do? Answer in one sentence."}]

    def ledger_ask():
        return next((s.spent_usd, s.reserved_usd) for s in service.ledger.states() if s.feature == "ask")

    wire = Wire(("A null operation.", []))
    model = _wired_model(wire)
    estimate = model.estimate_cost(messages, 100)
    spent, reserved = ledger_ask()
    tight = RequestBudget.new(estimate * 0.9)
    with pytest.raises(LedgerRefusal) as refused:
        BudgetedModel(model, service.ledger, tight).complete(messages, max_tokens=100)
    assert isinstance(refused.value.error, RequestLimitExceeded)
    assert (
        wire.bodies == [] and tight.committed_usd == 0 and ledger_ask() == (spent, reserved)
    )  # the provider was never called

    roomy = RequestBudget.new(estimate * 2)
    budgeted = BudgetedModel(model, service.ledger, roomy)
    done = budgeted.complete(messages, max_tokens=100)
    billed = budgeted.calls[0]
    assert len(wire.bodies) == 1 and billed.feature == "ask" and billed.reserved_usd == pytest.approx(estimate)
    assert 0 < done.cost_usd < estimate and billed.cost_usd == pytest.approx(done.cost_usd)  # settled at the real cost
    assert roomy.cost_usd == pytest.approx(done.cost_usd) and roomy.committed_usd == pytest.approx(done.cost_usd)
    assert ledger_ask()[0] == pytest.approx(spent + done.cost_usd) and ledger_ask()[1] == pytest.approx(
        reserved, abs=1e-12
    )
    with service.db.connection() as conn:
        row = conn.execute(
            "SELECT cost_usd, reserved_usd, input_tokens FROM usage_events WHERE request_id = %s", (roomy.request_id,)
        ).fetchone()
    assert row[0] == pytest.approx(done.cost_usd) and row[1] == pytest.approx(estimate) and row[2] == 30


def test_a_failed_call_gives_its_reservation_back(service):
    import httpx

    from curriculum.llm import ModelError

    budget = RequestBudget.new(1.0)
    model = BudgetedModel(
        _wired_model(lambda request: httpx.Response(400, json={"error": {"message": "bad"}})), service.ledger, budget
    )
    with pytest.raises(ModelError):
        model.complete([{"role": "user", "content": "hi"}], max_tokens=50)
    assert budget.committed_usd == pytest.approx(0, abs=1e-12) and model.calls == []
    assert all(s.reserved_usd == pytest.approx(0, abs=1e-12) for s in service.ledger.states())


def test_a_request_over_its_limit_at_the_first_call_raises_the_ledger_error(service, people):
    wire = Wire((PASS_ANSWER, []))
    with pytest.raises(RequestLimitExceeded):
        _ask(_agent(service, wire), PASS_QUESTION, people["ada"].id, limit=1e-9)
    assert wire.bodies == []


def test_anonymous_callers_get_no_ticket_tool_and_a_forced_call_is_refused(service):
    before = _tickets(service)
    wire = Wire(
        ("", [("docs_ticket", {"text": "The pass page needs an example with a class body"})]), (PASS_ANSWER, [])
    )
    result = _ask(_agent(service, wire), PASS_QUESTION, None)
    offered = [t["function"]["name"] for t in wire.bodies[0]["tools"]]
    assert "docs_ticket" not in offered and "docs_ticket" not in wire.bodies[0]["messages"][0]["content"]
    ticket_steps = [s for s in result.trace if s.get("name") == "docs_ticket"]
    assert [s["status"] for s in ticket_steps] == ["unknown_tool"] and _tickets(service) == before
    anonymous = ToolContext(service.retriever, service.db, service.settings, None)
    with pytest.raises(TicketRefused, match="anonymous"):
        docs_ticket(anonymous, "The pass page needs an example with a class body")
    with pytest.raises(TicketRefused, match="anonymous"):
        file_ticket(service.db, user_id=None, title="t", body="the pass page", limit=5)
    assert _tickets(service) == before


def test_ticket_limit_per_caller_per_day(service, people):
    ada = people["ada"]
    answers = [_ask(service.agent, TICKET_QUESTION, ada.id) for _ in range(TICKET_LIMIT + 1)]  # the offline model
    assert all("ticket number" in a.answer for a in answers[:TICKET_LIMIT])
    last = [s for s in answers[-1].trace if s.get("name") == "docs_ticket"]
    assert last and last[0]["status"] == "error" and "daily limit" in last[0]["result"]
    assert "ticket number" not in answers[-1].answer and tickets_today(service.db, ada.id) == TICKET_LIMIT

    other_worker = Database(service.db.url)  # another process's pool over the same database sees the same count
    try:
        with pytest.raises(TicketRefused, match="daily limit"):
            file_ticket(other_worker, user_id=ada.id, title="t", body="the power page", limit=TICKET_LIMIT)
        assert (
            file_ticket(other_worker, user_id=people["bob"].id, title="t", body="the power page", limit=TICKET_LIMIT)
            > 0
        )
    finally:
        other_worker.close()

    carol = people["carol"].id
    with service.db.connection() as conn:  # yesterday's tickets do not count today
        conn.execute(
            "INSERT INTO tickets (user_id, title, body, created_at) VALUES (%s, 'old', 'old', now() - interval '1 day')",
            (carol,),
        )
    for _ in range(TICKET_LIMIT):
        file_ticket(service.db, user_id=carol, title="t", body="the binary page", limit=TICKET_LIMIT)
    assert tickets_today(service.db, carol) == TICKET_LIMIT


def test_a_ticket_filed_concurrently_waits_for_the_other_and_then_counts_it(service, people):
    """Another worker is filing dave's last ticket of the day (its transaction holds dave's row, as file_ticket
    does); a second filing must wait for it, then count it and refuse, not count before it commits."""
    import threading
    import time

    import psycopg

    dave = people["dave"].id
    file_ticket(service.db, user_id=dave, title="t", body="the power page needs an example", limit=2)
    outcome: list[object] = []
    second = Database(service.db.url, size=1)
    with psycopg.connect(service.db.url) as holder:
        holder.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (dave,))
        holder.execute("INSERT INTO tickets (user_id, title, body) VALUES (%s, 't', 'the second ticket')", (dave,))

        def attempt() -> None:
            try:
                outcome.append(file_ticket(second, user_id=dave, title="t", body="the binary page needs one", limit=2))
            except TicketRefused as exc:
                outcome.append(exc)

        worker = threading.Thread(target=attempt)
        worker.start()
        with service.db.connection() as conn:  # until the second filing waits on the lock (or, unlocked, is done)
            while (
                worker.is_alive()
                and not conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                ).fetchone()[0]
            ):
                time.sleep(0.02)
        holder.commit()
    worker.join()
    second.close()
    assert len(outcome) == 1 and isinstance(outcome[0], TicketRefused), outcome
    assert tickets_today(service.db, dave) == 2


def test_the_same_call_twice_in_a_row_is_refused_and_the_step_limit_holds(service, people):
    search = ("search_docs", {"query": "null operation"})
    wire = Wire(("", [search]), ("", [search]), (PASS_ANSWER, []))
    result = _ask(_agent(service, wire), PASS_QUESTION, people["erin"].id)
    loop_searches = [s["status"] for s in result.trace if s["type"] == "tool" and s["name"] == "search_docs"][1:]
    assert loop_searches == ["ok", "repeated"] and "same arguments" in wire.tool_messages(2)[-1]
    assert result.stop_reason == "final_answer" and result.citations

    looping = Wire(*[("", [search])] * 3, (PASS_ANSWER, []))  # a model that never stops calling: 3 steps, then compose
    result = _ask(_agent(service, looping, agent_max_steps=3), PASS_QUESTION, people["erin"].id)
    models = [s for s in result.trace if s["type"] == "model"]
    assert result.stop_reason == "max_steps" and len(looping.bodies) == 4 and "tools" not in looping.bodies[-1]
    assert [m["feature"] for m in models] == ["ask", "agent", "agent", "ask"]
    assert [s["status"] for s in result.trace if s["type"] == "tool"][1:] == ["ok", "repeated", "repeated"]
