"""Model-layer benchmark: offline completion latency and embedding throughput.

Run with ``python -m benchmarks`` (all benchmarks) or ``python -c "from benchmarks.llm_bench
import main; main()"``; ``HF_HUB_OFFLINE=1`` must be set before Python starts.

* **Offline completion latency** -- p50/p95 of ``get_model("offline").complete`` over 50
  prompts, each a question with 5 numbered passages from the Python language reference shipped
  with CPython (``pydoc_data.topics``). "cold" clears the sentence-embedding cache before every
  call (passages never seen before); "warm" repeats the same prompts (passages cached, as when
  the capstone retrieves chunks it retrieved before). The embedding model is loaded first and
  not timed.
* **Embedding throughput** -- texts per second of :func:`curriculum.embeddings.embed` at batch
  sizes 1, 32 and 256, on sentences from the same reference.
"""

from __future__ import annotations

import re
import statistics
import time

PROMPTS = 50
PASSAGES_PER_PROMPT = 5
PASSAGE_CHARS = 600
BATCH_SIZES = (1, 32, 256)
THROUGHPUT_TEXTS = {1: 64, 32: 512, 256: 1024}


def reference_passages() -> dict[str, str]:
    """Topic -> its first prose paragraphs (grammar and code blocks dropped), about 600 characters."""
    from pydoc_data.topics import topics

    passages = {}
    for name, text in sorted(topics.items()):
        prose = []
        for paragraph in re.split(r"\n\s*\n", text):
            lines = paragraph.splitlines()
            heading = len(lines) >= 2 and set(lines[1].strip()) <= set("*=-")
            if heading or paragraph.startswith((" ", "\t")) or "::=" in paragraph:
                continue
            prose.append(" ".join(paragraph.split()))
            if sum(map(len, prose)) >= PASSAGE_CHARS:
                break
        body = " ".join(prose)[: PASSAGE_CHARS * 2]
        if len(body) > 200:
            passages[name] = body
    return passages


def build_prompts(passages: dict[str, str]) -> list[list[dict[str, str]]]:
    names = list(passages)
    prompts = []
    for i in range(PROMPTS):
        target = names[(i * 7) % len(names)]
        others = [names[(i * 7 + 13 * k) % len(names)] for k in range(1, 10)]
        chosen = [target] + [n for n in dict.fromkeys(others) if n != target][: PASSAGES_PER_PROMPT - 1]
        order = chosen[i % PASSAGES_PER_PROMPT :] + chosen[: i % PASSAGES_PER_PROMPT]
        lines = [f"[{j}] (source: python-reference/{n}) {passages[n]}" for j, n in enumerate(order, 1)]
        question = f"What does the Python reference say about {target.replace('-', ' ')}?"
        prompts.append([{"role": "user", "content": "\n".join(lines) + f"\n\nQuestion: {question}"}])
    return prompts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def offline_latency() -> list[tuple[str, float, float, float]]:
    from curriculum.llm import get_model, offline

    model = get_model("offline")
    prompts = build_prompts(reference_passages())
    model.complete(prompts[0])  # loads the embedder; not timed
    rows = []
    for label, clear in (("cold", True), ("warm", False)):
        if not clear:
            for prompt in prompts:  # fill the cache with every prompt's sentences; not timed
                model.complete(prompt)
        times = []
        for prompt in prompts:
            if clear:
                offline._cache.clear()
            start = time.perf_counter()
            model.complete(prompt)
            times.append((time.perf_counter() - start) * 1000)
        rows.append((label, percentile(times, 50), percentile(times, 95), statistics.mean(times)))
    return rows


def embedding_throughput() -> list[tuple[int, int, float]]:
    from curriculum.embeddings import embed
    from curriculum.llm.text import split_sentences

    sentences = [s for text in reference_passages().values() for s in split_sentences(text) if len(s.split()) >= 4]
    embed(sentences[:8])  # warm-up
    rows = []
    for batch_size in BATCH_SIZES:
        n = THROUGHPUT_TEXTS[batch_size]
        texts = (sentences * (n // len(sentences) + 1))[:n]
        start = time.perf_counter()
        embed(texts, batch_size=batch_size, progress=False)
        rows.append((batch_size, n, n / (time.perf_counter() - start)))
    return rows


def main() -> None:
    """Print offline completion latency percentiles and embedding throughput."""
    import os

    import torch

    from curriculum.embeddings import embedding_model

    embedding_model()  # loaded (and AIE_TORCH_THREADS applied) before anything is timed
    print("== curriculum.llm: offline reference model ==")
    print(
        f"torch threads: {torch.get_num_threads()}, CPUs: {os.cpu_count()}, "
        f"load average (1 min) at start: {os.getloadavg()[0]:.1f}"
    )
    print(f"{PROMPTS} prompts x {PASSAGES_PER_PROMPT} passages (pydoc_data.topics), latency in ms")
    print(f"{'cache':<6} {'p50':>8} {'p95':>8} {'mean':>8}")
    for label, p50, p95, mean in offline_latency():
        print(f"{label:<6} {p50:8.1f} {p95:8.1f} {mean:8.1f}")
    print("== curriculum.embeddings: all-MiniLM-L6-v2 throughput ==")
    print(f"{'batch':>6} {'texts':>6} {'texts/s':>9}")
    for batch_size, n, rate in embedding_throughput():
        print(f"{batch_size:>6} {n:>6} {rate:9.1f}")


if __name__ == "__main__":
    main()
