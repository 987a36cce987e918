"""nbgrader configuration for formgrader and the nbgrader command line, run from the repository root.

The same settings are used by `aie release` and `aie grade` (autograder/course.py).
"""

from pathlib import Path

from autograder.course import apply_config

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)
apply_config(c, Path(__file__).resolve().parent)
