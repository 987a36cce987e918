"""The eval suite: hand-written cases scored on retrieval (ranx) and on answers, gated by thresholds and a baseline.

Cases live in ``data/capstone/eval_cases.jsonl``, one JSON object per line::

    {"id": "assert", "kind": "fact", "question": "What does the assert statement do?",
     "sources": ["python-reference/assert"], "related": [], "facts": ["debugging assertions"]}

``kind`` is ``fact``, ``multi_hop`` (two or more sources needed), ``wiki``, ``tool`` (the agent must
use a tool) or ``out_of_scope`` (the service must abstain). ``sources`` are the documents that
answer the question (relevance 2), ``related`` ones that help (relevance 1); ``facts`` must all
appear in the answer (case and whitespace ignored).

Scores
------
* retrieval, per stage (``bm25``, ``dense``, ``fused``, ``reranked``), on the cases with sources:
  recall@5 and MRR against ``sources``, nDCG@10 against ``sources`` + ``related``; documents are
  ranked by the first position of any of their chunks. Computed with ``ranx``.
* answers: citation validity (every marker resolves to a quote found in its chunk), marker
  coverage (every claim carries a marker), fact recall, abstention accuracy (abstain exactly on
  ``out_of_scope``), false refusals (benign cases stopped by the injection guard), faithfulness
  (the share of the sentences the model wrote that held against the passage they cite, before the
  unsupported ones were dropped), and the server-side latency p50/p95 (reported, not gated).

:func:`gate` checks :data:`THRESHOLDS` and compares with the committed baseline
(``data/capstone/eval_baseline.json``): a metric more than ``margin`` below its baseline fails the
run, naming the cases that got worse.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from capstone.agent.citations import check_citations
from capstone.evals.retrieval import plain_ranx, ranked_sources
from capstone.rag.chunking import normalize_ws
from curriculum.paths import DATA_DIR

__all__ = [
    "CASES_PATH",
    "BASELINE_PATH",
    "THRESHOLDS",
    "MARGIN",
    "EvalCase",
    "CaseResult",
    "EvalReport",
    "load_cases",
    "run_suite",
    "gate",
    "save_baseline",
    "load_baseline",
    "report_json",
]

CASES_PATH = DATA_DIR / "capstone" / "eval_cases.jsonl"
BASELINE_PATH = DATA_DIR / "capstone" / "eval_baseline.json"
KINDS = ("fact", "multi_hop", "wiki", "tool", "out_of_scope")
STAGES = ("bm25", "dense", "fused", "reranked")
#: Floors every run must reach (the baseline gate comes on top).
THRESHOLDS = {
    "retrieval.reranked.recall@5": 0.80,
    "retrieval.reranked.mrr": 0.60,
    "retrieval.reranked.ndcg@10": 0.60,
    "answers.citation_validity": 1.0,
    "answers.marker_coverage": 1.0,
    "answers.fact_recall": 0.60,
    "answers.abstention_accuracy": 0.85,
    "answers.false_refusal_rate_max": 0.0,
}
#: Allowed drop below the baseline before the gate fails.
MARGIN = 0.05


@dataclass(frozen=True)
class EvalCase:
    id: str
    kind: str
    question: str
    sources: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.kind != "out_of_scope"


def load_cases(path: Path = CASES_PATH) -> list[EvalCase]:
    """Read and check the cases file (unique ids, known kinds, sources where they belong)."""
    cases, problems = [], []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            case = EvalCase(**raw)
        except (json.JSONDecodeError, TypeError) as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if case.kind not in KINDS:
            problems.append(f"{case.id}: kind must be one of {KINDS}")
        if case.kind in ("fact", "multi_hop", "wiki") and not case.sources:
            problems.append(f"{case.id}: needs sources")
        if case.kind == "multi_hop" and len(case.sources) < 2:
            problems.append(f"{case.id}: a multi-hop case needs two or more sources")
        if case.kind == "out_of_scope" and (case.sources or case.facts):
            problems.append(f"{case.id}: an out-of-scope case has no sources or facts")
        cases.append(case)
    ids = [c.id for c in cases]
    problems += [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return cases


@dataclass
class CaseResult:
    id: str
    kind: str
    answer: str
    abstained: bool
    refused: bool
    abstention_correct: bool
    citations_valid: bool | None
    marker_coverage: float | None
    facts_found: bool | None
    missing_facts: list[str]
    citation_problems: list[str]
    latency_ms: float
    cost_usd: float
    faithfulness: float | None = None  # kept / written sentences, when the model wrote any
    rankings: dict[str, list[str]] = field(default_factory=dict)  # stage -> ranked sources
    retrieval: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> metric -> score


@dataclass
class EvalReport:
    metrics: dict[str, float]
    cases: list[CaseResult]
    seconds: float

    def case(self, case_id: str) -> CaseResult:
        return next(c for c in self.cases if c.id == case_id)

    def table(self) -> str:
        """The metrics as aligned text lines."""
        width = max(len(k) for k in self.metrics)
        return "\n".join(f"{k:<{width}}  {v:.3f}" for k, v in sorted(self.metrics.items()))


_GROUP = re.compile(r"(?:\s*\[\d{1,3}\])+")


def marker_coverage(answer: str) -> float:
    """Share of the answer's claims (text ending in a marker group, plus any tail) that carry a marker."""
    pieces = _GROUP.split(answer)
    claims = [p for p in pieces[:-1] if re.search(r"\w", p)]
    tail = pieces[-1] if pieces else ""
    total = len(claims) + (1 if re.search(r"\w{2,}", tail) else 0)
    return len(claims) / total if total else 0.0


