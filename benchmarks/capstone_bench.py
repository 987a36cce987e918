"""Capstone latency benchmark: the service under uvicorn, the golden query set, end to end over HTTP.

Starts ``aie serve`` on 127.0.0.1 (its own embedded Postgres,
``.aie/pg/capstone-bench``; the first start indexes the default corpus), then for each retrieval
mode -- hybrid (BM25 + dense + RRF + rerank), BM25 only, dense only -- replays
``data/capstone/golden_queries.jsonl``:

* one untimed warm-up pass;
* ``ROUNDS`` sequential passes (one client);
* ``ROUNDS`` passes by ``CLIENTS`` concurrent clients (the queries are shared out among them).

It prints p50/p95/p99 of the end-to-end latency (client clock, request sent to JSON parsed)
for each mode and load and the server-reported ``latency_ms``. Then, in process, over the same
database, recall@5 and MRR@10 of each mode on the held-out half of the golden queries
(:mod:`capstone.evals.retrieval`: the weights were chosen on the other half). Goal on the
offline model: p95 under 300 ms on 2 cores; the roadmap asks for under 3 s.

Then the hybrid mode again under ``aie serve --workers 2`` (p50/p95 sequential and at ``CLIENTS``
clients, beside the 1-worker numbers; goal: p95 <= 100 ms at 8 clients with 2 workers on the
reference model), and the guards' throughput on 1 MB inputs (ordinary prose, link-dense Markdown and
the adversarial shapes of ``tests/capstone/test_capstone_linear.py``). Benchmarks print; they
never pass or fail on time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from capstone.rag.modes import MODES
from curriculum.net import free_port

ROUNDS = int(os.environ.get("AIE_BENCH_ROUNDS", "2"))
CLIENTS = 8
GOLDEN = Path(__file__).resolve().parent.parent / "data" / "capstone" / "golden_queries.jsonl"
PG_NAME = os.environ.get("AIE_PG_NAME", "capstone-bench")


def start_service(port: int, workers: int = 1, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """``aie serve --workers N`` in a child process, on the embedded defaults (own database folder, bench-sized budget)."""
    env = dict(os.environ, **(extra_env or {}))
    env["AIE_PG_NAME"] = PG_NAME
    env.setdefault(
        "AIE_DEFAULT_DAILY_CEILING_USD", "1000"
    )  # the stand-in prices would otherwise trip after many runs a day
    env.setdefault("AIE_REQUEST_LIMIT_USD", "1")
    env.setdefault("AIE_ANONYMOUS_DAILY_REQUESTS", "1000000000")  # the bench is one anonymous caller asking a lot
    env.setdefault("AIE_ANONYMOUS_DAILY_USD", "1000")
    aie = Path(sys.executable).with_name("aie")
    return subprocess.Popen(
        [str(aie), "serve", "--port", str(port), "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL
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


def retrieval_quality() -> dict[str, dict[str, float]]:
    """recall@5 and MRR@10 per mode on the held-out golden queries, in process, over the bench's database."""
    from capstone.evals.retrieval import compare_modes, held_out_queries
    from capstone.service import Assistant
    from capstone.settings import Settings

    assistant = Assistant.open(Settings(pg_name=PG_NAME))
    try:
        return compare_modes(assistant.retriever, held_out_queries())
    finally:
        assistant.close()


def run_mode(url: str, queries: list[dict], mode: str) -> dict:
    import httpx

    from curriculum.timing import summarize_ms

    with httpx.Client() as client:
        for q in queries:  # warm-up: caches, BM25 index, first-call costs
            _ask(client, url, q["question"], mode)
        sequential, server = [], []
        for _ in range(ROUNDS):
            for q in queries:
                elapsed, body = _ask(client, url, q["question"], mode)
                sequential.append(elapsed)
                server.append(body["latency_ms"])
    work = [q["question"] for _ in range(ROUNDS) for q in queries]

    def one(question: str) -> float:
        with httpx.Client() as client:
            return _ask(client, url, question, mode)[0]

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        concurrent = list(pool.map(one, work))
    wall = time.perf_counter() - started
    return {
        "sequential": summarize_ms(sequential),
        "server": summarize_ms(server),
        "concurrent": summarize_ms(concurrent),
        "throughput_rps": len(work) / wall,
    }


