"""The eval suite on several models side by side (``aie eval --models offline,local:smollm2``).

Each model answers every case through its own :class:`~capstone.service.Assistant` over the same
database and index, so only the model differs. :func:`side_by_side` prints the answer metrics that
tell a small generative model from the extractive reference: citation validity, expected-fact
recall, faithfulness, abstention accuracy and the server-side latency.
"""

from __future__ import annotations

from collections.abc import Sequence

from capstone.evals.suite import EvalCase, EvalReport, run_suite

__all__ = ["COLUMNS", "run_models", "side_by_side", "parse_models"]

#: (metric key, label, format) of the side-by-side table.
COLUMNS = (
    ("answers.citation_validity", "citation validity", "{:.3f}"),
    ("answers.fact_recall", "expected-fact recall", "{:.3f}"),
    ("answers.faithfulness", "faithfulness (sentences kept)", "{:.3f}"),
    ("answers.abstention_accuracy", "abstention accuracy", "{:.3f}"),
    ("answers.answerable_abstained_rate", "answerable but abstained", "{:.3f}"),
    ("latency.p50_ms", "latency p50 (ms)", "{:.0f}"),
    ("latency.p95_ms", "latency p95 (ms)", "{:.0f}"),
    ("cases", "cases", "{:.0f}"),
)


def parse_models(value: str) -> list[str]:
    """``"offline, local:smollm2"`` -> ``["offline", "local:smollm2"]`` (a clear error for an empty list)."""
    specs = [part.strip() for part in value.split(",") if part.strip()]
    if not specs:
        raise ValueError(f"--models needs one or more model specs separated by commas (got {value!r})")
    return list(dict.fromkeys(specs))


def run_models(
    assistant, specs: Sequence[str], cases: list[EvalCase] | None = None, *, mode: str | None = None
) -> dict[str, EvalReport]:
    """The suite's report for each model spec, every one over ``assistant``'s database and index."""
    from capstone.service import Assistant
    from curriculum.llm import get_model

    reports: dict[str, EvalReport] = {}
    for spec in specs:
        if spec == assistant.settings.model:
            reports[spec] = run_suite(assistant, cases, mode=mode)
            continue
        settings = assistant.settings.model_copy(update={"model": spec})
        other = Assistant(settings, assistant.db, assistant.store, model=get_model(spec), embed=assistant.embed)
        try:
            reports[spec] = run_suite(other, cases, mode=mode)
        finally:
            other.alerter.close()  # the database and the store belong to ``assistant``
    return reports


def side_by_side(reports: dict[str, EvalReport]) -> str:
    """The :data:`COLUMNS` metrics of each model as an aligned text table (one column per model)."""
    labels = [label for _, label, _ in COLUMNS]
    width = max(len(label) for label in labels)
    cells = {
        spec: [fmt.format(report.metrics.get(key, float("nan"))) for key, _, fmt in COLUMNS]
        for spec, report in reports.items()
    }
    widths = {spec: max(len(spec), *(len(c) for c in column)) for spec, column in cells.items()}
    lines = [f"{'':<{width}}  " + "  ".join(f"{spec:>{widths[spec]}}" for spec in reports)]
    for row, label in enumerate(labels):
        lines.append(f"{label:<{width}}  " + "  ".join(f"{cells[spec][row]:>{widths[spec]}}" for spec in reports))
    return "\n".join(lines)