def _fact_in(fact: str, answer: str) -> bool:
    return normalize_ws(fact).lower() in normalize_ws(answer).lower()


def score_case(case: EvalCase, response: dict, chunk_text: dict[str, str]) -> CaseResult:
    """One case's answer scores from a /v1/ask response."""
    debug = response.get("debug") or {}
    retrieval = debug.get("retrieval") or {}
    rankings = {stage: ranked_sources([r["chunk_id"] for r in retrieval.get(stage, [])]) for stage in STAGES}
    if not rankings["reranked"]:
        rankings["reranked"] = rankings["fused"]
    answered = not response["abstained"]
    problems = check_citations(response["answer"], response["citations"], chunk_text) if answered else []
    missing = [f for f in case.facts if not _fact_in(f, response["answer"])] if case.answerable else []
    written = debug.get("draft_sentences") or 0
    dropped = response.get("dropped_sentences", 0)
    return CaseResult(
        id=case.id,
        kind=case.kind,
        answer=response["answer"],
        abstained=response["abstained"],
        refused=response["refused"],
        abstention_correct=response["abstained"] == (not case.answerable),
        citations_valid=(not problems) if answered else None,
        marker_coverage=marker_coverage(response["answer"]) if answered else None,
        facts_found=(not missing) if case.answerable and case.facts else None,
        missing_facts=missing,
        citation_problems=problems,
        latency_ms=response["latency_ms"],
        cost_usd=response["usage"]["cost_usd"],
        faithfulness=(written - dropped) / written if written else None,
        rankings=rankings,
    )


def _chunk_texts(assistant, response: dict, viewer) -> dict[str, str]:
    ids = [c["chunk_id"] for c in response["citations"]]
    texts = {c.id: c.text for c in assistant.store.get_chunks([i for i in ids if not i.startswith("tool:")], viewer)}
    for item in (response.get("debug") or {}).get("evidence", []):
        if item.get("kind") == "tool":
            texts[item["chunk_id"]] = item.get("text", "")
    return texts


def run_suite(assistant, cases: list[EvalCase] | None = None, *, mode: str | None = None, user=None) -> EvalReport:
    """Ask every case through ``assistant.ask`` and score retrieval and answers."""
    cases = cases if cases is not None else load_cases()
    started = time.perf_counter()
    results = []
    for case in cases:
        response = assistant.ask(case.question, user=user, mode=mode, debug=True)
        results.append(score_case(case, response, _chunk_texts(assistant, response, user.id if user else None)))
    metrics = _aggregate(cases, results)
    return EvalReport(metrics, results, time.perf_counter() - started)


def _aggregate(cases: list[EvalCase], results: list[CaseResult]) -> dict[str, float]:
    with plain_ranx() as ranx:
        metrics = _retrieval_metrics(ranx, cases, results)
    by_id = {c.id: c for c in cases}
    return _answer_metrics(by_id, results, metrics)


def _retrieval_metrics(ranx, cases: list[EvalCase], results: list[CaseResult]) -> dict[str, float]:
    by_id = {c.id: c for c in cases}
    scored = [r for r in results if by_id[r.id].sources]
    metrics: dict[str, float] = {}
    if scored:
        qrels = ranx.Qrels({r.id: {s: 1 for s in by_id[r.id].sources} for r in scored})
        graded = ranx.Qrels(
            {r.id: {**{s: 1 for s in by_id[r.id].related}, **{s: 2 for s in by_id[r.id].sources}} for r in scored}
        )
        for stage in STAGES:
            run_dict = {
                r.id: {s: 1.0 / (i + 1) for i, s in enumerate(r.rankings[stage])} or {"(none)": 0.0} for r in scored
            }
            run, graded_run = ranx.Run(run_dict), ranx.Run(run_dict)
            ranx.evaluate(qrels, run, ["recall@5", "mrr"], make_comparable=True)
            ranx.evaluate(graded, graded_run, ["ndcg@10"], make_comparable=True)
            for name, per_query in (
                ("recall@5", run.scores["recall@5"]),
                ("mrr", run.scores["mrr"]),
                ("ndcg@10", graded_run.scores["ndcg@10"]),
            ):
                values_by_id = {q: float(v) for q, v in per_query.items()}
                for r in scored:
                    r.retrieval.setdefault(stage, {})[name] = values_by_id.get(r.id, 0.0)
                metrics[f"retrieval.{stage}.{name}"] = sum(values_by_id.values()) / len(values_by_id)
    return metrics


