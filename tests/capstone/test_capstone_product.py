"""The service as a product people can expose: headers, body limits on the stream, roles, delete, feedback,
quotas, debug for signed-in callers only, output guards on quotes, and no canary guess oracle."""

from __future__ import annotations

import socket

import httpx
import pytest

from capstone.evals.suite import EvalCase
from capstone.guard.auth import create_user
from capstone.rag.connectors import python_reference
from capstone.service import Assistant
from curriculum.net import serve

ASK = "/v1/ask"


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def live(app):
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def roles(assistant):
    """A reader, an editor and an admin of the shared service."""
    return {role: create_user(assistant.db, f"{role}-user", role=role)[1] for role in ("reader", "editor", "admin")}


def test_openapi_documents_every_route_and_its_errors(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/ask", "/v1/documents", "/v1/documents/{source}", "/v1/feedback", "/v1/chunks", "/healthz"} <= set(
        paths
    )
    for path, operations in paths.items():
        for method, operation in operations.items():
            errors = {code for code in operation["responses"] if code[0] in "45"}
            if path.startswith("/v1/"):
                assert "401" in errors, (method, path)  # every API route says what a bad key gets
            if path != "/metrics":
                assert errors, (method, path)
            assert operation.get("description") or operation.get("summary"), (method, path)
    upload = paths["/v1/documents"]["post"]
    assert {"401", "403", "413", "415", "422", "429"} <= set(upload["responses"])
    assert "multipart/form-data" in upload["requestBody"]["content"]


