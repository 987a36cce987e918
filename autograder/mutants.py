"""Mutation testing of graded exercises: recorded wrong solutions must lose points on the cells they target.

A *mutant* is a plausible learner mistake (an off-by-one, a missed edge case, the slow algorithm, a faked
measurement) kept as data beside the source notebooks, in ``<phase>/mutants/<notebook-stem>.toml``; those
folders are never released. Each mutant names the solution cell it rewrites (by nbgrader ``grade_id``), the new
code, and the test cells that must then lose points. Example entry::

    [[mutant]]
    id = "merge-by-resorting"
    cell = "merge_sorted"
    targets = ["test_merge_sorted"]
    description = "concatenates the lists and sorts again instead of walking both"
    code = '''
    return sorted(a + b)
    '''

``code`` replaces the text between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (re-indented to the markers);
alternatively ``[[mutant.edit]]`` tables with ``find`` / ``replace`` change a long solution in place. A cell with
several solution regions needs ``region = N`` (1-based). A top-level ``strategy`` says how mutants are run:

- ``"resume"`` (default): the source notebook runs once in one kernel, up to the last targeted test cell. For each
  mutant, in notebook order, its cell runs with the mutated code, then every later cell up to its last target.
  Before a mutant at a later cell, the original cells of the range changed so far run again, so earlier mutants
  leave nothing behind; at the end the notebook's remaining (clean-up) cells run. Cheap; the test suite
  checks on a sample that it scores like a full execution of the mutated notebook.
- ``"fresh"``: every mutant gets a new kernel and a full execution of the mutated notebook (for notebooks whose
  cells change the world outside the kernel: files, servers, package indexes).

Either way, cells tagged ``skip-when-graded`` are skipped, as the grader skips them (``autograder/plan.py``).

Scores come from nbgrader's own rule (``nbgrader.utils.determine_grade``); :mod:`autograder.mutant_runner` runs
the kernels. Run ``python -m autograder.mutants NOTEBOOK_OR_PHASE ...`` for a table; it exits with 1 when a mutant
survives. This module holds the file format, the results and the command line.
"""

from __future__ import annotations

import argparse
import copy
import sys
import textwrap
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.notebooks import graded_cells, read_notebook
from autograder.plan import skipped_cells

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STRATEGIES = ("resume", "fresh")
MUTANT_KEYS = {"id", "cell", "targets", "description", "code", "edit", "region"}
DEFAULT_TIMEOUT = 300


class MutantError(ValueError):
    """A mutants file or a run that cannot be trusted; the message names the file and the mutant."""


@dataclass(frozen=True)
class Mutant:
    """One recorded wrong solution (see the module docstring for the file format)."""

    id: str
    cell: str
    targets: tuple[str, ...]
    description: str
    code: str | None = None
    edits: tuple[tuple[str, str], ...] = ()
    region: int | None = None


@dataclass(frozen=True)
class MutantSet:
    """The mutants of one notebook, with the indices of the cells they touch."""

    notebook: Path
    source: Path
    strategy: str
    mutants: tuple[Mutant, ...]
    cell_index: dict[str, int]  # grade_id -> cell index, for every cell with a grade_id
    skip: frozenset[int] = frozenset()  # cells tagged skip-when-graded: never run, as in grading

    def span(self, mutant: Mutant) -> tuple[int, int]:
        """(index of the mutated cell, index of its last target cell)."""
        return self.cell_index[mutant.cell], max(self.cell_index[t] for t in mutant.targets)


def mutants_path(notebook: Path | str) -> Path:
    """Where the mutants of a notebook live: ``<phase>/mutants/<stem>.toml``."""
    notebook = Path(notebook)
    return notebook.parent / "mutants" / f"{notebook.stem}.toml"


def solution_regions(source: str) -> list[tuple[int, int, str]]:
    """(BEGIN line, END line, indentation) of each solution region of a cell's source, by line number."""
    regions, start = [], None
    for n, line in enumerate(source.split("\n")):
        if line.strip() == BEGIN:
            start = (n, line[: len(line) - len(line.lstrip())])
        elif line.strip() == END and start is not None:
            regions.append((start[0], n, start[1]))
            start = None
    return regions


