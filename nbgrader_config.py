"""nbgrader configuration for formgrader and the nbgrader command line, run from the repository root.

The same settings are used by `aie release` and `aie grade` (autograder/course.py): nbgrader's own autograde
runs each notebook in the bubblewrap sandbox and its feedback hides hidden tests (autograder/nbgrader_steps.py).
"""

from pathlib import Path

from autograder.course import apply_config

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)
apply_config(c, Path(__file__).resolve().parent)
