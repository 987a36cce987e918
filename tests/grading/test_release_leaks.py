"""No released notebook ships the answer of a graded exercise, its own or another notebook's.

Every phase is released into a temporary course (nbgrader's generate_assignment, as ``aie release`` does).
Each *solution region* of every source notebook (the lines between ``### BEGIN SOLUTION`` and
``### END SOLUTION``, or the whole cell when it has no markers) is then looked for in every released notebook.

Lines are compared after normalisation: whitespace collapsed and string literals emptied, so re-indenting a
copy or rewording its error messages does not hide it. Lines that carry no logic are dropped on both sides:
blank lines, comments, ``pass``, ``...``, ``raise NotImplementedError``, docstring lines, and lines with no
name outside string literals (data rows such as ``"id": "faq",``).

The rule:
* another notebook's release must not contain **3 consecutive lines** of a solution region. Three, because
  two-line idioms recur honestly in unrelated code (open an SMTP connection, send the message), while three
  consecutive lines of someone's answer are a copy of its logic;
* a notebook's own release must not contain the **complete** region (when it has at least 3 lines). An
  exercise may quote a fragment of its own answer as a hint (01_junior/04 shows the binary ``COPY`` loop),
  but never the answer itself.

What it does not see: a copy whose variables were renamed line by line. Names are kept because abstracting
them too would make every three-line loop look like every other.

Because the library now holds helpers the meeting agent asks learners to write (``curriculum.agents.scheduling``,
used by the later notebooks of that phase), the last tests prove that its test cells fail a learner's function
that merely wraps them.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

import nbformat
import pytest

from autograder import Course, release
from curriculum.roadmap import REPO_ROOT, load_roadmap

WINDOW = 3
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_STRING = re.compile(r"""[rbufRBUF]{0,2}("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
_NAME = re.compile(r"[A-Za-z_]\w*")
_NO_LOGIC = re.compile(r'(#.*|pass|\.\.\.|raise NotImplementedError.*|[rbuRBU]?("""|\'\'\').*)')

PHASES = [p.id for p in load_roadmap().phases if (REPO_ROOT / p.id).is_dir()]
SOURCES = sorted(str(p.relative_to(REPO_ROOT)) for phase in PHASES for p in (REPO_ROOT / phase).glob("*.ipynb"))


def normalise(line: str) -> str | None:
    """The line with whitespace collapsed and string literals emptied, or None when it carries no logic."""
    text = _STRING.sub('""', " ".join(line.split()))
    if not text or _NO_LOGIC.fullmatch(text) or not _NAME.search(_STRING.sub("", text)):
        return None
    return text


def normalised_lines(source: str) -> list[str]:
    """The lines of ``source`` that carry logic, normalised."""
    return [n for n in map(normalise, source.splitlines()) if n is not None]


@dataclass(frozen=True)
class Region:
    """One solution region: where it comes from and its normalised lines."""

    notebook: str
    grade_id: str
    lines: tuple[str, ...]


def solution_regions(notebook: nbformat.NotebookNode, name: str) -> list[Region]:
    """Every solution region of a source notebook."""
    regions = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        raw = cell.source.splitlines()
        if not any(line.strip().startswith(BEGIN) for line in raw):
            regions.append(Region(name, meta.get("grade_id", "?"), tuple(normalised_lines(cell.source))))
            continue
        inside, body = False, []
        for line in raw:
            marker = line.strip()
            if marker.startswith(BEGIN):
                inside, body = True, []
            elif marker.startswith(END):
                inside = False
                regions.append(Region(name, meta.get("grade_id", "?"), tuple(normalised_lines("\n".join(body)))))
            elif inside:
                body.append(line)
    return regions


def leaks(region: Region, released: list[str], same_notebook: bool) -> list[tuple[str, ...]]:
    """The parts of ``region`` found in a released notebook's normalised lines (empty: no leak)."""
    if len(region.lines) < WINDOW:
        return []
    size = len(region.lines) if same_notebook else WINDOW
    shipped = {tuple(released[i : i + size]) for i in range(len(released) - size + 1)}
    return [
        region.lines[i : i + size] for i in range(len(region.lines) - size + 1) if region.lines[i : i + size] in shipped
    ]


def released_lines(notebook: nbformat.NotebookNode) -> list[str]:
    return [line for cell in notebook.cells for line in normalised_lines(cell.source)]


@pytest.fixture(scope="module")
def released_course(tmp_path_factory) -> Course:
    """Every phase released into a temporary course."""
    course = Course(root=tmp_path_factory.mktemp("leak-course"), notebooks_root=REPO_ROOT)
    release(course, PHASES)
    return course


@pytest.fixture(scope="module")
def all_regions() -> list[Region]:
    return [
        region for path in SOURCES for region in solution_regions(nbformat.read(REPO_ROOT / path, as_version=4), path)
    ]


def test_detector_sees_a_reworded_three_line_copy_and_ignores_trivia():
    answer = Region(
        "a.ipynb",
        "x",
        tuple(
            normalised_lines(
                "aware = naive.replace(tzinfo=zone)\n"
                "if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:\n"
                '    raise ValueError(f"{local} does not exist in {tz}: the clocks skip it")\n'
                "return aware.astimezone(UTC)\n"
            )
        ),
    )
    copy = normalised_lines(
        "# a helper\naware   = naive.replace(tzinfo=zone)\n\n"
        "if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:\n"
        '        raise ValueError(f"{local} is not a time in {tz}")\n'
    )
    assert leaks(answer, copy, same_notebook=False)
    assert not leaks(answer, copy[:2], same_notebook=False)
    assert not leaks(answer, copy, same_notebook=True), "its own release may quote a fragment"
    assert not leaks(Region("a.ipynb", "y", ("pass",)), ["pass"] * 5, same_notebook=False)
    assert normalised_lines('"""Doc."""\n    pass\n"id": "faq",\n# note\nraise NotImplementedError()') == []


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", SOURCES)
def test_release_contains_no_solution_of_any_notebook(released_course, all_regions, nb_path):
    phase, name = nb_path.split("/")
    shipped = released_lines(nbformat.read(released_course.release_dir(phase) / name, as_version=4))
    found = {
        f"{r.notebook}:{r.grade_id}": hits[0]
        for r in all_regions
        if (hits := leaks(r, shipped, same_notebook=r.notebook == nb_path))
    }
    assert found == {}, f"release of {nb_path} ships solution lines of {found}"


MEETING_AGENT = REPO_ROOT / "02_intermediate" / "01_meeting_agent.ipynb"

WRAPPERS = {
    "test_timezones": (
        "from curriculum.agents import in_zone, local_to_utc\n"
        "def to_utc(local, tz):\n    return local_to_utc(local, tz)\n"
        "def convert_timezone(when, from_tz, to_tz='UTC'):\n"
        "    m = in_zone(when, from_tz, to_tz)\n"
        "    return {'time': m.strftime('%Y-%m-%dT%H:%M'), 'timezone': to_tz, 'utc_offset': m.strftime('%z')}\n"
    ),
    "test_book_meeting": (
        "import curriculum.agents.scheduling as sch\n"
        "def book_meeting(title, attendees, start, duration_minutes, timezone):\n"
        "    if not isinstance(duration_minutes, int) or isinstance(duration_minutes, bool) or duration_minutes <= 0:\n"
        "        raise ValueError('duration')\n"
        "    if not title.strip():\n        raise ValueError('title')\n"
        "    begin = to_utc(start, timezone)\n"
        "    e = sch.book_if_free(cal, title, attendees, begin, begin + timedelta(minutes=duration_minutes), organizer=ORGANIZER)\n"
        "    return {'uid': e.uid, 'start_utc': e.start.isoformat(), 'end_utc': e.end.isoformat()}\n"
    ),
}


def _run_meeting_agent_cells(replace: dict[str, str], until: str) -> None:
    """Execute the meeting agent's cells in order up to the test cell ``until``, with some solutions replaced."""
    notebook = nbformat.read(MEETING_AGENT, as_version=4)
    namespace: dict = {}
    try:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            exec(compile(replace.get(grade_id, cell.source), f"{MEETING_AGENT.name}:{grade_id}", "exec"), namespace)
            if grade_id == until:
                return
    finally:
        if "server" in namespace:
            namespace["server"].stop()
        if "WORKDIR" in namespace:
            shutil.rmtree(namespace["WORKDIR"], ignore_errors=True)


@pytest.mark.parametrize("test_cell", sorted(WRAPPERS))
def test_meeting_agent_fails_a_wrapper_around_the_scheduling_helpers(test_cell):
    solution_cell = {"test_timezones": "timezones", "test_book_meeting": "book_meeting"}[test_cell]
    with pytest.raises(AssertionError, match="curriculum.agents.scheduling"):
        _run_meeting_agent_cells({solution_cell: WRAPPERS[test_cell]}, until=test_cell)


def test_meeting_agent_reference_solution_passes_the_same_cells():
    _run_meeting_agent_cells({}, until="test_book_meeting")
