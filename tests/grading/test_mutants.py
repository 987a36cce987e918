"""Recorded wrong solutions ("mutants") must lose points on the test cells they target.

The slow tests run every mutant of every notebook that has a ``<phase>/mutants/<stem>.toml`` file and fail
naming each mutant that keeps full marks; a sample is re-run as a full execution of the mutated notebook to
prove that the fast "resume" path scores the same. The fast tests pin the file format and its error messages.
"""

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder.mutant_runner import run_fresh, run_mutants
from autograder.mutants import (
    Mutant,
    MutantError,
    load_mutants,
    mutants_path,
    mutate_source,
    notebooks_with_mutants,
    parse_mutants,
)
from autograder.notebooks import graded_cells, read_notebook
from curriculum.roadmap import REPO_ROOT, load_roadmap

MIN_MUTANTS_PER_TEST_CELL = 3
NOTEBOOKS = [
    p.relative_to(REPO_ROOT).as_posix()
    for p in notebooks_with_mutants([REPO_ROOT / ph.id for ph in load_roadmap().phases])
]
RESUMING = [nb for nb in NOTEBOOKS if load_mutants(REPO_ROOT / nb).strategy == "resume"]
# The fast path is proven on a sample, one resuming notebook per phase (the lighter ones: a full run of a notebook
# that trains or calls the local model would add minutes and prove nothing more about the swap-and-resume logic).
AGREEMENT_SAMPLE = [
    nb
    for nb in (
        "00_prereqs/01_cosine_similarity.ipynb",
        "01_junior/04_chroma_vs_pgvector.ipynb",
        "02_intermediate/03_tracing_slowest_span.ipynb",
        "03_senior/03_oncall_runbook.ipynb",
    )
    if nb in RESUMING
]
MUTATION_TESTED_PHASES = ["00_prereqs", "01_junior", "02_intermediate", "03_senior"]


# Notebooks whose mutants run at the same time: each run is one kernel that is often waiting (on its own start,
# on a server, on a subprocess), so two at once finish sooner on two cores; AIE_MUTANT_JOBS=1 runs them in turn.
MUTANT_JOBS = max(1, int(os.environ.get("AIE_MUTANT_JOBS", "2")))
# Started first so that the long runs overlap the short ones instead of finishing alone (measured in a fresh clone:
# the LoRA notebook 11 min with its first training, prompt caching 4 min, the local-model notebook 1 min).
SLOWEST_FIRST = (
    "03_senior/01_lora_fine_tune.ipynb",
    "01_junior/03_prompt_caching_chain.ipynb",
    "00_prereqs/04_huggingface_local_model.ipynb",
)


@pytest.fixture(scope="session")
def reports(request):
    """``reports(notebook)``: the mutation report of a notebook, computed once per session.

    On the first call the reports of every selected notebook are started, ``MUTANT_JOBS`` at a time, each in a
    fresh process (kernels of one run never share a process with another's), the slowest first.
    """
    selected = list(
        dict.fromkeys(
            item.callspec.params["nb_path"]
            for item in request.session.items
            if getattr(item, "callspec", None) and "reports" in getattr(item, "fixturenames", ())
        )
    )
    futures: dict[str, Future] = {}
    pool = ProcessPoolExecutor(max_workers=MUTANT_JOBS, mp_context=multiprocessing.get_context("spawn"))
    request.addfinalizer(lambda: pool.shutdown(wait=True, cancel_futures=True))

    def get(nb):
        if not futures:
            first = [name for name in SLOWEST_FIRST if name in selected]
            for name in first + [name for name in selected or [nb] if name not in first]:
                futures[name] = pool.submit(run_mutants, REPO_ROOT / name)
        if nb not in futures:
            futures[nb] = pool.submit(run_mutants, REPO_ROOT / nb)
        return futures[nb].result()

    return get


# ---------------------------------------------------------------- the recorded mutants


@pytest.mark.parametrize("phase", MUTATION_TESTED_PHASES)
def test_every_notebook_of_a_mutation_tested_phase_has_mutants(phase):
    missing = [nb.name for nb in sorted((REPO_ROOT / phase).glob("*.ipynb")) if not mutants_path(nb).is_file()]
    assert not missing, f"{phase}: no mutants file for {missing}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS)
