"""From an executor run to scores: one rule for ``aie check`` and ``aie grade``.

:func:`apply_run` writes the executor's per-cell results into a copy of the notebook and, when the kernel
died or the run was stopped, gives every later test cell an error that says where it died (so it scores 0)
and leaves later cells unrun. :func:`score_cells` then scores each graded cell with nbgrader's own rule
(``nbgrader.utils.determine_grade``: a test cell with an error or stderr output scores 0, one with a number as
its result gets that partial credit, otherwise full marks). Pure functions, no I/O.
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass

import nbformat

from autograder.plan import is_solution_cell, is_test_cell, nbgrader_meta

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
ENDINGS = {
    "wall-time": "the notebook ran past its wall-time limit and was stopped",
    "memory": "the notebook went over its memory limit and was stopped",
    "crashed": "the grader's executor stopped unexpectedly",
}


@dataclass
class CellResult:
    """The score of one graded cell and, for a test that did not pass, the first line of why."""

    grade_id: str
    kind: str  # "test" | "manual"
    points: float
    score: float | None
    status: str  # passed | partial | failed | timeout | not run | manual
    message: str = ""
    part: str = ""  # "visible" or "hidden": where a failing test failed

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunSummary:
    """How a notebook's run ended: ``died_at`` is the index of the cell where it stopped, if it did."""

    died_at: int | None = None
    reason: str = ""
    error: str = ""


def _label(nb: nbformat.NotebookNode, index: int) -> str:
    grade_id = nbgrader_meta(nb.cells[index]).get("grade_id")
    return f"cell {index + 1} ({grade_id})" if grade_id else f"cell {index + 1}"


def apply_run(nb: nbformat.NotebookNode, run: dict) -> tuple[nbformat.NotebookNode, RunSummary]:
    """The executed notebook: ``nb`` with the outputs of ``run`` (a :func:`autograder.sandbox.run_notebook` result)."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("aie", None)
    summary = RunSummary()
    last = -1
    for event in run.get("events", []):
        kind = event.get("event")
        index = event.get("index")
        if (
            kind == "cell"
            and isinstance(index, int)
            and 0 <= index < len(out.cells)
            and out.cells[index].cell_type == "code"
        ):
            cell = out.cells[index]
            cell.outputs = [nbformat.from_dict(o) for o in event.get("outputs", [])]
            cell.execution_count = event.get("execution_count")
            cell.metadata["aie"] = event.get("aie", {})
            last = max(last, index)
        elif kind == "died" and isinstance(index, int):
            summary.died_at, summary.reason = index, event.get("reason", "the kernel died")
        elif kind == "error":
            summary.error = event.get("reason", "the executor failed")
    if summary.died_at is None and not any(e.get("event") == "done" for e in run.get("events", [])):
        following = [i for i, c in enumerate(out.cells) if c.cell_type == "code" and c.source.strip() and i > last]
        summary.died_at = following[0] if following else None
        summary.reason = summary.error or ENDINGS.get(run.get("ended", ""), "the notebook did not finish")
        if summary.died_at is None:
            summary.died_at = len(out.cells)
    if summary.died_at is not None:
        where = _label(out, summary.died_at) if summary.died_at < len(out.cells) else "the end"
        for index in range(summary.died_at, len(out.cells)):
            cell = out.cells[index]
            if not is_test_cell(cell) or cell.outputs:
                continue
            here = index == summary.died_at
            evalue = f"{summary.reason} while this test ran" if here else f"not run: {summary.reason} at {where}"
            cell.outputs = [
                nbformat.v4.new_output(
                    "error", ename="KernelDied" if here else "NotRun", evalue=evalue, traceback=[evalue]
                )
            ]
            cell.metadata["aie"] = {"status": "failed" if here else "not run", "message": evalue}
        if summary.died_at < len(out.cells):
            cell = out.cells[summary.died_at]
            if cell.cell_type == "code" and not is_test_cell(cell):
                cell.outputs.append(
                    nbformat.v4.new_output(
                        "error", ename="KernelDied", evalue=summary.reason, traceback=[f"KernelDied: {summary.reason}"]
                    )
                )
    return out, summary


def first_line_of_error(output: dict) -> str:
    """``"AssertionError: message"`` from an nbformat error output, without ANSI colours."""
    ename = output.get("ename", "Error")
    evalue = _ANSI.sub("", str(output.get("evalue", ""))).strip()
    line = evalue.splitlines()[0] if evalue else ""
    return f"{ename}: {line}" if line else ename


def _part(cell, info: dict, hidden_from: int | None) -> str:
    if hidden_from is None or info.get("lineno") is None:
        return "visible" if hidden_from is None else ""
    return "hidden" if info["lineno"] >= hidden_from else "visible"


def score_cells(nb: nbformat.NotebookNode, hidden_from: dict[int, int | None] | None = None) -> list[CellResult]:
    """Score every graded cell of an executed notebook with nbgrader's rule."""
    from nbgrader.utils import determine_grade

    hidden_from = hidden_from or {}
    results = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        grade_id, points = meta.get("grade_id", f"cell-{index}"), float(meta.get("points", 0))
        if is_solution_cell(cell):
            score, _ = determine_grade(cell)
            results.append(
                CellResult(
                    grade_id,
                    "manual",
                    points,
                    score,
                    "manual",
                    "no answer written" if score == 0 else "graded by your instructor",
                )
            )
            continue
        score, _ = determine_grade(cell)
        info = cell.metadata.get("aie", {})
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        stderr = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
        if cell.execution_count is None and not errors:
            status, message, score = "not run", "cell did not run", 0.0
        elif score == points:
            status, message = "passed", ""
        elif score and score > 0:
            status, message = "partial", f"partial credit: {score:g} of {points:g}"
        else:
            status = info.get("status") if info.get("status") in ("timeout", "not run") else "failed"
            message = info.get("message") or (first_line_of_error(errors[0]) if errors else "")
            if not message and stderr:  # nbgrader fails a test cell that writes to stderr (a warning, say)
                first = next((ln for ln in _ANSI.sub("", stderr[0].get("text", "")).splitlines() if ln.strip()), "")
                message = f"wrote to stderr: {first.strip()}"
        part = _part(cell, info, hidden_from.get(index)) if status == "failed" else ""
        results.append(CellResult(grade_id, "test", points, float(score or 0.0), status, message, part))
    return results