def run_with_workers(queries: list[dict], workers: int, mode: str = "hybrid") -> dict:
    """Start ``aie serve --workers N``, replay the golden queries (sequential and concurrent), stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_service(port, workers)
    try:
        wait_ready(url, proc)
        _warm_every_worker(url, queries, mode)
        return run_mode(url, queries, mode)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def _warm_every_worker(url: str, queries: list[dict], mode: str) -> None:
    """Concurrent untimed passes on fresh connections, so every worker has built its index and loaded its model."""
    import httpx

    def one(question: str) -> None:
        httpx.post(f"{url}/v1/ask", json={"question": question, "retrieval": mode}, timeout=300)

    with ThreadPoolExecutor(CLIENTS) as pool:
        for _ in range(2):
            list(pool.map(one, [q["question"] for q in queries]))


def _adversarial_inputs(size: int) -> dict[str, str]:
    from pydoc_data.topics import topics

    prose = "\n\n".join(topics.values())
    links = "See [a](https://docs.python.org/3/) and [b](https://github.com/x) and ![c](https://evil.example/c.png) now.\n\n"
    return {
        "python reference (prose)": (prose * (size // len(prose) + 1))[:size],
        "link-dense Markdown": (links * (size // len(links) + 1))[:size],
        "newline run": "\n" * size,
        "[a]( then spaces": "[a](" + " " * (size - 4),
        "![ openers": "![" * (size // 2 - 2) + "](x)",
        "<a tag openers": "<a " * (size // 3),
    }


def guard_throughput(size: int = 1_000_000) -> list[tuple[str, str, float]]:
    """(guard, input, MB/s) of every guard on 1 MB inputs: ordinary text and the adversarial shapes."""
    from capstone.guard.injection import screen
    from capstone.guard.links import clean
    from capstone.guard.output import leaks_canary

    guards = {
        "injection screen (question)": lambda t: screen(t),
        "injection screen (document)": lambda t: screen(t, deep=False),
        "canary check": lambda t: leaks_canary(t, "CANARY-5b1e0c7d9a24"),
        "links + HTML (markdown-it, nh3)": lambda t: clean(t, ["docs.python.org", "github.com"]),
    }
    rows = []
    for input_name, text in _adversarial_inputs(size).items():
        for guard_name, guard in guards.items():
            started = time.perf_counter()
            guard(text)
            rows.append((guard_name, input_name, len(text) / 1e6 / (time.perf_counter() - started)))
    return rows


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
        print(
            f"{len(queries)} golden queries x {ROUNDS} rounds; concurrent = {CLIENTS} clients; {os.cpu_count()} CPU cores"
        )
        results = {mode: run_mode(url, queries, mode) for mode in MODES}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    quality = retrieval_quality()
    header = f"{'mode':<8} {'load':<13} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    print(header)
    print("-" * len(header))
    for mode, r in results.items():
        for load in ("sequential", "concurrent"):
            s = r[load]
            label = load if load == "sequential" else f"{CLIENTS} clients"
            print(f"{mode:<8} {label:<13} {s['p50']:>8.1f} {s['p95']:>8.1f} {s['p99']:>8.1f}")
    for mode, r in results.items():
        print(
            f"{mode}: server-side p50 {r['server']['p50']:.1f} ms, p95 {r['server']['p95']:.1f} ms; "
            f"{r['throughput_rps']:.1f} requests/s with {CLIENTS} clients"
        )
    print("retrieval on the held-out golden queries (weights chosen on the dev half):")
    for mode, m in quality.items():
        print(f"  {mode:<8} recall@5 {m['recall@5']:.3f}  MRR@10 {m['mrr@10']:.3f}")
    p95 = results["hybrid"]["sequential"]["p95"]
    print(
        f"hybrid sequential p95 = {p95:.1f} ms: {'under' if p95 < 300 else 'over'} the 300 ms goal, "
        f"{'under' if p95 < 3000 else 'over'} the roadmap's 3 s"
    )
    by_workers = {1: results["hybrid"], 2: run_with_workers(queries, 2)}
    print(f"\nhybrid by worker processes ({os.cpu_count()} CPU cores):")
    print(f"{'workers':<8} {'load':<13} {'p50 ms':>8} {'p95 ms':>8} {'requests/s':>11}")
    for workers, r in by_workers.items():
        for load in ("sequential", "concurrent"):
            label = load if load == "sequential" else f"{CLIENTS} clients"
            rps = f"{r['throughput_rps']:>11.1f}" if load == "concurrent" else f"{'':>11}"
            print(f"{workers:<8} {label:<13} {r[load]['p50']:>8.1f} {r[load]['p95']:>8.1f} {rps}")
    p95_two = by_workers[2]["concurrent"]["p95"]
    print(
        f"p95 at {CLIENTS} clients with 2 workers = {p95_two:.1f} ms ({'under' if p95_two <= 100 else 'over'} the 100 ms goal)"
    )
    print("\nguards on 1 MB inputs (MB/s, one thread):")
    for guard, input_name, rate in guard_throughput():
        print(f"  {guard:<32} {input_name:<26} {rate:>8.2f}")


if __name__ == "__main__":
    main()
