"""``aie check``: run a learner's notebook with its visible tests and report each graded cell.

The notebook is executed from a temporary copy, so the learner's file is never modified;
the working directory is the notebook's own folder, as it is in JupyterLab.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograder.course import CourseError, cell_timeout_from_env
from autograder.notebooks import graded_cells, read_notebook
from curriculum.roadmap import Roadmap, load_roadmap

KERNEL_NAME = "aie"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class CellResult:
    grade_id: str
    kind: str  # "test" | "manual"
    points: float
    score: float | None
    status: str  # passed | failed | timeout | manual
    message: str = ""


@dataclass
class CheckReport:
    notebook: str
    roadmap_items: list[str]
    cells: list[CellResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(c.score or 0 for c in self.cells if c.kind == "test")

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells if c.kind == "test")

    @property
    def passed(self) -> bool:
        return all(c.status == "passed" for c in self.cells if c.kind == "test")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(score=self.score, max_score=self.max_score, passed=self.passed)
        return d


def roadmap_notebook_for(path: Path, roadmap: Roadmap) -> str:
    """The roadmap notebook path (``<phase>/<file>``) that a learner's file corresponds to."""
    known = roadmap.notebook_paths()
    candidate = f"{path.parent.name}/{path.name}"
    if candidate in known:
        return candidate
    by_name = [p for p in known if p.split("/", 1)[1] == path.name]
    if len(by_name) == 1:
        return by_name[0]
    raise CourseError(f"{path}: not a notebook of the roadmap (expected one of: {', '.join(known)})")


def first_line_of_error(output: dict) -> str:
    """``"AssertionError: message"`` from an nbformat error output, without ANSI colours."""
    ename = output.get("ename", "Error")
    evalue = _ANSI.sub("", str(output.get("evalue", ""))).strip()
    line = evalue.splitlines()[0] if evalue else ""
    return f"{ename}: {line}" if line else ename


def results_from_executed(nb: nbformat.NotebookNode) -> list[CellResult]:
    """Score each graded cell of an executed notebook: a test cell passes when it raised nothing."""
    results = []
    for gc in graded_cells(nb):
        if gc.kind == "manual":
            results.append(CellResult(gc.grade_id, "manual", gc.points, None, "manual", "graded by your instructor"))
            continue
        cell = nb.cells[gc.index]
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        stderr = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
        if errors:
            msg = first_line_of_error(errors[0])
            status = "timeout" if errors[0].get("ename") == "CellTimeoutError" else "failed"
            results.append(CellResult(gc.grade_id, "test", gc.points, 0.0, status, msg))
        elif stderr:
            # nbgrader scores a test cell that writes to stderr (a warning, say) as failed; say so here too
            first = next((ln for ln in _ANSI.sub("", stderr[0].get("text", "")).splitlines() if ln.strip()), "")
            results.append(CellResult(gc.grade_id, "test", gc.points, 0.0, "failed", f"wrote to stderr: {first.strip()}"))
        elif cell.get("execution_count") is None:
            results.append(CellResult(gc.grade_id, "test", gc.points, 0.0, "failed", "cell did not run"))
        else:
            results.append(CellResult(gc.grade_id, "test", gc.points, gc.points, "passed"))
    return results


def execute_notebook(nb: nbformat.NotebookNode, cwd: Path, timeout: int) -> nbformat.NotebookNode:
    """Run every cell with the project kernel; errors are recorded in outputs, never raised."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"cell ran longer than {timeout} s", "traceback": []},
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


def check_notebook(path: Path | str, timeout: int | None = None, roadmap: Roadmap | None = None) -> CheckReport:
    """Validate, execute and score a learner's notebook. Raises :class:`CourseError` on bad input."""
    path = Path(path)
    nb = read_notebook(path)
    roadmap = roadmap or load_roadmap()
    nb_path = roadmap_notebook_for(path, roadmap)
    if not graded_cells(nb):
        raise CourseError(f"{path}: has no graded cells (is it the released notebook?)")
    timeout = timeout or cell_timeout_from_env()
    started = time.perf_counter()
    executed = execute_notebook(nb, path.resolve().parent, timeout)
    report = CheckReport(
        notebook=str(path),
        roadmap_items=[i.id for i in roadmap.items_for_notebook(nb_path)],
        cells=results_from_executed(executed),
    )
    report.seconds = round(time.perf_counter() - started, 2)
    return report
