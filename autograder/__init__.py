"""Grading pipeline for the curriculum: release, learner workspace, check, grade and feedback.

Each phase folder (``00_prereqs/`` ...) is one nbgrader assignment; its notebooks stay where
they are and nbgrader reads them through generated ``source/<phase>`` links.
"""

from autograder.course import Course, CourseError
from autograder.check import CheckReport, CellResult, check_notebook
from autograder.grade import GradeReport, grade_submissions
from autograder.release import release
from autograder.workspace import sync_workspace

__all__ = [
    "Course",
    "CourseError",
    "CheckReport",
    "CellResult",
    "check_notebook",
    "GradeReport",
    "grade_submissions",
    "release",
    "sync_workspace",
]