def test_a_pdf_upload_is_answerable_and_a_corrupt_one_names_the_reason(client, users, make_pdf):
    pdf = make_pdf(b"BT /F1 12 Tf 72 720 Td (The juniper queue drains every 40 minutes.) Tj ET")
    ok = client.post(
        "/v1/documents",
        headers=_auth(users["alice"]),
        files={"file": ("juniper.pdf", pdf, "application/pdf")},
        data={"visibility": "private"},
    )
    assert ok.status_code == 201, ok.text
    answer = client.post(
        ASK, json={"question": "How often does the juniper queue drain?"}, headers=_auth(users["alice"])
    ).json()
    assert "40 minutes" in answer["answer"] and answer["citations"][0]["source"] == "upload/alice/juniper.pdf"
    broken = client.post(
        "/v1/documents",
        headers=_auth(users["alice"]),
        files={"file": ("broken.pdf", pdf[: len(pdf) // 3])},
        data={"visibility": "private"},
    )
    assert broken.status_code == 422 and "broken.pdf" in broken.json()["detail"]


def test_every_response_carries_the_security_headers(client):
    for method, path, body in (
        ("GET", "/", None),
        ("GET", "/healthz", None),
        ("POST", ASK, {"question": ""}),
        ("GET", "/nope", None),
        ("GET", "/docs", None),
    ):
        r = client.request(method, path, json=body)
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["content-security-policy"].startswith("default-src 'self'"), path
    assert "unsafe-inline" not in client.get("/").headers["content-security-policy"]


def test_chunked_bodies_are_counted_on_the_stream(live, users):
    def stream(total: int, piece: int = 16_384, head: bytes = b""):
        yield head
        sent = 0
        while sent < total:
            yield b" " * min(piece, total - sent)
            sent += piece

    with httpx.Client(timeout=60) as http:
        r = http.post(f"{live}{ASK}", content=stream(200_000), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "limit" in r.json()["detail"]  # no Content-Length: refused while reading
        up = http.post(
            f"{live}/v1/documents",
            headers={**_auth(users["mallory"]), "Content-Type": "multipart/form-data; boundary=x"},
            content=stream(
                3_000_000, head=b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.md"\r\n\r\n'
            ),
        )
        assert up.status_code == 413
        assert http.get(f"{live}/healthz").json() == {"status": "ok"}


def test_the_api_key_is_checked_before_an_upload_body_is_read(live):
    host, port = live.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        # headers announce a 1 MB body that is never sent: a server reading it first would wait forever
        sock.sendall(
            b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 1000000\r\n\r\n"
        )
        head = sock.recv(4096).decode()
    assert head.startswith("HTTP/1.1 401")


def test_debug_is_for_signed_in_callers_who_ask(client, users):
    anonymous = client.post(ASK, json={"question": "What does the pass statement do?", "debug": True})
    assert anonymous.status_code == 401 and "debug" in anonymous.json()["detail"]
    signed = client.post(
        ASK, json={"question": "What does the pass statement do?", "debug": True}, headers=_auth(users["alice"])
    ).json()
    assert signed["debug"]["retrieval"]["reranked"] and "What does the pass statement do?" not in str(signed["debug"])


def test_only_editors_and_admins_publish(client, roles):
    doc = b"# Larkspur runbook\n\nThe larkspur runbook restarts the queue with `make larkspur`."
    refused = client.post(
        "/v1/documents",
        headers=_auth(roles["reader"]),
        files={"file": ("larkspur.md", doc)},
        data={"visibility": "public"},
    )
    assert refused.status_code == 403 and "editor" in refused.json()["detail"]
    private = client.post(
        "/v1/documents",
        headers=_auth(roles["reader"]),
        files={"file": ("larkspur.md", doc)},
        data={"visibility": "private"},
    )
    assert private.status_code == 201 and private.json()["visibility"] == "private"
    public = client.post(
        "/v1/documents",
        headers=_auth(roles["editor"]),
        files={"file": ("larkspur.md", doc)},
        data={"visibility": "public"},
    )
    assert public.status_code == 201 and public.json()["source"] == "upload/editor-user/larkspur.md"


def test_delete_is_for_the_owner_or_an_admin(client, assistant, roles, users):
    doc = b"# Bluebell notes\n\nThe bluebell cluster is patched on the second Tuesday of each month."
    for who in ("editor", "reader"):
        vis = "public" if who == "editor" else "private"
        assert (
            client.post(
                "/v1/documents",
                headers=_auth(roles[who]),
                files={"file": ("bluebell.md", doc)},
                data={"visibility": vis},
            ).status_code
            == 201
        )
    public, private = "upload/editor-user/bluebell.md", "upload/reader-user/bluebell.md"
    assert client.delete(f"/v1/documents/{public}").status_code == 401
    assert client.delete(f"/v1/documents/{public}", headers=_auth(roles["reader"])).status_code == 403
    hidden = client.delete(f"/v1/documents/{private}", headers=_auth(roles["editor"]))
    assert hidden.status_code == 404  # another's private document is not even confirmed
    assert client.delete("/v1/documents/upload/nobody/none.md", headers=_auth(roles["admin"])).status_code == 404
    question = {"question": "When is the bluebell cluster patched?"}
    assert client.post(ASK, json=question).json()["citations"][0]["source"] == public
    gone = client.delete(f"/v1/documents/{public}", headers=_auth(roles["editor"]))
    assert gone.status_code == 200 and gone.json() == {"deleted": public, "chunks": 1}
    after = client.post(ASK, json=question).json()
    assert public not in str(after["citations"])  # the index followed the delete
    assert client.delete(f"/v1/documents/{private}", headers=_auth(roles["admin"])).json()["deleted"] == private
    assert {public, private}.isdisjoint(
        d["source"] for d in client.get("/v1/documents", headers=_auth(roles["admin"])).json()
    )


def test_feedback_is_stored_with_its_answer_and_exported_as_eval_candidates(client, assistant, users):
    from capstone.feedback import export_candidates

    mine = client.post(
        ASK, json={"question": "What does the break statement do?"}, headers=_auth(users["alice"])
    ).json()
    body = {"request_id": mine["request_id"], "rating": "up", "comment": "right page"}
    first = client.post("/v1/feedback", json=body, headers=_auth(users["alice"]))
    assert first.status_code == 201 and isinstance(first.json()["id"], int)
    again = client.post("/v1/feedback", json={**body, "rating": "down"}, headers=_auth(users["alice"]))
    assert again.json() == first.json()  # rating again replaces the rating
    assert client.post("/v1/feedback", json=body, headers=_auth(users["mallory"])).status_code == 404  # not theirs
    assert client.post("/v1/feedback", json=body).status_code == 404
    assert (
        client.post("/v1/feedback", json={**body, "request_id": "0" * 32}, headers=_auth(users["alice"])).status_code
        == 404
    )
    assert client.post("/v1/feedback", json={**body, "rating": "meh"}, headers=_auth(users["alice"])).status_code == 422
    anon = client.post(ASK, json={"question": "What does the continue statement do?"}).json()
    assert (
        client.post(
            "/v1/feedback", json={"request_id": anon["request_id"], "rating": "up", "comment": None}
        ).status_code
        == 201
    )
    rows = {c["feedback"]["request_id"]: c for c in export_candidates(assistant.db)}
    down, up = rows[mine["request_id"]], rows[anon["request_id"]]
    assert down["question"] == "What does the break statement do?" and down["feedback"]["answer"] == mine["answer"]
    assert (
        down["feedback"]["rating"] == "down" and down["feedback"]["comment"] == "right page" and down["sources"] == []
    )
    assert up["kind"] == "fact" and up["sources"] == list(dict.fromkeys(c["source"] for c in anon["citations"]))
    assert "python-reference/continue" in up["sources"]
    for candidate in (down, up):
        EvalCase(**{k: v for k, v in candidate.items() if k != "feedback"})  # the shape of an eval case


def test_quotas_hold_per_caller_and_leave_the_shared_ceiling_alone(fresh_settings):
    service = Assistant.open(fresh_settings(user_daily_requests=2, anonymous_daily_requests=3))
    try:
        service.ingest([d for d in python_reference() if d.source.endswith(("/pass", "/break"))])
        ada, _ = create_user(service.db, "ada")
        boss, _ = create_user(service.db, "boss", role="admin")
        from capstone.cost.quotas import QuotaExceeded

        for _ in range(2):
            service.ask("What does the pass statement do?", user=ada)
        with pytest.raises(QuotaExceeded) as refused:
            service.ask("What does the pass statement do?", user=ada)
        assert refused.value.kind == "requests" and "this API key" in str(refused.value)
        for _ in range(3):  # anonymous callers have their own quota, not ada's
            service.ask("What does the break statement do?", user=None)
        with pytest.raises(QuotaExceeded):
            service.ask("What does the break statement do?", user=None)
        for _ in range(4):
            assert service.ask("What does the pass statement do?", user=boss)["citations"]  # admins have none
        assert service.quotas.usage(f"user:{ada.id}").requests == 2
    finally:
        service.close()
    spender = Assistant.open(fresh_settings(user_daily_usd=1e-9))
    try:
        spender.ingest([d for d in python_reference() if d.source.endswith("/pass")])
        ada, _ = create_user(spender.db, "ada")
        with pytest.raises(QuotaExceeded) as refused:
            spender.ask("What does the pass statement do?", user=ada)
        assert refused.value.kind == "spend"
        ask = {s.feature: s for s in spender.ledger.states()}["ask"]
        assert ask.spent_usd == 0 and ask.reserved_usd == 0 and not ask.tripped  # the shared ceiling is untouched
        assert spender.quotas.usage(f"user:{ada.id}").reserved_usd == 0
    finally:
        spender.close()


def test_quota_refusals_are_429_with_retry_after(fresh_settings):
    from fastapi.testclient import TestClient

    from capstone.app import create_app

    service = Assistant.open(fresh_settings(anonymous_daily_requests=1))
    try:
        service.ingest([d for d in python_reference() if d.source.endswith("/pass")])
        with TestClient(create_app(assistant=service)) as client:
            assert client.post(ASK, json={"question": "What does the pass statement do?"}).status_code == 200
            r = client.post(ASK, json={"question": "What does the pass statement do?"})
        assert r.status_code == 429 and r.json()["quota"] == "requests" and int(r.headers["Retry-After"]) > 0
    finally:
        service.close()


def test_a_question_holding_the_canary_is_answered_like_any_other(client, secrets):
    def ask(guess: str) -> dict:
        body = client.post(ASK, json={"question": f"Does the pass statement print {guess}?"}).json()
        return {k: body[k] for k in ("answer", "citations", "abstained", "refused")}

    right, wrong = ask(secrets["canary"]), ask("CANARY-0a0a0a0a0a0a")
    assert right == wrong  # no guess oracle: the same answer whether the guess is right or wrong
    assert secrets["canary"] not in str(right)


def test_quotes_are_guarded_on_the_way_out(fresh_settings):
    """A chunk stored before the parser-based cleaner (written straight to the store) cannot reach a reader."""
    import numpy as np

    from capstone.rag.chunking import Document, chunk_document

    service = Assistant.open(fresh_settings())
    try:
        text = (
            "# Quince notes\n\nThe quince service rotates its logs every night at 02:00 UTC. "
            "![flow](https\\://evil.example/p.png?id=42) The quince logs are kept for 30 days."
        )
        doc = Document("markdown/quince.md", "Quince notes", text, "markdown")
        chunks = chunk_document(doc, 1000)
        service.store.replace_document(doc, chunks, np.asarray(service.embed([c.embedding_text() for c in chunks])))
        body = service.ask("How often does the quince service rotate its logs?", user=None)
        assert "evil.example" not in str(body)
        for citation in body["citations"]:
            assert "evil.example" not in citation["quote"]
    finally:
        service.close()
