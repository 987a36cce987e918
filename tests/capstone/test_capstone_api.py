"""The HTTP contract (the capstone contract in capstone/api/__init__.py), the agent's tools, and clear 4xx answers to bad input."""

from __future__ import annotations

import re

import pytest

from capstone.agent.citations import MARKER

ASK = "/v1/ask"


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_health_is_minimal_and_docs_work_offline(client):
    assert client.get("/healthz").json() == {"status": "ok"}  # no store, model or document counts
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    bundle = re.search(r'src="(/[^"]+swagger-ui-bundle\.js)"', docs.text).group(1)
    assert client.get(bundle).status_code == 200  # Swagger UI comes from the package, not a CDN
    assert "/v1/ask" in client.get("/openapi.json").json()["paths"]
    page = client.get("/")
    assert page.status_code == 200 and 'id="question"' in page.text and "text/html" in page.headers["content-type"]


def test_ask_contract_and_citations_resolve_to_chunk_text(client, users):
    anonymous = client.post(ASK, json={"question": "What does the pass statement do?"}).json()
    assert "debug" not in anonymous and anonymous["request_id"]  # debug only when asked for, with a key
    body = client.post(
        ASK, json={"question": "What does the pass statement do?", "debug": True}, headers=_auth(users["mallory"])
    ).json()
    assert set(body) >= {"answer", "citations", "usage", "latency_ms", "request_id"}
    assert body["answer"] == anonymous["answer"] and body["request_id"] != anonymous["request_id"]
    assert set(body["usage"]) == {"input_tokens", "output_tokens", "cost_usd"}
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["cost_usd"] > 0 and body["latency_ms"] > 0
    assert not body["abstained"] and body["citations"][0]["source"] == "python-reference/pass"
    markers = set(MARKER.findall(body["answer"]))
    assert markers and markers == {c["marker"].strip("[]") for c in body["citations"]}
    for citation in body["citations"]:
        assert set(citation) == {"marker", "source", "chunk_id", "quote"}
        chunk = client.get("/v1/chunks", params={"id": citation["chunk_id"]}).json()
        assert chunk["source"] == citation["source"]
        assert " ".join(citation["quote"].split()) in " ".join(chunk["text"].split())
    stages = body["debug"]["retrieval"]
    assert all(stages[s] for s in ("bm25", "dense", "fused", "reranked"))
    assert body["debug"]["trace"][0]["name"] == "search_docs"


def test_out_of_scope_question_is_refused_without_a_model_call(client):
    body = client.post(ASK, json={"question": "Who painted the Mona Lisa?"}).json()
    assert body["abstained"] and body["answer"].startswith("The sources do not say") and body["citations"] == []
    assert body["usage"]["cost_usd"] == 0


@pytest.mark.parametrize("retrieval", ["bm25", "dense"])
def test_retrieval_mode_per_request(client, users, retrieval):
    body = client.post(
        ASK,
        json={"question": "What does the yield statement do?", "retrieval": retrieval, "debug": True},
        headers=_auth(users["mallory"]),
    ).json()
    assert body["debug"]["retrieval"]["mode"] == retrieval
    assert bool(body["debug"]["retrieval"]["bm25"]) == (retrieval == "bm25")


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"question": ""}, 422),
        ({"question": "   \n "}, 422),
        ({"question": "x" * 6001}, 422),
        ({}, 422),
        ({"question": 42}, 422),
        ({"question": "ok?", "extra": 1}, 422),
        ({"question": "ok?", "retrieval": "magic"}, 422),
        ([1, 2], 422),
    ],
)
def test_bad_questions_get_422(client, payload, status):
    r = client.post(ASK, json=payload)
    assert r.status_code == status and r.json()["detail"]


