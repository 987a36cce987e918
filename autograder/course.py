"""The nbgrader course directory: where generated folders live and how nbgrader is configured.

The repository root holds the phase folders (the nbgrader *source* notebooks). A course root
(by default the repository root too) holds what nbgrader generates: ``release/``,
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db``, all git-ignored.
``source/<phase>`` links point back at the phase folders, so formgrader lists exactly
the roadmap's phases as assignments.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

from curriculum.roadmap import REPO_ROOT, Roadmap, load_roadmap

DEFAULT_CELL_TIMEOUT = 300
COURSE_ID = "ai-engineer-track"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


class CourseError(ValueError):
    """A problem with the course layout or the input given to a grading command."""


def cell_timeout_from_env() -> int:
    """Per-cell execution timeout in seconds (``AIE_CELL_TIMEOUT``, default 300)."""
    raw = os.environ.get("AIE_CELL_TIMEOUT", str(DEFAULT_CELL_TIMEOUT))
    try:
        value = int(raw)
    except ValueError:
        raise CourseError(f"AIE_CELL_TIMEOUT must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise CourseError(f"AIE_CELL_TIMEOUT must be positive, got {value}")
    return value


def apply_config(c: Config, root: Path, timeout: int | None = None) -> Config:
    """Fill an nbgrader ``Config`` for a course rooted at ``root`` (also used by nbgrader_config.py)."""
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = "source"
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    # mutants/: recorded wrong solutions kept beside the source notebooks, never released; hints/: the release
    # carries them inside the released test cells instead (autograder/hints.py)
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".aie", "mutants", "hints"]
    c.Execute.timeout = timeout if timeout is not None else cell_timeout_from_env()
    c.Execute.interrupt_on_timeout = True
    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    c.Autograde.create_student = True
    c.GenerateAssignment.create_assignment = True
    c.ExecutePreprocessor.kernel_name = "aie"
    # nbgrader's own autograde and feedback (formgrader's buttons) run in the sandbox and hide hidden tests too
    from autograder.nbgrader_steps import AUTOGRADE_STEPS, FEEDBACK_STEPS

    c.Autograde.autograde_preprocessors = list(AUTOGRADE_STEPS)
    c.GenerateFeedback.preprocessors = list(FEEDBACK_STEPS)
    return c


def _venv_bin_on_path() -> None:
    """nbgrader runs ``alembic`` by name; make this interpreter's scripts folder findable."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def nbgrader_failure(result: dict) -> str:
    """The most telling line of a failed nbgrader API call (the underlying exception, not the summary)."""
    text = "\n".join(filter(None, [result.get("log"), result.get("error")]))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    causes = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception): ", ln) and "NbGraderException" not in ln]
    if causes:
        return causes[0]
    errors = [ln for ln in lines if ln.startswith("[ERROR]")]
    return errors[0] if errors else (lines[-1] if lines else "nbgrader gave no reason")


@dataclass
class Course:
    """A course directory; ``notebooks_root`` is where the phase folders live."""

    root: Path = REPO_ROOT
    notebooks_root: Path = REPO_ROOT
    timeout: int | None = None
    roadmap: Roadmap = field(default_factory=load_roadmap)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.notebooks_root = Path(self.notebooks_root).resolve()

    @property
    def phases(self) -> list[str]:
        return [p.id for p in self.roadmap.phases]

    def phase_dir(self, phase: str) -> Path:
        return self.notebooks_root / phase

    def release_dir(self, phase: str) -> Path:
        return self.root / "release" / phase

    def submitted_dir(self) -> Path:
        return self.root / "submitted"

    def autograded_dir(self) -> Path:
        return self.root / "autograded"

    def feedback_dir(self) -> Path:
        return self.root / "feedback"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def check_phase(self, phase: str) -> None:
        if phase not in self.phases:
            raise CourseError(f"unknown phase {phase!r}; phases are: {', '.join(self.phases)}")

    def config(self) -> Config:
        return apply_config(Config(), self.root, self.timeout)

    def prepare(self) -> None:
        """Create ``source/<phase>`` links to the phase folders that exist."""
        source = self.root / "source"
        source.mkdir(parents=True, exist_ok=True)
        for phase in self.phases:
            target = self.phase_dir(phase)
            link = source / phase
            if not target.is_dir():
                continue
            if link.is_symlink() and link.resolve() == target:
                continue
            if link.is_symlink() or link.exists():
                if link.is_dir() and not link.is_symlink():
                    raise CourseError(f"{link} is a real folder; expected a link to {target}")
                link.unlink()
            link.symlink_to(target, target_is_directory=True)

    def api(self):
        """An ``NbGraderAPI`` bound to this course (import deferred: nbgrader is slow to import)."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        self.prepare()
        _venv_bin_on_path()
        config = self.config()
        coursedir = CourseDirectory(config=config)
        return NbGraderAPI(coursedir=coursedir, config=config)