def _answer_metrics(
    by_id: dict[str, EvalCase], results: list[CaseResult], metrics: dict[str, float]
) -> dict[str, float]:
    answered = [r for r in results if r.citations_valid is not None]
    with_facts = [r for r in results if r.facts_found is not None]
    benign = [r for r in results if by_id[r.id].answerable]
    metrics["answers.citation_validity"] = (
        sum(bool(r.citations_valid) for r in answered) / len(answered) if answered else 0.0
    )
    metrics["answers.marker_coverage"] = (
        sum(r.marker_coverage or 0.0 for r in answered) / len(answered) if answered else 0.0
    )
    metrics["answers.fact_recall"] = (
        sum(bool(r.facts_found) for r in with_facts) / len(with_facts) if with_facts else 0.0
    )
    metrics["answers.abstention_accuracy"] = sum(r.abstention_correct for r in results) / len(results)
    metrics["answers.false_refusal_rate"] = sum(r.refused for r in benign) / len(benign) if benign else 0.0
    metrics["answers.answerable_abstained_rate"] = sum(r.abstained for r in benign) / len(benign) if benign else 0.0
    written = [r.faithfulness for r in results if r.faithfulness is not None]
    metrics["answers.faithfulness"] = sum(written) / len(written) if written else 0.0
    metrics["latency.p50_ms"] = _percentile([r.latency_ms for r in results], 50)
    metrics["latency.p95_ms"] = _percentile([r.latency_ms for r in results], 95)
    metrics["cases"] = float(len(results))
    return metrics


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else 0.0


# -- gate -----------------------------------------------------------------------------------------

_NOT_GATED = {  # lower is better, counts, or timings
    "cases",
    "answers.false_refusal_rate",
    "answers.answerable_abstained_rate",
    "latency.p50_ms",
    "latency.p95_ms",
}
_CASE_METRIC = {
    "retrieval.reranked.recall@5": "reranked.recall@5",
    "retrieval.reranked.mrr": "reranked.mrr",
    "retrieval.reranked.ndcg@10": "reranked.ndcg@10",
    "answers.fact_recall": "facts_found",
    "answers.citation_validity": "citations_valid",
    "answers.abstention_accuracy": "abstention_correct",
}


def _case_scores(result: CaseResult) -> dict[str, float]:
    out = {f"reranked.{k}": v for k, v in result.retrieval.get("reranked", {}).items()}
    out["abstention_correct"] = float(result.abstention_correct)
    if result.facts_found is not None:
        out["facts_found"] = float(result.facts_found)
    if result.citations_valid is not None:
        out["citations_valid"] = float(result.citations_valid)
    return out


def save_baseline(report: EvalReport, path: Path = BASELINE_PATH, margin: float = MARGIN) -> None:
    """Write the report as the new baseline (commit the file)."""
    data = {
        "note": "Written by `aie eval --update-baseline`; the eval gate fails when a metric drops more than `margin` below it.",
        "margin": margin,
        "metrics": {k: round(v, 4) for k, v in sorted(report.metrics.items()) if not k.startswith("latency.")},
        "cases": {r.id: {k: round(v, 4) for k, v in _case_scores(r).items()} for r in report.cases},
    }
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")


def load_baseline(path: Path = BASELINE_PATH) -> dict | None:
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def gate(report: EvalReport, baseline: dict | None, *, thresholds: dict[str, float] | None = None) -> list[str]:
    """Every reason the run fails: a threshold missed, or a drop beyond the margin (naming the cases)."""
    thresholds = THRESHOLDS if thresholds is None else thresholds
    failures = []
    for key, floor in thresholds.items():
        if key.endswith("_max"):
            name = key.removesuffix("_max")
            if report.metrics.get(name, 0.0) > floor + 1e-9:
                failures.append(f"{name} = {report.metrics.get(name, 0.0):.3f} is above the maximum {floor:.3f}")
        elif report.metrics.get(key, 0.0) < floor - 1e-9:
            failures.append(f"{key} = {report.metrics.get(key, 0.0):.3f} is below the threshold {floor:.3f}")
    if baseline:
        margin = float(baseline.get("margin", MARGIN))
        for key, before in baseline.get("metrics", {}).items():
            now = report.metrics.get(key)
            if now is None or key in _NOT_GATED:
                continue
            if now < before - margin:
                tracked = _CASE_METRIC.get(key)
                worse = []
                for result in report.cases:
                    old = baseline.get("cases", {}).get(result.id, {})
                    for name, value in _case_scores(result).items():
                        if (tracked is None or name == tracked) and name in old and value < old[name] - 1e-9:
                            worse.append(f"{result.id} ({name} {old[name]:.2f} -> {value:.2f})")
                failures.append(
                    f"{key} dropped from {before:.3f} to {now:.3f} (margin {margin:.2f}); cases that got worse: "
                    + (", ".join(worse) if worse else "none individually (a spread-out drop)")
                )
    return failures


def report_json(report: EvalReport) -> dict:
    return {"metrics": report.metrics, "seconds": report.seconds, "cases": [asdict(c) for c in report.cases]}
