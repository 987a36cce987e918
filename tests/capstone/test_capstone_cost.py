"""Cost per request and per feature in the database, the per-request limit, the daily hard ceiling,
its alert (real local webhook receiver, log line, Prometheus gauge) exactly once per crossing,
reserve-then-settle under 20 concurrent requests, and spend that survives a restart."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from capstone.app import create_app
from capstone.rag.connectors import python_reference
from capstone.service import Assistant

QUESTION = {"question": "What does the pass statement do?"}
TOPICS = ("/pass", "/break", "/continue", "/assert")


class Receiver:
    """A real HTTP server on 127.0.0.1 that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()


def _service(settings) -> Assistant:
    service = Assistant.open(settings)
    service.ingest([d for d in python_reference() if d.source.endswith(TOPICS)])
    return service


def _one_request_cost(fresh_settings) -> tuple[float, float]:
    """(cost, reserved) of one answer to QUESTION, measured on a scratch database."""
    service = _service(fresh_settings())
    try:
        body = service.ask(QUESTION["question"], user=None, debug=True)
        return body["usage"]["cost_usd"], sum(c["reserved_usd"] for c in body["debug"]["calls"])
    finally:
        service.close()


@pytest.fixture(scope="module")
def request_cost(fresh_settings):
    cost, reserved = _one_request_cost(fresh_settings)
    assert 0 < cost <= reserved
    return cost, reserved


def test_usage_is_recorded_per_feature(fresh_settings):
    service = _service(fresh_settings())
    try:
        from capstone.rag.chunking import Document

        fresh = f"Release note {uuid.uuid4().hex}: the nightly index rebuild now starts at 03:00 UTC."
        service.ingest(
            [Document("markdown/release-note.md", "Release note", fresh, "markdown")]
        )  # new text: embedded and billed
        service.ask("What does the pass statement do?", user=None)
        from capstone.guard.auth import create_user

        user, _ = create_user(service.db, "ada")  # the ticket tool is for signed-in callers
        service.ask("Please file a ticket: the break page needs an example with for and else", user=user)
        with service.db.connection() as conn:
            rows = dict(
                conn.execute(
                    "SELECT feature, count(*) FROM usage_events WHERE cost_usd > 0 AND input_tokens > 0 GROUP BY feature"
                ).fetchall()
            )
        assert rows.get("ask", 0) >= 2 and rows.get("agent", 0) >= 1 and rows.get("ingest", 0) >= 1
        states = {s.feature: s for s in service.ledger.states()}
        assert states["ask"].spent_usd > 0 and states["ask"].reserved_usd == pytest.approx(0, abs=1e-12)
    finally:
        service.close()


def test_per_request_limit_is_a_402(fresh_settings):
    service = _service(fresh_settings(request_limit_usd=1e-7))
    try:
        from fastapi.testclient import TestClient

        with TestClient(create_app(assistant=service)) as client:
            r = client.post("/v1/ask", json=QUESTION)
        assert r.status_code == 402 and "per-request limit" in r.json()["detail"]
        assert {s.feature: s.spent_usd for s in service.ledger.states()}["ask"] == 0
    finally:
        service.close()


