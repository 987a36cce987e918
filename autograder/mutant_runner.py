"""Running mutants: one ``aie`` kernel per notebook (strategy "resume") or per mutant ("fresh").

The file format, the results and the command line live in :mod:`autograder.mutants`; this module only executes
cells with nbclient in the notebook's own folder and scores test cells by nbgrader's rule.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import nbformat

from autograder.mutants import (
    DEFAULT_TIMEOUT,
    Mutant,
    MutantError,
    MutantResult,
    MutantSet,
    NotebookReport,
    load_mutants,
    mutate_source,
    mutated_notebook,
)
from autograder.notebooks import graded_cells, read_notebook
from curriculum.kernel import KERNEL_NAME


def cell_score(cell: nbformat.NotebookNode) -> tuple[float, float]:
    """(score, max) of an executed test cell, by nbgrader's rule (an error or stderr output scores 0)."""
    from nbgrader.utils import determine_grade

    score, top = determine_grade(cell)
    return float(score if score is not None else 0.0), float(top)


def first_error(cell: nbformat.NotebookNode) -> str:
    """A one-line reason why a cell lost points (its exception, or the first line it wrote to stderr)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip().splitlines()
            return f"{out.get('ename', 'Error')}: {value[0][:160]}" if value else out.get("ename", "Error")
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return "wrote to stderr: " + out.get("text", "").strip().splitlines()[0][:160]
    return ""


class KernelSession:
    """One ``aie`` kernel running the cells of one notebook in the notebook's folder."""

    def __init__(self, nb: nbformat.NotebookNode, cwd: Path, timeout: int) -> None:
        from nbclient import NotebookClient

        self.original = copy.deepcopy(nb)  # nbclient writes executed cells back into the notebook it runs
        self.client = NotebookClient(
            copy.deepcopy(nb),
            kernel_name=KERNEL_NAME,
            timeout=timeout,
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": "CellTimeoutError",
                "evalue": f"cell ran longer than {timeout} s",
                "traceback": [],
            },
            resources={"metadata": {"path": str(cwd)}},
        )
        self._context = None

    def __enter__(self) -> KernelSession:
        self._context = self.client.setup_kernel()
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)

    def run(self, index: int, source: str | None = None) -> nbformat.NotebookNode:
        """Execute cell ``index`` (optionally with other source); return the executed copy."""
        cell = copy.deepcopy(self.original.cells[index])
        if source is not None:
            cell.source = source
        if cell.cell_type != "code":
            return cell
        return self.client.execute_cell(cell, index, execution_count=self.client.code_cells_executed + 1)


def _test_ids(nb: nbformat.NotebookNode) -> dict[int, str]:
    return {g.index: g.grade_id for g in graded_cells(nb) if g.kind == "test"}


def _points(nb: nbformat.NotebookNode) -> dict[str, float]:
    return {g.grade_id: g.points for g in graded_cells(nb) if g.kind == "test"}


def _record(result: MutantResult, cell: nbformat.NotebookNode, grade_id: str) -> None:
    result.scores[grade_id] = cell_score(cell)
    if result.scores[grade_id][0] < result.scores[grade_id][1]:
        result.reasons[grade_id] = first_error(cell) or "partial credit"


def _killed_by_dead_kernel(result: MutantResult, points: dict[str, float]) -> None:
    """A mutant that kills the kernel loses the points of every target it had not been scored on yet."""
    for t in result.mutant.targets:
        if t not in result.scores:
            result.scores[t] = (0.0, points[t])
            result.reasons[t] = "the kernel died"


def _check_mutated_cell(cell: nbformat.NotebookNode, where: str) -> None:
    if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
        raise MutantError(
            f"{where}: the mutated cell itself fails ({first_error(cell)}); a mutant must be "
            "code that runs, so that the tests and not the cell catch it"
        )


def run_fresh(mutants: MutantSet, nb: nbformat.NotebookNode, mutant: Mutant, timeout: int) -> MutantResult:
    """Execute the whole mutated notebook in a new kernel and score every test cell after the mutant's cell."""
    from nbclient.exceptions import DeadKernelError

    start = time.perf_counter()
    s, _ = mutants.span(mutant)
    tests = _test_ids(nb)
    result = MutantResult(mutant, {}, {})
    mutated = mutated_notebook(mutants, nb, mutant)
    try:
        with KernelSession(mutated, mutants.notebook.resolve().parent, timeout) as session:
            for i in range(len(mutated.cells)):
                if i in mutants.skip:
                    continue
                cell = session.run(i)
                if i == s:
                    _check_mutated_cell(cell, f"{mutants.source}: mutant {mutant.id!r}")
                if i in tests and i > s:
                    _record(result, cell, tests[i])
    except DeadKernelError:
        _killed_by_dead_kernel(result, _points(nb))
    result.seconds = time.perf_counter() - start
    return result


