"""``aie check``: run a learner's notebook with its visible tests and report each graded cell.

It grades through the same steps as ``aie grade``: the same executor and kernel guard (``executor.py``), the
same scoring rule (``scoring.score_cells``, nbgrader's ``determine_grade``). What differs is only what a
learner's machine has: no sandbox (it is the learner's own code), no gradebook, and no hidden tests. The
test cells that run are the ones in the learner's file, which came from the release; a test cell that no
longer matches the checksum the release gave it is named in the report (grading runs the released one).
``aie check`` reads nothing but the learner's notebook and the roadmap: never a source notebook. The hints it
gives for failed visible tests travel in the released test cells' metadata (``hints.py``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograder.course import CourseError, cell_timeout_from_env
from autograder.hints import cell_hint
from autograder.limits import Limits
from autograder.notebooks import graded_cells, read_notebook
from autograder.plan import build_plan, is_test_cell, make_job, nbgrader_meta
from autograder.sandbox import run_notebook
from autograder.scoring import CellResult, apply_run, score_cells
from curriculum.roadmap import Roadmap, load_roadmap

__all__ = [
    "CellResult",
    "CheckReport",
    "check_job",
    "check_notebook",
    "edited_test_cells",
    "failed_test_hints",
    "roadmap_notebook_for",
]

# a test that ran and did not earn full marks; "not run" (an earlier cell stopped the kernel) gets no hint
HINTED_STATUSES = ("failed", "partial", "timeout")


@dataclass
class CheckReport:
    notebook: str
    roadmap_items: list[str]
    roadmap_notebook: str = ""
    cells: list[CellResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hints: dict[str, str] = field(default_factory=dict)  # grade id -> author hint, for failed visible tests
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


def edited_test_cells(nb: nbformat.NotebookNode) -> list[str]:
    """Grade ids of test cells whose source no longer matches the checksum the release recorded."""
    from nbgrader.utils import compute_checksum

    return [
        nbgrader_meta(c).get("grade_id", "?")
        for c in nb.cells
        if is_test_cell(c) and nbgrader_meta(c).get("checksum") and nbgrader_meta(c)["checksum"] != compute_checksum(c)
    ]


def failed_test_hints(nb: nbformat.NotebookNode, cells: list[CellResult]) -> dict[str, str]:
    """The author hint of each visible test that failed, by grade id (cells without a hint are left out)."""
    by_id = {nbgrader_meta(c).get("grade_id"): cell_hint(c) for c in nb.cells if is_test_cell(c)}
    return {
        c.grade_id: by_id[c.grade_id]
        for c in cells
        if c.kind == "test" and c.status in HINTED_STATUSES and c.part != "hidden" and by_id.get(c.grade_id)
    }


def check_job(nb: nbformat.NotebookNode, timeout: int) -> tuple[dict, dict]:
    """The executor job for a learner's notebook (their file is its own release) and the hidden-line map."""
    clean = nbformat.from_dict(nb)
    for cell in clean.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    plan = build_plan(clean, clean)
    return make_job(clean, plan, timeout), plan.hidden_from


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
    job, hidden_from = check_job(nb, timeout)
    # the learner's own code on their own machine: a time limit, no memory or process caps
    limits = Limits(memory_mb=None, processes=None, file_mb=None, wall_seconds=max(1800, 4 * timeout))
    run = run_notebook(job, limits, sandbox=False)
    executed, summary = apply_run(nbformat.from_dict(job["notebook"]), run)
    report = CheckReport(
        notebook=str(path),
        roadmap_items=[i.id for i in roadmap.items_for_notebook(nb_path)],
        roadmap_notebook=nb_path,
        cells=score_cells(executed, hidden_from),
    )
    report.hints = failed_test_hints(nb, report.cells)
    report.notes = [f"test cell {g} was edited; grading runs the released version" for g in edited_test_cells(nb)]
    if summary.error:
        raise CourseError(f"{path}: could not be run ({summary.error})")
    if summary.died_at is not None and summary.died_at < len(executed.cells):
        report.notes.append(f"{summary.reason} at cell {summary.died_at + 1}; later cells scored 0")
    report.seconds = round(time.perf_counter() - started, 2)
    return report
