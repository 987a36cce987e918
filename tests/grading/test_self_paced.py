"""The self-paced loop: hints for failed visible tests, the local record of checks, `aie solutions`, `aie progress`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from autograder import Course, release
from autograder.check import failed_test_hints
from autograder.hints import HintsError, attach_hints, cell_hint, hints_for_notebook, parse_hints, visible_test_ids
from autograder.notebooks import read_notebook
from autograder.progress import CheckRecord, append_record, learner_root, progress, read_records, record_path
from autograder.scoring import CellResult
from autograder.workspace import MANIFEST
from curriculum.cli import app
from curriculum.roadmap import REPO_ROOT, load_roadmap

runner = CliRunner()
PHASE, NAME = "00_prereqs", "01_cosine_similarity.ipynb"
NB_PATH = f"{PHASE}/{NAME}"
SOURCES = sorted(p for ph in load_roadmap().phases for p in (REPO_ROOT / ph.id).glob("*.ipynb"))
HINTED = [p for p in SOURCES if (p.parent / "hints" / f"{p.stem}.toml").is_file()]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _test_cell(grade_id: str, source: str = "assert True") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": grade_id, "points": 1}
    return cell


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    (ws / PHASE).mkdir(parents=True)
    (ws / MANIFEST).write_text("{}")
    return ws


# ---------------------------------------------------------------- hints files


@pytest.mark.parametrize(
    "text, reason",
    [
        ('[hints]\ntest_b = "x"', "'test_b' names no autograded test cell"),
        ("[hints]\ntest_a = 3", "'test_a' must be a string"),
        ('[hints]\ntest_a = "  "', "'test_a' is empty"),
        ('test_a = "x"', "put every hint under [hints]"),
        ("[hints\n", "invalid TOML"),
    ],
)
def test_a_bad_hints_file_is_refused_naming_the_file_and_the_key(text, reason):
    with pytest.raises(HintsError) as err:
        parse_hints(text, "00_prereqs/hints/x.toml", ["test_a"])
    assert "00_prereqs/hints/x.toml" in str(err.value) and reason in str(err.value)


@pytest.mark.parametrize("source", HINTED, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_hints_key_names_a_test_cell_and_every_visible_test_has_a_hint(source):
    nb = read_notebook(source)
    hints = hints_for_notebook(source, nb)  # raises on a key that names no test cell
    missing = [g for g in visible_test_ids(nb) if g not in hints]
    assert not missing, f"{source.name}: visible test cells without a hint: {missing}"


def test_only_failed_visible_tests_get_their_hint():
    nb = nbformat.v4.new_notebook(cells=[_test_cell(g) for g in ("t_fail", "t_pass", "t_hidden", "t_died", "t_bare")])
    attach_hints(nb, {g: f"hint of {g}" for g in ("t_fail", "t_pass", "t_hidden", "t_died")})
    assert cell_hint(nb.cells[0]) == "hint of t_fail" and cell_hint(nb.cells[4]) == ""
    cells = [
        CellResult("t_fail", "test", 1, 0.0, "failed", "AssertionError", "visible"),
        CellResult("t_pass", "test", 1, 1.0, "passed"),
        CellResult("t_hidden", "test", 1, 0.0, "failed", "AssertionError", "hidden"),
        CellResult("t_died", "test", 1, 0.0, "not run", "not run: the kernel died"),
        CellResult("t_bare", "test", 1, 0.0, "failed", "AssertionError", "visible"),
    ]
    assert failed_test_hints(nb, cells) == {"t_fail": "hint of t_fail"}


# ---------------------------------------------------------------- the record of checks


def _record(notebook: str = NB_PATH, score: float = 3, when: str = "2026-03-01T10:00:00+00:00") -> CheckRecord:
    return CheckRecord(notebook, notebook, ("cosine-similarity",), score, 10, when)


def test_a_corrupt_line_is_skipped_with_a_warning_and_the_others_are_kept(tmp_path):
    append_record(tmp_path, _record(score=1))
    with record_path(tmp_path).open("ab") as fh:
        fh.write(b'{"notebook": "torn')  # a write cut short, without its newline
    append_record(tmp_path, _record(score=2))
    with record_path(tmp_path).open("ab") as fh:
        fh.write(b'{"notebook": 1}\n\xff\xfe\n')
    append_record(tmp_path, _record(score=3))
    records, warnings = read_records(tmp_path)
    assert [r.score for r in records] == [1, 2, 3]
    assert len(warnings) == 3 and all(str(record_path(tmp_path)) in w for w in warnings)


def test_progress_shows_the_latest_check_and_what_is_left():
    roadmap = load_roadmap()
    phases = progress(roadmap, [_record(score=3), _record(score=10, when="2026-03-02T10:00:00+00:00")])
    prereqs = {n.notebook: n for n in phases[0].notebooks}
    done = prereqs[NB_PATH]
    points = sum(i.points for i in roadmap.items_for_notebook(NB_PATH))
    assert (done.score, done.max_score, done.checked_at) == (10, 10, "2026-03-02T10:00:00+00:00")
    assert done.left == f"{points - 10:g} pts graded by hand"
    assert phases[0].checked == 1 and phases[0].score == 10
    other = prereqs[f"{PHASE}/02_arrays_and_hashmaps.ipynb"]
    assert not other.checked and other.left.startswith("not checked yet")


def test_the_record_lives_in_the_workspace_above_the_notebook(tmp_path):
    ws = _workspace(tmp_path)
    assert learner_root(ws / PHASE / NAME) == ws.resolve()
    assert learner_root(tmp_path / "elsewhere" / PHASE / NAME) == (tmp_path / "elsewhere").resolve()


def test_progress_json_reads_the_workspace_record_and_warns_on_a_corrupt_line(tmp_path):
    ws = _workspace(tmp_path)
    append_record(ws, _record(score=4))
    with record_path(ws).open("a") as fh:
        fh.write("not json\n")
    result = runner.invoke(app, ["progress", "--path", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    assert "skipped a corrupt line" in result.stderr
    data = json.loads(result.stdout)
    (entry,) = [n for p in data["phases"] for n in p["notebooks"] if n["notebook"] == NB_PATH]
    assert (entry["score"], entry["max_score"], entry["left"].split(";")[0]) == (4, 10, "6 pts of failing tests")
    assert len(data["warnings"]) == 1


def test_solutions_are_refused_before_any_check_is_on_record(tmp_path):
    ws = _workspace(tmp_path)
    learner = ws / PHASE / NAME
    shutil.copy(REPO_ROOT / NB_PATH, learner)
    append_record(ws, _record(notebook=f"{PHASE}/02_arrays_and_hashmaps.ipynb"))  # another notebook's check
    result = runner.invoke(app, ["solutions", str(learner)])
    assert result.exit_code == 1
    assert "no check of 00_prereqs/01_cosine_similarity.ipynb on record" in result.output
    assert "honour-system" in result.output
    assert sorted(p.name for p in learner.parent.iterdir()) == [NAME]


def test_solutions_reject_a_file_that_is_not_a_roadmap_notebook(tmp_path):
    stray = tmp_path / "notes.ipynb"
    stray.write_text("{}")
    result = runner.invoke(app, ["solutions", str(stray)])
    assert result.exit_code == 2 and "not a notebook of the roadmap" in result.output


def test_solutions_help_says_what_the_copy_holds():
    result = runner.invoke(app, ["solutions", "--help"])
    assert result.exit_code == 0
    assert "hidden tests" in _flat(result.output) and "honour system" in _flat(result.output)


# ---------------------------------------------------------------- the release carries the hints


@pytest.mark.slow
def test_a_bad_hints_file_stops_the_release_and_a_notebook_without_one_still_releases(tmp_path):
    notebooks = tmp_path / "notebooks"
    (notebooks / PHASE / "hints").mkdir(parents=True)
    shutil.copy(REPO_ROOT / NB_PATH, notebooks / PHASE / NAME)
    (notebooks / PHASE / "hints" / "01_cosine_similarity.toml").write_text('[hints]\ntest_typo = "x"\n')
    course = Course(root=tmp_path / "course", notebooks_root=notebooks)
    with pytest.raises(HintsError, match=r"01_cosine_similarity\.toml: hint 'test_typo' names no autograded test"):
        release(course, [PHASE])
    (notebooks / PHASE / "hints" / "01_cosine_similarity.toml").unlink()
    (released,) = release(course, [PHASE])[PHASE]
    assert not any(cell_hint(c) for c in read_notebook(released).cells)


@pytest.mark.slow
def test_the_loop_check_prints_hints_records_and_unlocks_the_solution(tmp_path):
    course = Course(root=tmp_path / "course", notebooks_root=REPO_ROOT)
    (released,) = [p for p in release(course, [PHASE])[PHASE] if p.name == NAME]
    assert not (course.release_dir(PHASE) / "hints").exists(), "the hints travel inside the notebooks"
    hints = hints_for_notebook(REPO_ROOT / NB_PATH, read_notebook(REPO_ROOT / NB_PATH))
    assert {cell_hint(c) for c in read_notebook(released).cells} - {""} == set(hints.values())

    ws = _workspace(tmp_path)
    learner = ws / PHASE / NAME
    shutil.copy(released, learner)
    checked = runner.invoke(app, ["check", str(learner), "--timeout", "120"])
    assert checked.exit_code == 1, checked.output
    for grade_id, hint in hints.items():  # the stubs fail every visible test
        assert _flat(f"hint for {grade_id}: {hint}") in _flat(checked.stdout)
    (record,), warnings = read_records(ws)
    assert (record.notebook, record.roadmap_notebook, record.score, record.max_score) == (NB_PATH, NB_PATH, 0, 10)
    assert warnings == []

    placed = runner.invoke(app, ["solutions", str(learner)])
    assert placed.exit_code == 0, placed.output
    solution = learner.with_name("01_cosine_similarity.solution.ipynb")
    assert solution.read_bytes() == (REPO_ROOT / NB_PATH).read_bytes()
    assert learner.read_bytes() == released.read_bytes(), "the learner's notebook is never overwritten"
    again = runner.invoke(app, ["solutions", str(learner)])
    assert again.exit_code == 1 and "--force" in again.output
    solution.write_text("{}")
    assert runner.invoke(app, ["solutions", str(learner), "--force"]).exit_code == 0
    assert solution.read_bytes() == (REPO_ROOT / NB_PATH).read_bytes()

    shown = runner.invoke(app, ["progress", "--path", str(ws)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.stdout.splitlines() if NAME in line)
    assert "0/10" in row and "10 pts of failing tests" in row
