"""Capstone latency benchmark: the service under uvicorn, the golden query set, end to end over HTTP.

Starts ``uvicorn capstone.app:create_app --factory`` on 127.0.0.1 (its own embedded Postgres,
``.aie/pg/capstone-bench``; the first start indexes the default corpus), then for each retrieval
mode -- hybrid (BM25 + dense + RRF + rerank), BM25 only, dense only -- replays
``data/capstone/golden_queries.jsonl``:

* one untimed warm-up pass;
* ``ROUNDS`` sequential passes (one client);
* ``ROUNDS`` passes by ``CLIENTS`` concurrent clients (the queries are shared out among them).

It prints p50/p95/p99 of the end-to-end latency (client clock, request sent to JSON parsed)
for each mode and load, the server-reported ``latency_ms``, and recall@5 of each mode against
the golden sources (a query counts the share of its expected documents found among the first
five distinct documents of the final ranking). Goal on the offline model: p95 under 300 ms on
2 cores; the roadmap asks for under 3 s. Benchmarks print; they never pass or fail on time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from curriculum.net import free_port

ROUNDS = int(os.environ.get("AIE_BENCH_ROUNDS", "2"))
CLIENTS = 8
MODES = ("hybrid", "bm25", "dense")
GOLDEN = Path(__file__).resolve().parent.parent / "data" / "capstone" / "golden_queries.jsonl"




def start_service(port: int) -> subprocess.Popen:
    """uvicorn in a child process, on the embedded defaults (own database folder, bench-sized budget)."""
    env = dict(os.environ)
    env.setdefault("AIE_PG_NAME", "capstone-bench")
    env.setdefault("AIE_DEFAULT_DAILY_CEILING_USD", "1000")  # the stand-in prices would otherwise trip after many runs a day
    env.setdefault("AIE_REQUEST_LIMIT_USD", "1")
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "capstone.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        env=env,
    )


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 900) -> dict:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with code {proc.returncode}")
        try:
            return httpx.get(f"{url}/healthz", timeout=5).json()
        except httpx.HTTPError:
            time.sleep(0.5)
    raise TimeoutError("the service did not become ready")


def _ask(client, url: str, question: str, mode: str) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.post(f"{url}/v1/ask", json={"question": question, "retrieval": mode}, timeout=120)
    body = response.json()
    elapsed = (time.perf_counter() - started) * 1e3
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {body}")
    return elapsed, body


def _recall_at_5(body: dict, expected: list[str]) -> float:
    stages = body["debug"]["retrieval"] or {}
    ranking = stages.get("reranked") or stages.get("fused") or []
    sources: list[str] = []
    for item in ranking:
        source = item["chunk_id"].rsplit("#", 1)[0]
        if source not in sources:
            sources.append(source)
    return len(set(sources[:5]) & set(expected)) / len(expected)


def run_mode(url: str, queries: list[dict], mode: str) -> dict:
    import httpx

    from curriculum.timing import summarize_ms

    with httpx.Client() as client:
        for q in queries:  # warm-up: caches, BM25 index, first-call costs
            _ask(client, url, q["question"], mode)
        sequential, server, recalls = [], [], []
        for _ in range(ROUNDS):
            for q in queries:
                elapsed, body = _ask(client, url, q["question"], mode)
                sequential.append(elapsed)
                server.append(body["latency_ms"])
                if q["sources"]:
                    recalls.append(_recall_at_5(body, q["sources"]))
    work = [q["question"] for _ in range(ROUNDS) for q in queries]

    def one(question: str) -> float:
        with httpx.Client() as client:
            return _ask(client, url, question, mode)[0]

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        concurrent = list(pool.map(one, work))
    wall = time.perf_counter() - started
    return {
        "sequential": summarize_ms(sequential), "server": summarize_ms(server), "concurrent": summarize_ms(concurrent),
        "throughput_rps": len(work) / wall, "recall@5": sum(recalls) / len(recalls),
    }


def main() -> None:
    """Start the service, replay the golden queries per retrieval mode, print the table."""
    queries = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_service(port)
    try:
        started = time.perf_counter()
        health = wait_ready(url, proc)
        print(f"service ready in {time.perf_counter() - started:.1f} s: {health}")
        print(f"{len(queries)} golden queries x {ROUNDS} rounds; concurrent = {CLIENTS} clients; {os.cpu_count()} CPU cores")
        results = {mode: run_mode(url, queries, mode) for mode in MODES}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    header = f"{'mode':<8} {'load':<13} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'recall@5':>9}"
    print(header)
    print("-" * len(header))
    for mode, r in results.items():
        for load in ("sequential", "concurrent"):
            s = r[load]
            label = load if load == "sequential" else f"{CLIENTS} clients"
            print(f"{mode:<8} {label:<13} {s['p50']:>8.1f} {s['p95']:>8.1f} {s['p99']:>8.1f} {r['recall@5']:>9.3f}")
    for mode, r in results.items():
        print(f"{mode}: server-side p50 {r['server']['p50']:.1f} ms, p95 {r['server']['p95']:.1f} ms; "
              f"{r['throughput_rps']:.1f} requests/s with {CLIENTS} clients")
    p95 = results["hybrid"]["sequential"]["p95"]
    print(f"hybrid sequential p95 = {p95:.1f} ms: {'under' if p95 < 300 else 'over'} the 300 ms goal, "
          f"{'under' if p95 < 3000 else 'over'} the roadmap's 3 s")


if __name__ == "__main__":
    main()
