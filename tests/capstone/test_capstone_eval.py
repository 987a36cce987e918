"""Criteria 1 and 3: the eval suite (>= 50 hand-written cases) passes its thresholds and the committed
baseline, and every answer's inline citations resolve to quotes found in their chunks."""

from __future__ import annotations

import pytest

from capstone.evals.suite import BASELINE_PATH, THRESHOLDS, gate, load_baseline, load_cases, run_suite


@pytest.fixture(scope="module")
def report(assistant):
    return run_suite(assistant, load_cases())


def test_cases_file_is_complete():
    cases = load_cases()
    kinds = [c.kind for c in cases]
    assert len(cases) >= 50
    assert kinds.count("out_of_scope") >= 10
    assert kinds.count("multi_hop") >= 5 and all(len(c.sources) >= 2 for c in cases if c.kind == "multi_hop")


def test_eval_gate_thresholds_and_baseline(report):
    print("\n" + report.table())
    baseline = load_baseline()
    assert baseline is not None, f"no baseline at {BASELINE_PATH}: run `aie eval --update-baseline` and commit it"
    failures = gate(report, baseline)
    assert not failures, "\n".join(failures)


def test_every_answer_cites_valid_chunks(report):
    answered = [c for c in report.cases if not c.abstained]
    assert len(answered) >= 40
    bad = {c.id: c.citation_problems for c in answered if not c.citations_valid}
    assert not bad, bad
    assert all(c.marker_coverage == 1.0 for c in answered), [c.id for c in answered if c.marker_coverage != 1.0]


def test_no_benign_question_is_refused_by_the_guard(report):
    assert report.metrics["answers.false_refusal_rate"] == 0.0
    assert THRESHOLDS["answers.false_refusal_rate_max"] == 0.0


def test_gate_names_the_cases_that_regressed(report):
    baseline = {"margin": 0.05, "metrics": dict(report.metrics), "cases": {}}
    worse = report.cases[0]
    baseline["cases"][worse.id] = {"abstention_correct": 1.0}
    baseline["metrics"]["answers.abstention_accuracy"] = report.metrics["answers.abstention_accuracy"] + 0.2
    original, worse.abstention_correct = worse.abstention_correct, False
    try:
        failures = gate(report, baseline, thresholds={})
    finally:
        worse.abstention_correct = original
    assert any("abstention_accuracy dropped" in f and worse.id in f for f in failures), failures
