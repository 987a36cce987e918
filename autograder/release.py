"""Release: strip solutions and hidden tests from the phase notebooks (nbgrader generate_assignment)."""

from __future__ import annotations

from pathlib import Path

from autograder.course import Course, CourseError, nbgrader_failure


def release(course: Course, phases: list[str] | None = None) -> dict[str, list[Path]]:
    """Generate the student version of each phase into ``release/<phase>/``.

    Returns the released notebook paths per phase. Raises :class:`CourseError` with nbgrader's
    log when a phase cannot be released (for example a test cell without a grade id).
    """
    phases = phases or [p for p in course.phases if course.phase_dir(p).is_dir()]
    for phase in phases:
        course.check_phase(phase)
        if not course.phase_dir(phase).is_dir():
            raise CourseError(f"phase folder {course.phase_dir(phase)} does not exist")
    api = course.api()
    released: dict[str, list[Path]] = {}
    for phase in phases:
        result = api.generate_assignment(phase, force=True, create=True)
        if not result.get("success"):
            raise CourseError(f"releasing {phase} failed: {nbgrader_failure(result)}")
        released[phase] = sorted(course.release_dir(phase).glob("*.ipynb"))
    return released
