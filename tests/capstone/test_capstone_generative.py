"""The capstone on a generative model: SmolLM2-135M served by llama.cpp (the real local server), checked answers.

The citation check is pure (crafted drafts go straight through :func:`verify_generated`); the rest talks HTTP
to the real model server: a generative answer keeps only verified citations, ``"stream": true`` sends
``token`` events then ``citations`` then ``done``, and a model server whose connection drops mid-answer (a
proxy in front of the real server cuts it) gives an ``error`` event naming the cause, or, with a fallback
configured, the fallback's answer saying so. A handful of model calls in all.
"""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlsplit

import httpx
import pytest
from httpx_sse import connect_sse

from capstone.agent.citations import check_citations
from capstone.agent.evidence import Evidence
from capstone.agent.generative import grounded_messages, is_generative, passages, verify_generated
from capstone.guard.drafts import DraftScreen

PASS = "pass is a null operation: when it is executed, nothing happens. It is useful as a placeholder."
BREAK = "break may only occur syntactically nested in a for or while loop. It terminates the nearest enclosing loop."
EVIDENCE = {
    1: Evidence(1, "python-reference/pass#0", "python-reference/pass", PASS),
    2: Evidence(2, "python-reference/break#0", "python-reference/break", BREAK),
}
QUESTION = "What does the pass statement do?"


# --- the check, on crafted drafts (no model) -----------------------------------------------------------------


def test_a_sentence_whose_marker_does_not_hold_is_dropped_and_counted():
    draft = "pass is a null operation [1]. pass deletes every file on the disk [1]. break terminates the nearest enclosing loop. [2]"
    out = verify_generated(draft, EVIDENCE)
    assert out.sentences == 3 and out.dropped == ["pass deletes every file on the disk. [1]"]
    assert "deletes" not in out.answer and out.answer.count("[") == 2
    texts = {e.chunk_id: e.text for e in EVIDENCE.values()}
    assert check_citations(out.answer, out.citations, texts) == []
    assert [c["chunk_id"] for c in out.citations] == ["python-reference/pass#0", "python-reference/break#0"]


def test_a_sentence_without_a_marker_or_citing_a_missing_passage_is_dropped():
    out = verify_generated("pass does nothing at all. break terminates the nearest enclosing loop [7].", EVIDENCE)
    assert out.answer == "" and out.citations == [] and len(out.dropped) == 2


def test_a_marker_of_the_wrong_passage_does_not_hold():
    out = verify_generated("break terminates the nearest enclosing loop [1].", EVIDENCE)
    assert out.citations == [] and out.dropped


def test_passages_are_prefixes_of_their_chunks_cut_at_a_sentence_end_and_renumbered():
    chars = len(BREAK.split(". ")[0]) + 2
    items = passages([EVIDENCE[2], Evidence(9, "c#0", "c", "x " * 400), EVIDENCE[1]], n=2, chars=chars)
    assert [e.number for e in items] == [1, 2]
    assert items[0].text == BREAK.split(" It ")[0] and BREAK.startswith(items[0].text)
    assert len(items[1].text) <= chars and ("x " * 400).startswith(items[1].text)
    prompt = grounded_messages(QUESTION, items)[1]["content"]
    assert prompt.splitlines()[1].startswith("[1] break") and prompt.rstrip().endswith(QUESTION)
    with pytest.raises(ValueError, match="n >= 1"):
        passages(items, n=0, chars=100)


def test_the_draft_never_shows_the_canary_while_it_is_streamed(secrets):
    screen = DraftScreen(secrets["canary"])
    shown = "".join(
        screen.feed(piece) for piece in ["Sure, the value is ", secrets["canary"][:9], secrets["canary"][9:]]
    )
    shown += "".join(screen.feed(" and some more words.") for _ in range(10)) + screen.flush()
    assert screen.stopped and secrets["canary"][:6] not in shown
    clean = DraftScreen(secrets["canary"])
    text = "pass is a null operation. " * 8
    assert "".join(clean.feed(w + " ") for w in text.split()) + clean.flush() == " ".join(text.split()) + " "


# --- on the real local model -------------------------------------------------------------------------------


def _assistant_on(assistant, model):
    """An assistant over the session's database and index that answers with ``model`` (no canary: drafts stream at once)."""
    from capstone.service import Assistant

    settings = assistant.settings.model_copy(update={"canary": None, "model": model.spec})
    return Assistant(settings, assistant.db, assistant.store, model=model, embed=assistant.embed)


@pytest.fixture(scope="module")
def local_assistant(assistant, served):
    from curriculum.llm import get_model

    model = get_model("local:smollm2")
    assert is_generative(model) and not is_generative(assistant.model)
    assert not is_generative(model, "agent") and not is_generative(assistant.model, "generative")
    return _assistant_on(assistant, model)


def _events(url: str, question: str) -> list[tuple[str, dict]]:
    with httpx.Client(timeout=180) as client:
        with connect_sse(client, "POST", f"{url}/v1/ask", json={"question": question, "stream": True}) as source:
            assert source.response.status_code == 200, source.response.read()
            assert source.response.headers["content-type"].startswith("text/event-stream")
            return [(e.event, json.loads(e.data)) for e in source.iter_sse()]


def _chunk_texts(assistant, response: dict) -> dict[str, str]:
    return {c.id: c.text for c in assistant.store.get_chunks([c["chunk_id"] for c in response["citations"]], None)}


