import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import matplotlib

matplotlib.use("Agg")

import pytest

from curriculum.agents.tracing import langsmith_configured, make_tracing, plot_waterfall, span_rows


def _trace(tracing):
    with tracing.tracer.start_as_current_span("rag.query") as root:
        root.set_attribute("question", "what is pass?")
        with tracing.tracer.start_as_current_span("embed"):
            time.sleep(0.002)
        with tracing.tracer.start_as_current_span("generate") as gen:
            gen.set_attribute("output.answer", "a null operation [1]")


def test_spans_stay_in_memory_and_are_plotted(monkeypatch):
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    assert not langsmith_configured()
    tracing = make_tracing("test")
    assert tracing.langsmith is None
    _trace(tracing)
    rows = span_rows(tracing.spans())
    assert [r["name"] for r in rows] == ["rag.query", "embed", "generate"]
    root = rows[0]
    assert root["parent_id"] is None and root["start_ms"] == 0.0
    assert all(r["parent_id"] == root["span_id"] for r in rows[1:])
    assert rows[1]["duration_ms"] >= 2.0 and root["duration_ms"] >= rows[1]["duration_ms"]
    ax = plot_waterfall(tracing.spans())
    assert [t.get_text().strip() for t in ax.get_yticklabels()] == ["rag.query", "embed", "generate"]
    _trace(tracing)
    with pytest.raises(ValueError, match="one trace"):
        plot_waterfall(tracing.spans())


@pytest.fixture()
def fake_langsmith():
    """A real HTTP server on 127.0.0.1 that records what the langsmith SDK sends."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            seen.append((self.command, self.path, self.headers.get("x-api-key"), body))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        do_POST = do_PATCH = do_GET = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_traces_are_posted_to_langsmith_as_nested_runs(fake_langsmith):
    from langsmith import Client

    url, seen = fake_langsmith
    client = Client(api_key="lsv2-test-key", api_url=url, auto_batch_tracing=False)
    tracing = make_tracing("test", langsmith=True, langsmith_client=client)
    _trace(tracing)
    assert tracing.langsmith.posted_traces == 1
    runs = [json.loads(body) for method, path, key, body in seen if method == "POST" and path == "/runs"]
    assert all(key == "lsv2-test-key" for _, _, key, _ in seen)
    by_name = {r["name"]: r for r in runs}
    assert set(by_name) == {"rag.query", "embed", "generate"}
    root = by_name["rag.query"]
    assert root.get("parent_run_id") is None and root["inputs"] == {"question": "what is pass?"}
    assert by_name["embed"]["parent_run_id"] == root["id"] and by_name["embed"]["run_type"] == "embedding"
    assert by_name["generate"]["run_type"] == "llm" and by_name["generate"]["outputs"] == {
        "output.answer": "a null operation [1]"
    }
    assert {r["trace_id"] for r in runs} == {root["id"]}
