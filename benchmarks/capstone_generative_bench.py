"""The capstone on the local generative model beside the reference model, streamed end to end over HTTP.

Run with ``python -m benchmarks capstone_generative_bench`` (``HF_HUB_OFFLINE=1`` set before Python starts).
For each model -- the extractive reference (``offline``) and SmolLM2-135M served by llama.cpp
(``local:smollm2``) -- it starts ``aie serve`` with ``AIE_MODEL`` set (the capstone bench's own embedded
Postgres, ``.aie/pg/capstone-bench``) and replays the golden queries (``data/capstone/golden_queries.jsonl``;
``AIE_BENCH_QUERIES=N`` keeps the first N) as ``POST /v1/ask`` with ``"stream": true``:

* one untimed warm-up query;
* sequential (one client), then ``CLIENTS`` concurrent clients sharing the queries out;
* per request, the client's clock: time to the first ``token`` event (TTFT) and to the ``done`` event (end to
  end); answers that fell back to the extractive quote and sentences dropped by the citation check are counted.

Then the resident memory (psutil RSS) of the llama.cpp server process and of each ``aie serve`` process.
Goals on 2 cores (the roadmap's): p95 end to end under 3 s, TTFT p95 under 500 ms, the served model under
1.5 GB. The load average is printed beside the numbers. Benchmarks print; they never pass or fail on time.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.capstone_bench import GOLDEN, start_service, wait_ready
from curriculum.net import free_port

CLIENTS = 4
MODELS = ("offline", "local:smollm2")
QUERIES = int(os.environ.get("AIE_BENCH_QUERIES", "0"))  # 0: all of them


def golden_questions() -> list[str]:
    lines = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [q["question"] for q in lines]
    return questions[:QUERIES] if QUERIES > 0 else questions


def streamed_ask(url: str, question: str) -> dict:
    """One streamed ask: ``ttft_ms``, ``e2e_ms``, and the checked answer's counters (raises on an error event)."""
    import httpx
    from httpx_sse import connect_sse

    started = time.perf_counter()
    ttft = None
    body: dict = {}
    with httpx.Client(timeout=300) as client:
        with connect_sse(client, "POST", f"{url}/v1/ask", json={"question": question, "stream": True}) as source:
            if source.response.status_code != 200:
                raise RuntimeError(f"{source.response.status_code}: {source.response.read()[:200]!r}")
            for event in source.iter_sse():
                if event.event == "token" and ttft is None:
                    ttft = (time.perf_counter() - started) * 1e3
                elif event.event == "citations":
                    body = json.loads(event.data)
                elif event.event == "error":
                    raise RuntimeError(f"error event: {event.data}")
    return {
        "ttft_ms": ttft if ttft is not None else float("nan"),
        "e2e_ms": (time.perf_counter() - started) * 1e3,
        "fallback": bool(body.get("extractive_fallback")),
        "dropped": int(body.get("dropped_sentences", 0)),
        "abstained": bool(body.get("abstained")),
    }


def replay(url: str, questions: list[str]) -> dict[str, list[dict]]:
    streamed_ask(url, questions[0])  # warm-up: index, caches, the model's first call
    sequential = [streamed_ask(url, q) for q in questions]
    with ThreadPoolExecutor(CLIENTS) as pool:
        concurrent = list(pool.map(lambda q: streamed_ask(url, q), questions))
    return {"sequential": sequential, f"{CLIENTS} clients": concurrent}


def rss_mb(pid: int | None) -> float:
    import psutil

    if pid is None:
        return float("nan")
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.Error:
        return float("nan")


def run_model(spec: str, questions: list[str]) -> tuple[dict[str, list[dict]], float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_service(port, extra_env={"AIE_MODEL": spec})
    try:
        wait_ready(url, proc)
        results = replay(url, questions)
        return results, rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except Exception:  # noqa: BLE001 - a stuck child is killed
            proc.kill()


def _row(spec: str, load: str, samples: list[dict]) -> str:
    from curriculum.timing import summarize_ms

    e2e = summarize_ms([s["e2e_ms"] for s in samples])
    ttft = summarize_ms([s["ttft_ms"] for s in samples])
    fallback = sum(s["fallback"] for s in samples)
    dropped = sum(s["dropped"] for s in samples)
    return (
        f"{spec:<14} {load:<11} {e2e['n']:>3} {e2e['p50']:>9.0f} {e2e['p95']:>9.0f} {ttft['p50']:>9.0f} "
        f"{ttft['p95']:>9.0f} {fallback:>9} {dropped:>8}"
    )


def main() -> None:
    from curriculum.llm.local import read_state

    questions = golden_questions()
    print(f"{len(questions)} golden queries, streamed; load average {os.getloadavg()[0]:.1f}", flush=True)
    header = f"{'model':<14} {'load':<11} {'n':>3} {'e2e p50':>9} {'e2e p95':>9} {'ttft p50':>9} {'ttft p95':>9} {'fallback':>9} {'dropped':>8}"
    rows, memory = [], {}
    for spec in MODELS:
        results, service_rss = run_model(spec, questions)
        memory[f"aie serve ({spec})"] = service_rss
        rows += [_row(spec, load, samples) for load, samples in results.items()]
        print(f"  {spec}: done (load average {os.getloadavg()[0]:.1f})", flush=True)
    state = read_state()
    memory["llama.cpp server (SmolLM2-135M)"] = rss_mb(state.pid if state else None)
    print("milliseconds, client clock (request sent -> first token event / done event)")
    print(header)
    print("\n".join(rows))
    print("resident memory (MB): " + ", ".join(f"{name} {mb:.0f}" for name, mb in memory.items()))
    print("goals on 2 cores: e2e p95 < 3000 ms, ttft p95 < 500 ms, served model < 1536 MB (not asserted)")


if __name__ == "__main__":
    main()