def test_a_generative_answer_keeps_only_citations_that_hold(local_assistant):
    response = local_assistant.ask("What happens when an assert statement fails?", user=None, debug=True)
    assert response["answered_by"] and response["debug"]["draft_sentences"] >= response["dropped_sentences"] >= 0
    assert not response["refused"]
    if not response["abstained"]:
        assert response["citations"]
        assert check_citations(response["answer"], response["citations"], _chunk_texts(local_assistant, response)) == []
    calls = [s for s in response["debug"]["trace"] if s["type"] == "model"]
    assert calls and calls[0]["input_tokens"] < 700, calls  # the prompt of a 135M model stays short


def test_the_stream_sends_tokens_then_citations_then_done(local_assistant, live_server):
    from capstone.app import create_app

    with live_server(create_app(assistant=local_assistant)) as server:
        events = _events(server.url, QUESTION)
    kinds = [kind for kind, _ in events]
    assert kinds[-2:] == ["citations", "done"] and set(kinds[:-2]) == {"token"} and len(kinds) >= 4, kinds
    draft = "".join(data["text"] for kind, data in events if kind == "token")
    body = events[-2][1]
    assert draft.strip() and events[-1][1]["request_id"] == body["request_id"]
    assert {"answer", "citations", "usage", "dropped_sentences", "answered_by"} <= set(body)
    if body["citations"]:
        assert check_citations(body["answer"], body["citations"], _chunk_texts(local_assistant, body)) == []


def test_the_reference_model_streams_its_checked_answer_as_one_token_event(app, live_server):
    with live_server(app) as server:
        events = _events(server.url, "What does the assert statement do?")
    assert [kind for kind, _ in events] == ["token", "citations", "done"]
    assert events[0][1]["text"] == events[1][1]["answer"] and events[1][1]["citations"]


def test_a_refused_stream_start_is_the_usual_http_error(client):
    r = client.post("/v1/ask", json={"question": "x" * 7000, "stream": True})
    assert r.status_code == 422 and "text/event-stream" not in r.headers.get("content-type", "")


class CuttingProxy:
    """Forwards TCP to the real model server and drops each connection after ``cut_after`` bytes of its reply."""

    def __init__(self, upstream: tuple[str, int], cut_after: int) -> None:
        self.upstream, self.cut_after = upstream, cut_after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)

        def forward() -> None:
            try:
                while data := client.recv(65536):
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=forward, daemon=True).start()
        sent = 0
        try:
            while sent < self.cut_after and (data := upstream.recv(min(4096, self.cut_after - sent))):
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        self.cuts += sent >= self.cut_after
        for sock in (client, upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def cutting_proxy(served):
    address = urlsplit(served.base_url)
    proxy = CuttingProxy((address.hostname, address.port), cut_after=1800)
    yield proxy
    proxy.close()


@pytest.mark.parametrize("spec", ["local:smollm2", "local:smollm2 -> offline"])
def test_a_model_server_that_dies_mid_stream_gives_an_error_event_or_the_fallback(
    spec, assistant, cutting_proxy, live_server
):
    from capstone.app import create_app
    from curriculum.llm import get_model

    model = get_model(spec, base_url=f"http://127.0.0.1:{cutting_proxy.port}/v1")
    with live_server(create_app(assistant=_assistant_on(assistant, model))) as server:
        events = _events(server.url, QUESTION)
    assert cutting_proxy.cuts >= 1
    kinds = [kind for kind, _ in events]
    draft = "".join(data["text"] for kind, data in events if kind == "token")
    assert kinds[0] == "token" and draft, kinds  # the model had started writing
    if spec == "local:smollm2":
        assert kinds[-1] == "error" and "citations" not in kinds
        assert events[-1][1]["status"] == 503 and "stopped mid-answer" in events[-1][1]["detail"]
    else:
        assert kinds[-2:] == ["citations", "done"]
        body = events[-2][1]
        assert "stopped mid-answer" in draft and "offline" in draft  # the draft says the fallback took over
        assert body["answered_by"] == "offline-reference" and "stopped" not in body["answer"]


def test_the_eval_compares_the_reference_and_the_local_model_side_by_side(assistant, served):
    from capstone.evals.compare import COLUMNS, parse_models, run_models, side_by_side
    from capstone.evals.suite import load_cases

    cases = [c for c in load_cases() if c.id in ("assert", "pass")] + [
        next(c for c in load_cases() if c.kind == "out_of_scope")
    ]
    reports = run_models(assistant, parse_models("offline, local:smollm2"), cases)
    table = side_by_side(reports)
    assert table.splitlines()[0].split() == ["offline", "local:smollm2"]
    assert all(label in table for _, label, _ in COLUMNS)
    for spec, report in reports.items():
        assert report.metrics["cases"] == 3
        answered = [r for r in report.cases if r.citations_valid is not None]
        assert all(r.citations_valid for r in answered), (spec, [r.citation_problems for r in answered])
        assert 0.0 <= report.metrics["answers.faithfulness"] <= 1.0 and report.metrics["latency.p95_ms"] > 0
    assert reports["offline"].metrics["answers.faithfulness"] == 1.0  # the reference only quotes
    with pytest.raises(ValueError, match="--models"):
        parse_models(" , ")