def test_ceiling_alerts_once_per_crossing_and_survives_restart(fresh_settings, request_cost, caplog, live_server):
    cost, reserved = request_cost
    with Receiver() as receiver:
        settings = fresh_settings(daily_ceiling_usd={"ask": reserved * 2.5}, alert_webhook_url=receiver.url)
        service = _service(settings)
        caplog.set_level(logging.WARNING, logger="capstone.cost")
        with live_server(create_app(assistant=service)) as live:
            statuses = [httpx.post(f"{live.url}/v1/ask", json=QUESTION, timeout=60) for _ in range(8)]
            codes = [r.status_code for r in statuses]
            passed = codes.index(429)
            assert passed >= 1 and set(codes[passed:]) == {429} and set(codes[:passed]) == {200}, codes
            state = {s.feature: s for s in service.ledger.states()}["ask"]
            assert (
                state.spent_usd <= settings.ceiling_for("ask") < state.spent_usd + reserved
            )  # refused only when it had to
            refused = statuses[passed]
            assert (
                "daily cost ceiling reached for 'ask'" in refused.json()["detail"]
                and int(refused.headers["Retry-After"]) > 0
            )
            assert service.alerter.wait(10)
            metrics = httpx.get(f"{live.url}/metrics").text
        assert 'aie_budget_tripped{feature="ask"} 1.0' in metrics
        assert 'aie_budget_alerts_total{feature="ask"} 1.0' in metrics
        assert len(receiver.received) == 1 and receiver.received[0]["feature"] == "ask"
        assert receiver.received[0]["event"] == "budget.ceiling_crossed"
        assert len([r for r in caplog.records if "ALERT budget ceiling crossed: feature=ask" in r.getMessage()]) == 1
        spent = {s.feature: s.spent_usd for s in service.ledger.states()}["ask"]
        service.close()

        # a restart keeps the spend and the tripped state, and does not alert again
        restarted = Assistant.open(settings)
        try:
            assert {s.feature: s.spent_usd for s in restarted.ledger.states()}["ask"] == pytest.approx(spent)
            from fastapi.testclient import TestClient

            with TestClient(create_app(assistant=restarted)) as client:
                assert client.post("/v1/ask", json=QUESTION).status_code == 429
                assert 'aie_budget_tripped{feature="ask"} 1.0' in client.get("/metrics").text
            assert restarted.alerter.wait(5) and len(receiver.received) == 1
        finally:
            restarted.close()

        # raising the ceiling opens it again; the next crossing is a new alert
        raised = Assistant.open(settings.model_copy(update={"daily_ceiling_usd": {"ask": reserved * 4.5}}))
        try:
            results = [raised.ask(QUESTION["question"], user=None) for _ in range(2)]
            assert all(not r["abstained"] for r in results)
            from capstone.cost.ledger import BudgetExceeded

            with pytest.raises(BudgetExceeded):
                for _ in range(3):
                    raised.ask(QUESTION["question"], user=None)
            assert raised.alerter.wait(10)
        finally:
            raised.close()
        assert len(receiver.received) == 2


def test_twenty_concurrent_requests_overshoot_by_at_most_one_request(fresh_settings, request_cost, live_server):
    cost, reserved = request_cost
    ceiling = reserved * 5.5
    service = _service(fresh_settings(daily_ceiling_usd={"ask": ceiling}))
    try:
        with live_server(create_app(assistant=service)) as live, ThreadPoolExecutor(20) as pool:
            barrier = threading.Barrier(20)

            def fire(_):
                barrier.wait()
                return httpx.post(f"{live.url}/v1/ask", json=QUESTION, timeout=120).status_code

            codes = list(pool.map(fire, range(20)))
        state = {s.feature: s for s in service.ledger.states()}["ask"]
        assert codes.count(200) >= 1 and codes.count(429) >= 1 and set(codes) <= {200, 429}, codes
        assert state.spent_usd <= ceiling + reserved  # at most one request's maximum cost over the ceiling
        assert state.reserved_usd == pytest.approx(0, abs=1e-12)  # every reservation settled or released
        assert state.tripped and state.alerts == 1
    finally:
        service.close()


def test_ingestion_is_budgeted_and_refused_whole(fresh_settings):
    service = Assistant.open(fresh_settings(daily_ceiling_usd={"ingest": 1e-9}))
    try:
        from capstone.cost.ledger import BudgetExceeded
        from capstone.rag.chunking import Document

        new = [
            Document(f"markdown/note-{i}.md", "Note", f"Note {uuid.uuid4().hex} about index rebuilds.", "markdown")
            for i in range(3)
        ]
        with pytest.raises(BudgetExceeded):
            service.ingest(new)  # text never embedded before: it would cost money
        assert sum(service.document_counts().values()) == 0  # refused whole: nothing stored
    finally:
        service.close()