class _Resumer:
    """The "resume" strategy: one executed kernel, each mutant swapped in and the affected cells re-run."""

    def __init__(self, mutants: MutantSet, nb: nbformat.NotebookNode, timeout: int) -> None:
        self.mutants, self.nb, self.timeout = mutants, nb, timeout
        self.tests = _test_ids(nb)
        self.last = max(mutants.span(m)[1] for m in mutants.mutants)
        self.session: KernelSession | None = None
        self.dirty: tuple[int, int] | None = None

    def _run_original(self, first: int, last: int, what: str) -> None:
        for i in range(first, last + 1):
            cell = self.session.run(i)
            if i in self.tests and cell_score(cell)[0] < cell_score(cell)[1]:
                raise MutantError(
                    f"{self.mutants.notebook}: {what}, the source notebook loses points on "
                    f"{self.tests[i]!r} ({first_error(cell)}); fix the notebook, or use "
                    "strategy = 'fresh' if its cells cannot be re-run"
                )

    def start(self) -> None:
        self.session = KernelSession(self.nb, self.mutants.notebook.resolve().parent, self.timeout).__enter__()
        self._run_original(0, self.last, "before any mutant")
        self.dirty = None

    def close(self, finish: bool = True) -> None:
        """Shut the kernel down; with ``finish``, first restore and run the notebook's remaining cells."""
        if self.session is None:
            return
        try:
            if finish and self.dirty:  # the notebook's own clean-up cells need a consistent state
                self._run_original(self.dirty[0], self.dirty[1], "restoring after the last mutant")
            for i in range(self.last + 1, len(self.nb.cells)) if finish else ():
                if i not in self.mutants.skip:
                    self.session.run(i)
        finally:
            self.session.__exit__(None, None, None)
            self.session = None

    def run(self, mutant: Mutant) -> MutantResult:
        from nbclient.exceptions import DeadKernelError

        start = time.perf_counter()
        s, e = self.mutants.span(mutant)
        if self.dirty and self.dirty[0] < s:
            self._run_original(self.dirty[0], self.dirty[1], f"restoring cells before mutant {mutant.id!r}")
            self.dirty = None
        result = MutantResult(mutant, {}, {})
        source = mutate_source(self.nb.cells[s].source, mutant)
        try:
            _check_mutated_cell(self.session.run(s, source), f"{self.mutants.source}: mutant {mutant.id!r}")
            self.dirty = (s, max(e, self.dirty[1] if self.dirty else e))
            for i in range(s + 1, e + 1):
                cell = self.session.run(i)
                if i in self.tests:
                    _record(result, cell, self.tests[i])
        except DeadKernelError:
            _killed_by_dead_kernel(result, _points(self.nb))
            self.close(finish=False)
            self.start()
        result.seconds = time.perf_counter() - start
        return result


def run_mutants(notebook: Path | str, only: list[str] | None = None, timeout: int = DEFAULT_TIMEOUT) -> NotebookReport:
    """Run a notebook's mutants (all, or the ids in ``only``) and report which ones its tests catch."""
    started = time.perf_counter()
    mutants = load_mutants(notebook)
    nb = read_notebook(mutants.notebook)
    chosen = [m for m in mutants.mutants if only is None or m.id in only]
    missing = set(only or []) - {m.id for m in chosen}
    if missing:
        raise MutantError(f"{mutants.source}: no mutant with id {sorted(missing)}")
    report = NotebookReport(mutants.notebook, mutants.strategy, _points(nb))
    if mutants.strategy == "fresh":
        report.results = [run_fresh(mutants, nb, m, timeout) for m in chosen]
    else:
        resumer = _Resumer(mutants, nb, timeout)
        try:
            resumer.start()
            for m in sorted(chosen, key=mutants.span):
                report.results.append(resumer.run(m))
        except BaseException:
            resumer.close(finish=False)
            raise
        resumer.close()
    report.seconds = time.perf_counter() - started
    return report
