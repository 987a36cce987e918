"""Grading pipeline for the curriculum: release, learner workspace, check, grade (sandboxed) and feedback.

Each phase folder (``00_prereqs/`` ...) is one nbgrader assignment; its notebooks stay where
they are and nbgrader reads them through generated ``source/<phase>`` links. ``aie grade`` runs every
submission in its own bubblewrap sandbox (``sandbox.py``), in parallel or on a Dask cluster, and only
the coordinator writes the gradebook (``grade.py``); ``aie check`` scores through the same executor and
rule (``check.py``).
"""

from autograder.check import CheckReport, check_notebook
from autograder.course import Course, CourseError
from autograder.grade import GradeReport, Progress, grade_submissions
from autograder.limits import Limits
from autograder.release import release
from autograder.sandbox import NO_SANDBOX_WARNING, SandboxUnavailable
from autograder.scoring import CellResult
from autograder.workspace import sync_workspace

__all__ = [
    "NO_SANDBOX_WARNING",
    "CellResult",
    "CheckReport",
    "Course",
    "CourseError",
    "GradeReport",
    "Limits",
    "Progress",
    "SandboxUnavailable",
    "check_notebook",
    "grade_submissions",
    "release",
    "sync_workspace",
]