def test_every_test_cell_has_at_least_three_mutants(nb_path):
    mutants = load_mutants(REPO_ROOT / nb_path)
    nb = read_notebook(REPO_ROOT / nb_path)
    counts = {g.grade_id: 0 for g in graded_cells(nb) if g.kind == "test"}
    for m in mutants.mutants:
        for t in m.targets:
            counts[t] += 1
    thin = {cell: n for cell, n in counts.items() if n < MIN_MUTANTS_PER_TEST_CELL}
    assert not thin, f"{nb_path}: test cells with fewer than {MIN_MUTANTS_PER_TEST_CELL} mutants: {thin}"


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", NOTEBOOKS)
def test_no_mutant_keeps_full_marks_on_a_cell_it_targets(reports, nb_path):
    report = reports(nb_path)
    survivors = [
        f"{r.mutant.id} (cell {r.mutant.cell}: {r.mutant.description}) keeps full marks on {', '.join(r.survived_on)}"
        for r in report.survivors
    ]
    assert not survivors, f"{nb_path}: " + "; ".join(survivors)
    assert report.covered_points == sum(report.test_points.values())


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", AGREEMENT_SAMPLE)
def test_resumed_kernel_scores_like_a_full_run_of_the_mutated_notebook(reports, nb_path):
    """The sample is the notebook's last mutant: it runs after every other mutant and every restore."""
    report = reports(nb_path)
    fast = report.results[-1]  # results come in the order the mutants ran
    mutants = load_mutants(REPO_ROOT / nb_path)
    full = run_fresh(mutants, read_notebook(REPO_ROOT / nb_path), fast.mutant, timeout=300)
    assert fast.scores, f"{nb_path}: the fast path scored no cell for {fast.mutant.id}"
    assert fast.scores == {cell: full.scores[cell] for cell in fast.scores}, (
        f"{nb_path}: mutant {fast.mutant.id} scores {fast.scores} in the resumed kernel "
        f"but {full.scores} in a full execution"
    )


@pytest.mark.slow
def test_release_leaves_the_mutants_out(tmp_path):
    from autograder import Course, release

    course = Course(root=tmp_path, notebooks_root=REPO_ROOT)
    release(course, MUTATION_TESTED_PHASES)
    for phase in MUTATION_TESTED_PHASES:
        released = [p.relative_to(course.release_dir(phase)).as_posix() for p in course.release_dir(phase).rglob("*")]
        assert released, f"nothing released for {phase}"
        assert not [p for p in released if "mutants" in p or p.endswith(".toml")], released


# ---------------------------------------------------------------- the file format

SOLUTION = '''def f(xs):
    """Doc."""
    ### BEGIN SOLUTION
    total = 0
    for x in xs:
        total += x
    return total
    ### END SOLUTION'''

TEST = "assert f([1, 2]) == 3\n### BEGIN HIDDEN TESTS\nassert f([]) == 0\n### END HIDDEN TESTS"


def _notebook():
    def meta(grade_id, solution, grade, points=None):
        m = {
            "grade": grade,
            "grade_id": grade_id,
            "locked": not solution,
            "schema_version": 3,
            "solution": solution,
            "task": False,
        }
        if points is not None:
            m["points"] = points
        return {"nbgrader": m}

    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(SOLUTION, metadata=meta("f", True, False)),
            nbformat.v4.new_code_cell(TEST, metadata=meta("test_f", False, True, 2)),
            nbformat.v4.new_code_cell("x = 1"),
        ]
    )


def _parse(toml):
    return parse_mutants(toml, _notebook(), Path("00_demo/01_demo.ipynb"), Path("00_demo/mutants/01_demo.toml"))


def test_code_replaces_the_solution_region_at_its_indentation():
    m = Mutant("m", "f", ("test_f",), "d", code="return sum(xs[1:])\n")
    assert mutate_source(SOLUTION, m) == (
        'def f(xs):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return sum(xs[1:])\n    ### END SOLUTION'
    )


def test_edits_change_only_the_solution_region():
    m = Mutant("m", "f", ("test_f",), "d", edits=(("total += x", "total += 2 * x"),))
    out = mutate_source(SOLUTION, m)
    assert "total += 2 * x" in out and out.replace("total += 2 * x", "total += x") == SOLUTION
    outside = Mutant("m", "f", ("test_f",), "d", edits=(('"""Doc."""', '"""Changed."""'),))
    with pytest.raises(MutantError, match="occurs 0 times"):
        mutate_source(SOLUTION, outside)


