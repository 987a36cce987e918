"""Release: strip solutions and hidden tests from the phase notebooks (nbgrader generate_assignment).

After nbgrader has written a phase, the author hints of each notebook (``<phase>/hints/<stem>.toml``,
``hints.py``) are written into the released test cells, so that the learner's copy carries them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.course import Course, CourseError, nbgrader_failure
from autograder.hints import attach_hints, hints_for_notebook
from autograder.notebooks import read_notebook


def phase_hints(course: Course, phase: str) -> dict[str, dict[str, str]]:
    """The validated hints of every source notebook of a phase that has a hints file, by notebook file name."""
    found = {}
    for source in sorted(course.phase_dir(phase).glob("*.ipynb")):
        hints = hints_for_notebook(source, read_notebook(source))
        if hints:
            found[source.name] = hints
    return found


def release(course: Course, phases: list[str] | None = None) -> dict[str, list[Path]]:
    """Generate the student version of each phase into ``release/<phase>/``.

    Returns the released notebook paths per phase. Raises :class:`CourseError` with nbgrader's
    log when a phase cannot be released (for example a test cell without a grade id), or naming
    the file and key of a hints file that does not fit its notebook.
    """
    phases = phases or [p for p in course.phases if course.phase_dir(p).is_dir()]
    for phase in phases:
        course.check_phase(phase)
        if not course.phase_dir(phase).is_dir():
            raise CourseError(f"phase folder {course.phase_dir(phase)} does not exist")
    hints = {phase: phase_hints(course, phase) for phase in phases}  # bad hints fail before nbgrader runs
    api = course.api()
    released: dict[str, list[Path]] = {}
    for phase in phases:
        result = api.generate_assignment(phase, force=True, create=True)
        if not result.get("success"):
            raise CourseError(f"releasing {phase} failed: {nbgrader_failure(result)}")
        released[phase] = sorted(course.release_dir(phase).glob("*.ipynb"))
        for path in released[phase]:
            if path.name in hints[phase]:
                nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
                attach_hints(nb, hints[phase][path.name])
                nbformat.write(nb, path)
    return released
