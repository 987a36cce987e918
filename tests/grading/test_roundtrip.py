"""The autograder round trip for every ready notebook, through the real pipeline: ``grade_submissions`` in the sandbox.

The released notebook (solutions replaced by stubs) must score 0 on every autograded cell, the source notebook
submitted as a student must score full marks, the release must not leak solutions, hidden tests or rubrics,
the feedback HTML of both must show no line of a hidden test, and what ``aie check`` hands its executor for
the released notebook must hold no hidden test either.
"""

import json
import shutil

import pytest
from submission_kit import needs_bwrap

from autograder import Course, grade_submissions, release
from autograder.check import check_job
from autograder.notebooks import read_notebook
from autograder.plan import hidden_lines, is_test_cell
from curriculum.roadmap import REPO_ROOT, load_roadmap

ROADMAP = load_roadmap()
READY = ROADMAP.notebook_paths(ready_only=True)


def _grades(course, phase, student):
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(course.db_url) as gb:
        for nb in gb.find_assignment(phase).notebooks:
            sub = gb.find_submission_notebook(nb.name, phase, student)
            out[nb.name] = {g.name: (g.auto_score, g.max_score) for g in sub.grades if g.auto_score is not None}
    return out


def _hidden(nb_path: str, release_dir) -> list[str]:
    """Lines of the notebook's hidden tests that appear nowhere in its release (so finding one means a leak)."""
    source = read_notebook(REPO_ROOT / nb_path)
    released = (release_dir / nb_path.split("/")[1]).read_text()
    lines = [line for c in source.cells if is_test_cell(c) for line in hidden_lines(c.source) if len(line) >= 12]
    return [line for line in lines if line not in released and json.dumps(line)[1:-1] not in released]


@pytest.fixture(scope="session")
def released(tmp_path_factory):
    """``released(phase)``: a course in a temporary folder with that phase released (once)."""
    cache = {}

    def run(phase):
        if phase not in cache:
            root = tmp_path_factory.mktemp(f"course-{phase}")
            course = Course(root=root / "course", notebooks_root=REPO_ROOT, timeout=600)  # first runs build models
            release(course, [phase])
            cache[phase] = (course, root)
        return cache[phase]

    return run


@pytest.fixture(scope="session")
def graded(released):
    """``graded(phase)``: submit blank and solution copies of the release, grade both in the sandbox (once)."""
    cache = {}

    def run(phase):
        if phase in cache:
            return cache[phase]
        course, root = released(phase)
        notebooks = [p.split("/")[1] for p in READY if p.startswith(phase + "/")]
        for student, src in (("blank", course.release_dir(phase)), ("solution", REPO_ROOT / phase)):
            dest = root / "incoming" / student / phase
            dest.mkdir(parents=True)
            for name in notebooks:
                shutil.copy(src / name, dest / name)
        report = grade_submissions(course, root / "incoming", jobs=2)
        assert not report.failures, report.failures
        cache[phase] = {s: _grades(course, phase, s) for s in ("blank", "solution")}
        cache[phase]["feedback_dir"] = course.feedback_dir()
        cache[phase]["notes"] = report.notes
        return cache[phase]

    return run


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("nb_path", READY)
def test_released_notebook_scores_zero_on_every_test_cell(graded, nb_path):
    phase, name = nb_path.split("/")
    cells = graded(phase)["blank"][name.removesuffix(".ipynb")]
    assert cells, f"{nb_path}: no autograded cells found"
    scored = {cell: score for cell, (score, _) in cells.items() if score != 0}
    assert not scored, f"{nb_path}: blank answers score points on {scored}: those tests cannot fail"


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("nb_path", READY)
def test_source_notebook_scores_full_marks_in_the_sandbox(graded, nb_path):
    phase, name = nb_path.split("/")
    cells = graded(phase)["solution"][name.removesuffix(".ipynb")]
    lost = {cell: (score, top) for cell, (score, top) in cells.items() if score != top}
    notes = [n for n in graded(phase)["notes"] if f"/{name}:" in n]
    assert not lost, f"{nb_path}: the reference solution loses points on {lost} ({notes})"


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", READY)
def test_release_leaks_no_solution_hidden_test_or_rubric(released, nb_path):
    phase, name = nb_path.split("/")
    text = (released(phase)[0].release_dir(phase) / name).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Model answer.", "Rubric ("):
        assert marker not in text, f"{nb_path}: release contains {marker!r}"


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("nb_path", READY)
def test_feedback_shows_no_hidden_test(graded, released, nb_path):
    phase, name = nb_path.split("/")
    hidden = _hidden(nb_path, released(phase)[0].release_dir(phase))
    assert hidden, f"{nb_path}: no hidden test line to look for"
    for student in ("blank", "solution"):
        html = (graded(phase)["feedback_dir"] / student / phase / name.replace(".ipynb", ".html")).read_text()
        leaked = [line for line in hidden if line in html]
        assert not leaked, f"{nb_path}: {student}'s feedback shows hidden tests: {leaked[:3]}"


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", READY)
def test_check_hands_its_executor_no_hidden_test(released, nb_path):
    phase, name = nb_path.split("/")
    release_dir = released(phase)[0].release_dir(phase)
    job, _ = check_job(read_notebook(release_dir / name), timeout=60)
    sent = json.dumps(job)
    leaked = [line for line in _hidden(nb_path, release_dir) if line in sent or json.dumps(line)[1:-1] in sent]
    assert not leaked, f"{nb_path}: aie check would run hidden tests: {leaked[:3]}"