def test_a_cell_with_two_solution_regions_needs_a_region_number():
    two = SOLUTION + "\n\n\ndef g():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"
    with pytest.raises(MutantError, match="2 solution regions; set 'region'"):
        mutate_source(two, Mutant("m", "f", ("test_f",), "d", code="return 0"))
    second = mutate_source(two, Mutant("m", "f", ("test_f",), "d", code="return 2", region=2))
    assert second.endswith("    return 2\n    ### END SOLUTION") and "total += x" in second


def test_a_valid_file_parses_with_the_cells_it_touches():
    mutants = _parse(
        'strategy = "fresh"\n[[mutant]]\nid = "skip-first"\ncell = "f"\ntargets = ["test_f"]\n'
        'description = "drops the first value"\ncode = "return sum(xs[1:])"\n'
    )
    assert mutants.strategy == "fresh" and [m.id for m in mutants.mutants] == ["skip-first"]
    assert mutants.span(mutants.mutants[0]) == (0, 1)


BASE = 'id = "m"\ncell = "f"\ntargets = ["test_f"]\ndescription = "d"\ncode = "return 0"\n'


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[[mutant]]\n" + BASE.replace('cell = "f"', 'cell = "g"'), "'g' is not a solution code cell"),
        ("[[mutant]]\n" + BASE.replace('cell = "f"', 'cell = "test_f"'), "'test_f' is not a solution code cell"),
        ("[[mutant]]\n" + BASE.replace('["test_f"]', '["f"]'), "target 'f' is not an autograded test cell"),
        ("[[mutant]]\n" + BASE.replace('["test_f"]', "[]"), "'targets' must be a non-empty list"),
        ("[[mutant]]\n" + BASE + "[[mutant]]\n" + BASE, "duplicate id"),
        ("[[mutant]]\n" + BASE + '[[mutant.edit]]\nfind = "a"\nreplace = "b"\n', "exactly one of 'code' or"),
        ("[[mutant]]\n" + BASE + 'colour = "red"\n', "unknown keys ['colour']"),
        (
            "[[mutant]]\n"
            + BASE.replace('"return 0"', '"""\ntotal = 0\nfor x in xs:\n    total += x\nreturn total\n"""'),
            "identical to the solution",
        ),
        ('strategy = "sometimes"\n[[mutant]]\n' + BASE, "strategy must be one of"),
        ("run_rest = false\n[[mutant]]\n" + BASE, "unknown top-level keys ['run_rest']"),
        ("", "no [[mutant]] entries"),
        ("[[mutant]\n", "not valid TOML"),
    ],
)
def test_a_wrong_mutants_file_is_refused_naming_the_file(toml, message):
    with pytest.raises(MutantError, match=message.replace("[", r"\[").replace("(", r"\(")) as info:
        _parse(toml)
    assert "00_demo/mutants/01_demo.toml" in str(info.value)


def test_a_notebook_without_a_mutants_file_is_named(tmp_path):
    nb = tmp_path / "01_x.ipynb"
    nbformat.write(_notebook(), nb)
    with pytest.raises(MutantError, match=r"01_x.ipynb: no mutants file \(expected .*mutants/01_x.toml\)"):
        load_mutants(nb)


EQUIVALENT_AND_WRONG = """strategy = "{strategy}"
[[mutant]]
id = "same-thing"
cell = "f"
targets = ["test_f"]
description = "an equivalent rewrite: it must survive"
code = "return sum(xs)"

[[mutant]]
id = "skip-first"
cell = "f"
targets = ["test_f"]
description = "drops the first value"
code = "return sum(xs[1:])"
"""


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["resume", "fresh"])
def test_a_mutant_that_keeps_full_marks_is_reported_and_fails_the_command(tmp_path, capsys, strategy):
    from autograder.mutants import main

    nb = _notebook()
    nb.metadata = {"kernelspec": {"name": "aie", "display_name": "aie", "language": "python"}}
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "mutants").mkdir()
    mutants_path(path).write_text(EQUIVALENT_AND_WRONG.format(strategy=strategy))
    report = run_mutants(path)
    assert [(r.mutant.id, r.killed) for r in report.results] == [("same-thing", False), ("skip-first", True)]
    assert report.results[1].scores == {"test_f": (0.0, 2.0)} and report.covered_points == 2
    assert main([str(path), "--only", "same-thing"]) == 1
    assert "SURVIVED on test_f" in capsys.readouterr().out


def test_the_command_refuses_an_unknown_mutant_id(capsys):
    from autograder.mutants import main

    assert main([str(REPO_ROOT / "00_prereqs"), "--only", "no-such-mutant"]) == 2
    assert "no mutant with id ['no-such-mutant']" in capsys.readouterr().err
