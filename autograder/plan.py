"""What the executor needs to know about one notebook: its test cells, what they may trust, where hidden tests begin.

Everything here is read from trusted notebooks: the release (made by the instructor) and the test cells as
nbgrader restored them from the gradebook, never from what a learner wrote. Pure functions, no I/O.

* ``trusted_imports``: the top-level ``import`` statements of the released cells and of the test cells; the
  guard re-runs them in each test's namespace, so ``np`` in a test is numpy even if learner code rebound it.
  Imports that would bind the name of something the learner must write (a solution) are left out.
* ``preload``: the test cells' own imports (and numpy), run before any learner code so the guard can snapshot
  those modules and restore them before each test.
* ``intact``: released code cells the learner left unchanged, with the functions and classes they define; the
  guard records those objects right after the cell runs, and tests use them even if learner code redefines them.
* ``skip``: released cells tagged ``skip-when-graded`` (measurements, often of the local model, that no graded
  cell depends on) that the learner left unchanged; they stand after the last test cell, and the executor
  reports them as skipped instead of running them, so grading a class does not repeat minutes of measurement
  per submission. A learner who edits such a cell gets it run.
"""

from __future__ import annotations

import ast
import base64
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
# Modules tests lean on: restored attribute by attribute before each test cell (numpy with all its submodules).
BASE_MODULES = (
    "builtins",
    "math",
    "cmath",
    "operator",
    "functools",
    "itertools",
    "statistics",
    "numbers",
    "fractions",
    "decimal",
    "random",
    "re",
    "json",
    "collections",
    "copy",
    "types",
    "string",
    "hashlib",
    "os",
    "posixpath",
    "pathlib",
    "datetime",
    "time",
    "unittest",
)
DEEP_MODULES = ("numpy",)
ALWAYS_PRELOAD = ("import numpy", "import numpy.testing")
MAX_FILES_BYTES = 50 * 2**20
SKIP_TAG = "skip-when-graded"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_solution_cell(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_plain_code(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and not (meta.get("grade") or meta.get("solution") or meta.get("task"))


def is_skipped_when_graded(cell) -> bool:
    """Whether the author tagged this cell ``skip-when-graded``."""
    return SKIP_TAG in (cell.get("metadata", {}).get("tags") or [])


def skipped_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the cells tagged ``skip-when-graded``; ValueError where the tag cannot hold.

    A tagged cell must be plain code (not a solution or test) and come after the last test cell, so that no
    graded cell can depend on what it computes.
    """
    tagged = [i for i, c in enumerate(nb.cells) if is_skipped_when_graded(c)]
    tests = [i for i, c in enumerate(nb.cells) if is_test_cell(c)]
    for i in tagged:
        if not is_plain_code(nb.cells[i]):
            raise ValueError(f"cell {i} is tagged {SKIP_TAG!r} but is not a plain code cell")
        if tests and i < tests[-1]:
            raise ValueError(
                f"cell {i} is tagged {SKIP_TAG!r} but the test cell {tests[-1]} comes after it: "
                "only cells after the last test may be skipped"
            )
    return tagged


def _parse(source: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def top_level_imports(source: str) -> list[ast.Import | ast.ImportFrom]:
    tree = _parse(source)
    if tree is None:
        return []
    return [n for n in tree.body if isinstance(n, ast.Import) or (isinstance(n, ast.ImportFrom) and not n.level)]


def bound_names(node: ast.Import | ast.ImportFrom) -> set[str]:
    return {(a.asname or a.name).split(".")[0] for a in node.names}


def imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module] if node.module else []
    return [a.name for a in node.names]


def defined_names(source: str) -> set[str]:
    """Names a cell binds at top level (functions, classes, assignments, imports)."""
    tree = _parse(source)
    names: set[str] = set()
    for node in tree.body if tree else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= bound_names(node)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def defined_callables(source: str) -> list[str]:
    tree = _parse(source)
    return [
        n.name
        for n in (tree.body if tree else [])
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]


def hidden_start_line(source: str) -> int | None:
    """1-based line number of the hidden-tests marker in a test cell's source, or None."""
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip().startswith(BEGIN_HIDDEN):
            return number
    return None


def visible_part(source: str) -> str:
    """A test cell's source without its hidden tests (what the release shows)."""
    start = hidden_start_line(source)
    return source if start is None else "\n".join(source.splitlines()[: start - 1]).rstrip()


def hidden_lines(source: str) -> list[str]:
    """The hidden tests' lines (stripped, markers and blanks left out)."""
    start = hidden_start_line(source)
    if start is None:
        return []
    out = []
    for line in source.splitlines()[start:]:
        if line.strip().startswith(END_HIDDEN):
            break
        if line.strip():
            out.append(line.strip())
    return out


@dataclass
class Plan:
    tests: dict[int, str] = field(default_factory=dict)  # cell index -> grade id
    intact: dict[int, list[str]] = field(default_factory=dict)
    guard: dict = field(default_factory=dict)
    hidden_from: dict[int, int | None] = field(default_factory=dict)  # cell index -> first hidden line
    skip: list[int] = field(default_factory=list)  # unchanged released cells tagged skip-when-graded


def build_plan(nb: nbformat.NotebookNode, release: nbformat.NotebookNode) -> Plan:
    """The executor's plan for ``nb`` (test cells restored by nbgrader), trusting only ``release``."""
    solution_names: set[str] = set()
    released_plain: set[str] = set()
    trusted: list[ast.AST] = []
    released_skip = {release.cells[i].source.strip() for i in skipped_cells(release)}
    for cell in release.cells:
        if is_solution_cell(cell) and cell.cell_type == "code":
            solution_names |= defined_names(cell.source)
        elif is_plain_code(cell):
            released_plain.add(cell.source.strip())
            trusted += top_level_imports(cell.source)
    plan = Plan()
    preload = list(ALWAYS_PRELOAD)
    preload_modules: list[str] = ["numpy", "numpy.testing"]
    for index, cell in enumerate(nb.cells):
        if is_test_cell(cell):
            plan.tests[index] = nbgrader_meta(cell).get("grade_id", f"cell-{index}")
            plan.hidden_from[index] = hidden_start_line(cell.source)
            for node in top_level_imports(cell.source):
                trusted.append(node)
                preload.append(ast.unparse(node))
                preload_modules += imported_modules(node)
        elif is_plain_code(cell) and cell.source.strip() in released_plain:
            plan.intact[index] = [n for n in defined_callables(cell.source) if n not in solution_names]
    last_test = max(plan.tests, default=-1)
    plan.skip = [
        i
        for i, c in enumerate(nb.cells)
        if i > last_test and is_plain_code(c) and c.source.strip() and c.source.strip() in released_skip
    ]
    imports = [ast.unparse(n) for n in trusted if not (bound_names(n) & solution_names)]
    plan.guard = {
        "preload": list(dict.fromkeys(preload)),
        "preload_modules": list(dict.fromkeys(preload_modules)),
        "base_modules": list(BASE_MODULES),
        "deep_modules": list(DEEP_MODULES),
        "trusted_imports": list(dict.fromkeys(imports)),
    }
    return plan


def folder_files(folder: Path) -> dict[str, str]:
    """Non-notebook files of a released phase folder, base64-encoded for the job (they travel to remote workers)."""
    files, total = {}, 0
    if not folder.is_dir():
        return files
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (
            not path.is_file()
            or path.suffix == ".ipynb"
            or any(p.startswith(".") or p == "__pycache__" for p in rel.parts)
        ):
            continue
        total += path.stat().st_size
        if total > MAX_FILES_BYTES:
            raise ValueError(
                f"{folder}: more than {MAX_FILES_BYTES // 2**20} MB of data files to send with each notebook"
            )
        files[rel.as_posix()] = base64.b64encode(path.read_bytes()).decode()
    return files


def make_job(nb: nbformat.NotebookNode, plan: Plan, cell_timeout: int, files: dict[str, str] | None = None) -> dict:
    """The executor's input (see ``executor.py``); ``cwd``, ``cache`` and ``rlimits`` are added where it runs."""
    return {
        "notebook": nb,
        "kernel_name": nb.metadata.get("kernelspec", {}).get("name", "aie"),
        "cell_timeout": cell_timeout,
        "startup_timeout": 120,
        "files": files or {},
        "guard": plan.guard,
        "tests": {str(k): v for k, v in plan.tests.items()},
        "intact": {str(k): v for k, v in plan.intact.items()},
        "skip": list(plan.skip),
    }
