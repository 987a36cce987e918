"""The autograder round trip for every ready notebook.

The released notebook (solutions replaced by stubs) must score 0 on every autograded cell, the
source notebook submitted as a student must score full marks, and the release must not leak
solutions, hidden tests or rubrics.
"""

import shutil

import pytest

from autograder import Course, release
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


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """``graded(phase)``: release the phase, submit blank and solution copies, autograde both (once per phase)."""
    cache = {}

    def run(phase):
        if phase in cache:
            return cache[phase]
        root = tmp_path_factory.mktemp(f"course-{phase}")
        course = Course(root=root, notebooks_root=REPO_ROOT, timeout=600)  # first runs build cached models
        release(course, [phase])
        notebooks = [p.split("/")[1] for p in READY if p.startswith(phase + "/")]
        for student, src in (("blank", course.release_dir(phase)), ("solution", REPO_ROOT / phase)):
            dest = root / "submitted" / student / phase
            dest.mkdir(parents=True)
            for name in notebooks:
                shutil.copy(src / name, dest / name)
        api = course.api()
        for student in ("blank", "solution"):
            result = api.autograde(phase, student, force=True, create=True)
            assert result["success"], result.get("log", "")[-2000:]
        cache[phase] = {s: _grades(course, phase, s) for s in ("blank", "solution")}
        cache[phase]["release_dir"] = course.release_dir(phase)
        return cache[phase]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", READY)
def test_released_notebook_scores_zero_on_every_test_cell(graded, nb_path):
    phase, name = nb_path.split("/")
    cells = graded(phase)["blank"][name.removesuffix(".ipynb")]
    assert cells, f"{nb_path}: no autograded cells found"
    scored = {cell: score for cell, (score, _) in cells.items() if score != 0}
    assert not scored, f"{nb_path}: blank answers score points on {scored}: those tests cannot fail"


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", READY)
def test_source_notebook_scores_full_marks(graded, nb_path):
    phase, name = nb_path.split("/")
    cells = graded(phase)["solution"][name.removesuffix(".ipynb")]
    lost = {cell: (score, top) for cell, (score, top) in cells.items() if score != top}
    assert not lost, f"{nb_path}: the reference solution loses points on {lost}"


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", READY)
def test_release_leaks_no_solution_hidden_test_or_rubric(graded, nb_path):
    phase, name = nb_path.split("/")
    text = (graded(phase)["release_dir"] / name).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Model answer.", "Rubric ("):
        assert marker not in text, f"{nb_path}: release contains {marker!r}"