def test_broken_requests(client):
    assert client.post(ASK, content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 422
    assert (
        client.post(
            ASK, content=b"question=hi", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ).status_code
        == 422
    )
    big = client.post(ASK, content=b"{" + b" " * 70_000 + b"}", headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and "limit" in big.json()["detail"]
    assert client.post(ASK, json={"question": "hi"}, headers={"Authorization": "Basic abc"}).status_code == 401
    unknown = client.post(ASK, json={"question": "hi"}, headers=_auth("aie_not-a-real-key"))
    assert unknown.status_code == 401 and "unknown API key" in unknown.json()["detail"]
    assert client.get("/v1/chunks", params={"id": "python-reference/nope#99"}).status_code == 404


def _docs(assistant) -> int:
    return sum(assistant.document_counts().values())


def test_uploads_visibility_and_refusals(client, assistant, users):
    alice, mallory = _auth(users["alice"]), _auth(users["mallory"])
    note = b"# Heliotrope rota\n\nThe heliotrope rota puts Dana on call in the first week of April."
    assert (
        client.post("/v1/documents", files={"file": ("rota.md", note)}, data={"visibility": "public"}).status_code
        == 401
    )
    before = _docs(assistant)
    for name, data, visibility, status in [
        ("rota.exe", b"MZ binary", "public", 415),
        ("rota.pdf", b"%PDF-1.4 corrupt", "public", 422),
        ("rota.md", b"", "public", 422),
        ("rota.html", b"\x00\x01binary", "public", 422),
        ("rota.md", note, "secret", 422),
        ("rota.md", b"x" * 2_000_001, "public", 413),
    ]:
        r = client.post("/v1/documents", headers=mallory, files={"file": (name, data)}, data={"visibility": visibility})
        assert r.status_code == status, (name, r.text)
        assert r.json()["detail"]
    assert _docs(assistant) == before  # nothing stored half-way
    r = client.post("/v1/documents", headers=alice, files={"file": ("rota.md", note)}, data={"visibility": "private"})
    assert r.status_code == 201 and r.json()["source"] == "upload/alice/rota.md" and r.json()["status"] == "added"
    again = client.post(
        "/v1/documents", headers=alice, files={"file": ("rota.md", note)}, data={"visibility": "private"}
    )
    assert again.json()["status"] == "unchanged"
    question = {"question": "Who is on call in the heliotrope rota in April?"}
    mine = client.post(ASK, json=question, headers=alice).json()
    assert "Dana" in mine["answer"] and mine["citations"][0]["source"] == "upload/alice/rota.md"
    for headers in (mallory, {}):
        theirs = client.post(ASK, json=question, headers=headers).json()
        assert "Dana" not in theirs["answer"] and "upload/alice" not in str(theirs)
    assert "upload/alice/rota.md" in {d["source"] for d in client.get("/v1/documents", headers=alice).json()}
    assert "upload/alice/rota.md" not in {d["source"] for d in client.get("/v1/documents").json()}


def test_agent_uses_tools_and_records_its_trace(client, assistant, users):
    calc = client.post(
        ASK, json={"question": "What is 2**16 in Python?", "debug": True}, headers=_auth(users["mallory"])
    ).json()
    assert "65536" in calc["answer"] and calc["citations"][0]["source"] == "tool/calculate"
    assert any(step.get("name") == "calculate" for step in calc["debug"]["trace"])
    with assistant.db.connection() as conn:
        before = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    ticket = client.post(
        ASK,
        json={"question": "Please file a ticket: the docs for the match statement need more examples", "debug": True},
        headers=_auth(users["alice"]),
    ).json()  # tickets are for signed-in callers
    names = [s.get("name") for s in ticket["debug"]["trace"]]
    assert "docs_ticket" in names and "ticket number" in ticket["answer"]
    with assistant.db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == before + 1
    read = client.post(
        ASK,
        json={"question": "Read the page python-reference/nonlocal", "debug": True},
        headers=_auth(users["mallory"]),
    ).json()
    step = next(s for s in read["debug"]["trace"] if s.get("name") == "read_source")
    assert step["result"].startswith("python-reference/nonlocal")
    assert all(s.get("feature") in ("ask", "agent") for s in read["debug"]["trace"] if s["type"] == "model")


def test_agent_step_limit(fresh_settings):
    from capstone.guard.auth import create_user
    from capstone.service import Assistant

    service = Assistant.open(fresh_settings(agent_max_steps=1))
    try:
        from capstone.rag.connectors import python_reference

        service.ingest([d for d in python_reference() if d.source.endswith(("/binary", "/power"))])
        user, _ = create_user(service.db, "ada")
        body = service.ask("Please file a ticket: the power operator page needs an example", user=user, debug=True)
        models = [s for s in body["debug"]["trace"] if s["type"] == "model"]
        assert body["debug"]["stop_reason"] == "max_steps"
        assert len([s for s in models if s["feature"] == "agent"]) == 0 and len(models) <= 2
    finally:
        service.close()


def test_metrics_are_prometheus_text(client):
    client.post(ASK, json={"question": "What does the break statement do?"})
    text = client.get("/metrics").text
    for series in (
        "aie_http_requests_total",
        "aie_http_request_duration_seconds_bucket",
        "aie_cost_usd_total",
        "aie_tokens_total",
        "aie_budget_tripped",
        "aie_budget_ceiling_usd",
        "aie_documents",
    ):
        assert series in text, series
    assert re.search(r'aie_cost_usd_total\{feature="ask"\} [0-9.e-]+', text)


def test_agent_cost_limit_ends_the_loop(fresh_settings):
    from capstone.guard.auth import create_user
    from capstone.rag.connectors import python_reference
    from capstone.service import Assistant

    probe = Assistant.open(fresh_settings())
    try:
        probe.ingest([d for d in python_reference() if d.source.endswith(("/binary", "/power"))])
        question = "Please file a ticket: the power operator page needs an example"
        first_call = probe.ask(question, user=create_user(probe.db, "ada")[0], debug=True)["debug"]["calls"][0][
            "reserved_usd"
        ]
    finally:
        probe.close()
    service = Assistant.open(fresh_settings(request_limit_usd=first_call * 1.1))  # room for one call only
    try:
        service.ingest([d for d in python_reference() if d.source.endswith(("/binary", "/power"))])
        body = service.ask(question, user=create_user(service.db, "ada")[0], debug=True)
        assert body["debug"]["stop_reason"] == "budget"
        assert len(body["debug"]["calls"]) == 1 and body["usage"]["cost_usd"] <= first_call * 1.1
        assert body["abstained"] and "limits" in body["answer"]
    finally:
        service.close()