def _parse_mutant(raw: object, where: str) -> Mutant:
    if not isinstance(raw, dict):
        raise MutantError(f"{where}: each [[mutant]] must be a table")
    unknown = set(raw) - MUTANT_KEYS
    if unknown:
        raise MutantError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(MUTANT_KEYS)})")
    for key in ("id", "cell", "description"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise MutantError(f"{where}: {key!r} must be a non-empty string")
    targets = raw.get("targets")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise MutantError(f"{where}: 'targets' must be a non-empty list of test cell grade_ids")
    edits = raw.get("edit", [])
    if ("code" in raw) == bool(edits):
        raise MutantError(f"{where}: give exactly one of 'code' or [[mutant.edit]] tables")
    if not isinstance(edits, list) or not all(
        isinstance(e, dict) and set(e) == {"find", "replace"} and all(isinstance(v, str) for v in e.values())
        for e in edits
    ):
        raise MutantError(f"{where}: each [[mutant.edit]] needs exactly the strings 'find' and 'replace'")
    if "code" in raw and not isinstance(raw["code"], str):
        raise MutantError(f"{where}: 'code' must be a string")
    region = raw.get("region")
    if region is not None and (not isinstance(region, int) or region < 1):
        raise MutantError(f"{where}: 'region' must be a positive whole number")
    return Mutant(
        raw["id"],
        raw["cell"],
        tuple(targets),
        raw["description"].strip(),
        raw.get("code"),
        tuple((e["find"], e["replace"]) for e in edits),
        region,
    )


def parse_mutants(text: str, nb: nbformat.NotebookNode, notebook: Path, source: Path) -> MutantSet:
    """Parse and check a mutants file against its notebook (pure: no file access)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MutantError(f"{source}: not valid TOML ({exc})") from None
    unknown = set(data) - {"strategy", "mutant"}
    if unknown:
        raise MutantError(f"{source}: unknown top-level keys {sorted(unknown)} (allowed: strategy, mutant)")
    strategy = data.get("strategy", "resume")
    if strategy not in STRATEGIES:
        raise MutantError(f"{source}: strategy must be one of {STRATEGIES}, got {strategy!r}")
    cell_index = {
        c.metadata["nbgrader"]["grade_id"]: i
        for i, c in enumerate(nb.cells)
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }
    tests = {g.grade_id for g in graded_cells(nb) if g.kind == "test"}
    mutants, seen = [], set()
    for n, raw in enumerate(data.get("mutant", []), start=1):
        m = _parse_mutant(raw, f"{source}: mutant #{n} ({raw.get('id', '?') if isinstance(raw, dict) else '?'})")
        where = f"{source}: mutant {m.id!r}"
        if m.id in seen:
            raise MutantError(f"{where}: duplicate id")
        seen.add(m.id)
        cell = nb.cells[cell_index[m.cell]] if m.cell in cell_index else None
        if cell is None or not cell.metadata["nbgrader"].get("solution") or cell.cell_type != "code":
            raise MutantError(f"{where}: {m.cell!r} is not a solution code cell of {notebook.name}")
        for t in m.targets:
            if t not in tests:
                raise MutantError(f"{where}: target {t!r} is not an autograded test cell of {notebook.name}")
            if cell_index[t] < cell_index[m.cell]:
                raise MutantError(f"{where}: target {t!r} comes before the cell {m.cell!r} it tests")
        if mutate_source(cell.source, m, where) == cell.source:
            raise MutantError(f"{where}: the mutated cell is identical to the solution")
        mutants.append(m)
    if not mutants:
        raise MutantError(f"{source}: no [[mutant]] entries")
    try:
        skip = frozenset(skipped_cells(nb))
    except ValueError as exc:
        raise MutantError(f"{notebook}: {exc}") from None
    return MutantSet(notebook, source, strategy, tuple(mutants), cell_index, skip)


def load_mutants(notebook: Path | str) -> MutantSet:
    """Read a notebook's mutants file; :class:`MutantError` names the file when it is missing or wrong."""
    notebook = Path(notebook)
    source = mutants_path(notebook)
    if not source.is_file():
        raise MutantError(f"{notebook}: no mutants file (expected {source})")
    try:
        nb = read_notebook(notebook)
    except ValueError as exc:  # read_notebook's CourseError names the file and the reason
        raise MutantError(str(exc)) from None
    return parse_mutants(source.read_text(encoding="utf-8"), nb, notebook, source)


def mutate_source(source: str, mutant: Mutant, where: str = "") -> str:
    """The cell source with the mutant's code (or edits) in place of its solution region."""
    where = where or f"mutant {mutant.id!r}"
    regions = solution_regions(source)
    if not regions:
        raise MutantError(f"{where}: cell {mutant.cell!r} has no {BEGIN} / {END} region")
    if mutant.region is None and len(regions) > 1:
        raise MutantError(f"{where}: cell {mutant.cell!r} has {len(regions)} solution regions; set 'region'")
    number = mutant.region or 1
    if number > len(regions):
        raise MutantError(f"{where}: region {number} does not exist (the cell has {len(regions)})")
    begin, end, indent = regions[number - 1]
    lines = source.split("\n")
    if mutant.code is not None:
        body = [indent + ln if ln.strip() else "" for ln in textwrap.dedent(mutant.code).strip("\n").split("\n")]
    else:
        text = "\n".join(lines[begin + 1 : end])
        for find, replace in mutant.edits:
            if text.count(find) != 1:
                raise MutantError(
                    f"{where}: edit 'find' text occurs {text.count(find)} times in the region "
                    f"(must be exactly once): {find!r}"
                )
            text = text.replace(find, replace)
        body = text.split("\n")
    return "\n".join(lines[: begin + 1] + body + lines[end:])


def mutated_notebook(mutants: MutantSet, nb: nbformat.NotebookNode, mutant: Mutant) -> nbformat.NotebookNode:
    """A copy of the notebook with one mutant swapped into its solution cell."""
    out = copy.deepcopy(nb)
    cell = out.cells[mutants.cell_index[mutant.cell]]
    cell.source = mutate_source(cell.source, mutant)
    return out


# ---------------------------------------------------------------- results


@dataclass
class MutantResult:
    """What one mutant did to the test cells that ran after its cell."""

    mutant: Mutant
    scores: dict[str, tuple[float, float]]  # test grade_id -> (score, max)
    reasons: dict[str, str]  # test grade_id -> why it lost points
    seconds: float = 0.0

    @property
    def survived_on(self) -> list[str]:
        """Targets on which the mutant kept full marks (empty when it was killed)."""
        return [t for t in self.mutant.targets if self.scores[t][0] >= self.scores[t][1]]

    @property
    def killed(self) -> bool:
        return not self.survived_on


@dataclass
class NotebookReport:
    """Mutation results for one notebook."""

    notebook: Path
    strategy: str
    test_points: dict[str, float]  # every autograded test cell -> points
    results: list[MutantResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def killed(self) -> int:
        return sum(r.killed for r in self.results)

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if not r.killed]

    @property
    def covered_points(self) -> float:
        """Points of the test cells on which some mutant was caught."""
        caught = {t for r in self.results if r.killed for t in r.mutant.targets}
        return sum(p for g, p in self.test_points.items() if g in caught)


# ---------------------------------------------------------------- report and command line


def format_report(report: NotebookReport) -> str:
    """A plain-text table: one line per mutant, then killed/total and the points its tests defend."""
    rows = [("mutant", "cell", "s", "result", "why the target lost points")]
    for r in report.results:
        why = "; ".join(f"{t}: {r.reasons[t]}" for t in r.mutant.targets if t in r.reasons)
        verdict = "killed" if r.killed else "SURVIVED on " + ", ".join(r.survived_on)
        rows.append((r.mutant.id, r.mutant.cell, f"{r.seconds:.1f}", verdict, why[:100]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"{report.notebook}  (strategy {report.strategy}, {report.seconds:.1f} s)"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    total = sum(report.test_points.values())
    share = report.covered_points / total if total else 0.0
    lines.append(
        f"killed {report.killed}/{len(report.results)}; autograded points whose tests caught a mutant: "
        f"{report.covered_points:g}/{total:g} ({share:.0%})"
    )
    return "\n".join(lines)


def notebooks_with_mutants(paths: list[Path]) -> list[Path]:
    """Expand phase folders to their notebooks that have a mutants file; keep notebook paths as given."""
    out = []
    for p in paths:
        if p.is_dir():
            out += [nb for nb in sorted(p.glob("*.ipynb")) if mutants_path(nb).is_file()]
        else:
            out.append(p)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.mutants``: print a table per notebook; 1 if a mutant survives, 2 on bad input."""
    from autograder.mutant_runner import run_mutants

    parser = argparse.ArgumentParser(prog="python -m autograder.mutants", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="source notebooks or phase folders")
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutant ids")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds per cell")
    args = parser.parse_args(argv)
    survived = 0
    try:
        notebooks = notebooks_with_mutants(args.paths)
        if not notebooks:
            raise MutantError(f"no notebook with a mutants file in {' '.join(map(str, args.paths))}")
        selected = {
            nb: [m.id for m in load_mutants(nb).mutants if args.only is None or m.id in args.only] for nb in notebooks
        }
        unknown = set(args.only or []) - {i for ids in selected.values() for i in ids}
        if unknown:
            raise MutantError(f"no mutant with id {sorted(unknown)} in {' '.join(map(str, args.paths))}")
        for nb, ids in selected.items():
            if ids:
                report = run_mutants(nb, ids, args.timeout)
                print(format_report(report), end="\n\n", flush=True)
                survived += len(report.survivors)
    except MutantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
