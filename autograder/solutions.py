"""``aie solutions``: place the model solution beside a learner's notebook, once they have checked it.

The model solution is the course's source notebook (``<phase>/<file>.ipynb`` under the course root): solutions,
hidden tests and the rubrics of written answers included. It is written as ``<stem>.solution.ipynb`` next to the
learner's file, never over it. The gate, a check of that very file in the workspace's record (``progress.py``),
is an honour system: the record is the learner's own file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from autograder.check import roadmap_notebook_for
from autograder.course import CourseError
from autograder.progress import has_check, learner_root, read_records, record_path
from curriculum.roadmap import REPO_ROOT, Roadmap, load_roadmap

__all__ = ["SolutionRefused", "place_solution", "solution_path"]

SUFFIX = ".solution.ipynb"


class SolutionRefused(CourseError):
    """The solution is not placed: no check on record yet, or a solution copy already exists."""


def solution_path(learner: Path) -> Path:
    """Where the solution of a learner's notebook goes: ``<stem>.solution.ipynb`` beside it."""
    return learner.with_name(f"{learner.stem}{SUFFIX}")


def place_solution(
    learner: Path | str,
    *,
    course_root: Path = REPO_ROOT,
    roadmap: Roadmap | None = None,
    force: bool = False,
) -> tuple[Path, list[str]]:
    """Copy the model solution beside ``learner``; returns its path and the record's warnings.

    Raises :class:`SolutionRefused` before any check of ``learner`` is on record or when the solution copy
    exists (unless ``force``), and :class:`CourseError` when ``learner`` is not a roadmap notebook.
    """
    learner = Path(learner)
    if learner.name.endswith(SUFFIX):
        raise CourseError(f"{learner}: is a solution copy; name your own notebook")
    if not learner.is_file():
        raise CourseError(f"{learner}: no such file")
    nb_path = roadmap_notebook_for(learner, roadmap or load_roadmap())
    source = Path(course_root) / nb_path
    if not source.is_file():
        raise CourseError(f"{source}: the course has no source notebook for {nb_path}")
    if learner.resolve() == source.resolve():
        raise CourseError(f"{learner}: is the course's source notebook, which already holds the solution")
    root = learner_root(learner)
    records, warnings = read_records(root)
    relative = learner.resolve().relative_to(root).as_posix()
    if not has_check(records, relative):
        raise SolutionRefused(
            f"no check of {relative} on record in {record_path(root)}: run `aie check {learner}` first "
            "(an honour-system gate: try the exercises before reading the solution)"
        )
    target = solution_path(learner)
    if target.exists() and not force:
        raise SolutionRefused(f"{target}: exists already; pass --force to replace it")
    fd, tmp = tempfile.mkstemp(prefix=".solution-", suffix=".ipynb", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(source.read_bytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, warnings
