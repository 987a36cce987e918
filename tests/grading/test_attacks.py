"""A class of hostile submissions graded once, by the real pipeline in the sandbox, and what each attack got.

One notebook (``00_prereqs/01_cosine_similarity``: ``test_dot`` 3 points, ``test_norm`` 2, ``test_cosine`` 5)
submitted by honest controls (solution, blank release, one wrong answer), by every attack in
``tests/grading/attacks/``, and as bad input (not JSON, wrong layout). The grading environment holds an API key
and a server listens on the host's loopback, so a leak would be seen.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import threading
import time

import nbformat
import pytest
from submission_kit import attack_names, attack_notebook, edited_notebook, needs_bwrap

from autograder import Course, grade_submissions, release
from autograder.plan import hidden_lines, is_test_cell
from curriculum.net import free_port
from curriculum.roadmap import REPO_ROOT

pytestmark = [pytest.mark.slow, needs_bwrap]

PHASE, NAME = "00_prereqs", "01_cosine_similarity"
SOURCE = REPO_ROOT / PHASE / f"{NAME}.ipynb"
SECRET = "sk-test-this-must-never-leave-the-grader"
WRONG_DOT = "import math\n\n\ndef dot(a, b):\n    return sum(x * y for x, y in zip(a, b))  # no length check\n"
WRONG_NORM = "def norm(a):\n    return sum(abs(x) for x in a)  # the L1 norm: fails the visible tests too\n"
BROKEN = [  # a syntax error, an endless loop reached only by a test, an exception
    ("cell", "dot", "def dot(a, b):\n    return sum(x * y for x, y in zip(a, b)\n"),
    ("cell", "norm", "def norm(a):\n    while True:\n        pass\n"),
    ("cell", "cosine", "def cosine_similarity(a, b):\n    raise RuntimeError('not today')\n"),
]


class Listener:
    """A TCP server on the host's 127.0.0.1 that records whatever reaches it."""

    def __init__(self) -> None:
        self.port, self.received = free_port(), []
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.sock.settimeout(0.5)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                self.received.append(conn.recv(65536))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _grades(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        sub = gb.find_submission_notebook(NAME, PHASE, student)
        return {g.name: g.auto_score for g in sub.grades}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("attack-class")
    course = Course(root=root / "course", notebooks_root=REPO_ROOT, timeout=30)
    release(course, [PHASE])
    listener = Listener()
    replace = {"COURSE_ROOT": str(course.root), "REPO_ROOT": str(REPO_ROOT), "PORT": str(listener.port)}
    incoming = root / "incoming"
    notebooks = {
        "solution": nbformat.read(SOURCE, as_version=4),
        "blank": nbformat.read(course.release_dir(PHASE) / f"{NAME}.ipynb", as_version=4),
        "wrong": edited_notebook(SOURCE, [("cell", "dot", WRONG_DOT)]),
        "wrong_visible": edited_notebook(SOURCE, [("cell", "norm", WRONG_NORM)]),
        "broken": edited_notebook(SOURCE, BROKEN),
        **{name: attack_notebook(name, SOURCE, replace) for name in attack_names()},
    }
    for student, nb in notebooks.items():
        (incoming / student / PHASE).mkdir(parents=True)
        nbformat.write(nb, incoming / student / PHASE / f"{NAME}.ipynb")
    (incoming / "notjson" / PHASE).mkdir(parents=True)
    (incoming / "notjson" / PHASE / f"{NAME}.ipynb").write_text('<<<<<<< HEAD\n{"cells": [')
    (incoming / "wronglayout").mkdir()
    shutil.copy(SOURCE, incoming / "wronglayout" / "cosine.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", SECRET)
        report = grade_submissions(course, incoming, jobs=2)
    time.sleep(6)  # the tamper attack's detached processes would strike 4 s after grading
    listener.close()
    students = [*notebooks, "notjson"]
    yield {
        "course": course,
        "report": report,
        "grades": {s: _grades(course, s) for s in students},
        "incoming": incoming,
        "listener": listener,
    }


def test_solution_scores_full_marks_and_blank_release_scores_zero(graded):
    assert graded["grades"]["solution"] == {
        "test_dot": 3,
        "test_norm": 2,
        "test_cosine": 5,
        "q_dot_products_everywhere": None,
    }
    assert graded["grades"]["blank"] == {
        "test_dot": 0,
        "test_norm": 0,
        "test_cosine": 0,
        "q_dot_products_everywhere": 0,
    }


def test_a_wrong_answer_loses_the_points_of_its_hidden_tests(graded):
    assert graded["grades"]["wrong"]["test_dot"] == 0
    assert graded["grades"]["wrong"]["test_norm"] == 2


def test_broken_code_scores_zero_per_cell_and_feedback_says_why(graded):
    grades = graded["grades"]["broken"]
    assert (grades["test_dot"], grades["test_norm"], grades["test_cosine"]) == (0, 0, 0)
    html = (graded["course"].feedback_dir() / "broken" / PHASE / f"{NAME}.html").read_text()
    for shown in ("SyntaxError", "CellTimeoutError", "RuntimeError: not today"):
        assert shown in html, f"feedback does not show {shown}"


@pytest.mark.parametrize("student", ["solution", "blank", "wrong_visible"])
def test_check_scores_each_cell_as_grading_does(graded, student):
    """One grader: ``aie check`` and ``aie grade`` agree cell by cell where the visible tests decide."""
    from autograder import check_notebook
    from autograder.plan import hidden_start_line
    from autograder.scoring import score_cells

    report = check_notebook(graded["incoming"] / student / PHASE / f"{NAME}.ipynb", timeout=60)
    executed = nbformat.read(graded["course"].autograded_dir() / student / PHASE / f"{NAME}.ipynb", as_version=4)
    hidden_from = {i: hidden_start_line(c.source) for i, c in enumerate(executed.cells) if is_test_cell(c)}
    graded_cells = {c.grade_id: c for c in score_cells(executed, hidden_from) if c.kind == "test"}
    checked = {c.grade_id: c for c in report.cells if c.kind == "test"}
    assert checked.keys() == graded_cells.keys()
    for grade_id, mine in checked.items():
        theirs = graded_cells[grade_id]
        assert (mine.score, mine.status, mine.message) == (theirs.score, theirs.status, theirs.message), grade_id
    if student == "wrong_visible":
        assert {g: c.part for g, c in graded_cells.items() if c.status == "failed"} == {
            "test_norm": "visible",
            "test_cosine": "visible",
        }


def test_source_notebooks_are_out_of_reach(graded):
    grades = graded["grades"]["source_lookup"]
    assert (grades["test_dot"], grades["test_norm"], grades["test_cosine"]) == (0, 0, 0)
    executed = nbformat.read(
        graded["course"].autograded_dir() / "source_lookup" / PHASE / f"{NAME}.ipynb", as_version=4
    )
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "source notebooks found: []" in printed


def test_tampering_changes_nothing_outside_the_sandbox(graded):
    course, incoming = graded["course"], graded["incoming"]
    for student in graded["grades"]:
        if student == "notjson":
            continue
        submitted = course.submitted_dir() / student / PHASE / f"{NAME}.ipynb"
        assert _sha(submitted) == _sha(incoming / student / PHASE / f"{NAME}.ipynb"), f"{student}'s file was changed"
    assert graded["grades"]["solution"]["test_cosine"] == 5
    assert graded["grades"]["tamper"]["test_dot"] == 0
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        assert "assert dot(" in gb.find_source_cell("test_dot", NAME, PHASE).source
        assert {s.id for s in gb.students} >= set(graded["grades"])
        scores = {g.auto_score for s in gb.students for sub in s.submissions for nb in sub.notebooks for g in nb.grades}
    assert not scores & {98, 99}, "a detached process changed the gradebook after grading"


def test_secrets_stay_out_and_the_network_is_closed(graded):
    course = graded["course"]
    assert graded["listener"].received == []
    for path in (
        course.autograded_dir() / "secrets_and_network" / PHASE / f"{NAME}.ipynb",
        course.feedback_dir() / "secrets_and_network" / PHASE / f"{NAME}.html",
    ):
        assert SECRET not in path.read_text()
    executed = json.loads((course.autograded_dir() / "secrets_and_network" / PHASE / f"{NAME}.ipynb").read_text())
    printed = "".join("".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", []))
    assert "network:" in printed and "\nsent\n" not in printed


def test_hidden_tests_never_reach_the_feedback_of_any_submission(graded):
    source = nbformat.read(SOURCE, as_version=4)
    released = (graded["course"].release_dir(PHASE) / f"{NAME}.ipynb").read_text()
    hidden = [line for c in source.cells if is_test_cell(c) for line in hidden_lines(c.source) if len(line) >= 12]
    hidden = [line for line in hidden if line not in released]  # a line the release shows anyway is no leak
    assert len(hidden) > 10
    feedback = sorted(graded["course"].feedback_dir().glob(f"*/{PHASE}/{NAME}.html"))
    assert len(feedback) == len(graded["grades"]) - 1  # everyone but the notebook that is not JSON
    for path in feedback:
        html = path.read_text()
        leaked = [line for line in hidden if line in html]
        assert not leaked, f"{path.parent.parent.name}'s feedback shows hidden tests: {leaked[:3]}"
    thief = (graded["course"].feedback_dir() / "print_hidden_tests" / PHASE / f"{NAME}.html").read_text()
    assert "message withheld" in thief and "output not shown in feedback" in thief


def test_patched_checks_do_not_make_wrong_answers_pass(graded):
    grades = graded["grades"]["patched_checks"]
    assert (grades["test_dot"], grades["test_norm"], grades["test_cosine"]) == (3, 0, 0)


def test_input_transformers_and_hooks_do_not_rewrite_test_cells(graded):
    grades = graded["grades"]["input_transformer"]
    assert (grades["test_dot"], grades["test_norm"]) == (0, 0)


def test_a_dead_kernel_scores_what_ran_and_names_the_cell(graded):
    grades = graded["grades"]["kernel_exit"]
    assert (grades["test_dot"], grades["test_norm"], grades["test_cosine"]) == (3, 0, 0)
    notes = [n for n in graded["report"].notes if n.startswith("kernel_exit/")]
    assert any("kernel died" in n and "(norm)" in n for n in notes), notes


def test_an_endless_loop_is_stopped_and_the_rest_scores_zero(graded):
    grades = graded["grades"]["endless_loop"]
    assert (grades["test_dot"], grades["test_norm"], grades["test_cosine"]) == (3, 2, 0)
    assert any(n.startswith("endless_loop/") and "(cosine)" in n for n in graded["report"].notes)


def test_deleted_and_edited_test_cells_run_as_released_and_are_named(graded):
    grades = graded["grades"]["edited_tests"]
    assert (grades["test_dot"], grades["test_norm"], grades["test_cosine"]) == (3, 2, 0)
    notes = " ".join(n for n in graded["report"].notes if n.startswith("edited_tests/"))
    for expected in ("deleted: test_norm", "not in the released order", "cell(s) added"):
        assert expected in notes


def test_bad_input_is_named_by_student_and_file_and_the_others_are_graded(graded):
    failures = graded["report"].failures
    assert any(f.startswith(f"notjson/{PHASE}/{NAME}.ipynb: corrupt notebook JSON") for f in failures), failures
    assert any(f.startswith("wronglayout/cosine.ipynb: not a phase folder") for f in failures), failures
    assert graded["grades"]["notjson"]["test_dot"] == 0  # scored as not submitted, completely
    graded_students = {r.student for r in graded["report"].rows if r.status == "graded"}
    assert graded_students == set(graded["grades"]) - {"notjson"}


def test_exports_have_a_row_per_notebook_per_cell_and_a_canvas_sheet(graded):
    exports = graded["report"].exports
    rows = exports["gradebook"].read_text().splitlines()
    assert rows[0].startswith("student,phase,notebook,auto_score")
    cells = exports["gradebook-cells"].read_text().splitlines()
    assert f"solution,{PHASE},{NAME},test_cosine,autograded,5,,5,5,0" in cells
    canvas = exports["canvas"].read_text().splitlines()
    assert canvas[0] == f"Student,ID,SIS User ID,SIS Login ID,Section,{PHASE}"
    assert canvas[1].startswith("Points Possible,")
    assert "solution,,solution,solution,,10" in canvas


def test_a_second_run_skips_what_is_graded_and_force_regrades_one_student(graded):
    course, incoming = graded["course"], graded["incoming"]
    again = grade_submissions(course, incoming, jobs=2, feedback=False)
    assert set(again.skipped) == {f"{s}/{PHASE}" for s in graded["grades"]}  # nothing was run again
    assert {r.status for r in again.rows if r.notebook == NAME} == {"up to date"}
    one = grade_submissions(course, incoming, student="wrong", force=True, feedback=False)
    assert one.skipped == [] and {r.student for r in one.rows} == {"wrong"}
    assert _grades(course, "wrong") == graded["grades"]["wrong"]
