"""Author hints for visible tests: ``<phase>/hints/<notebook-stem>.toml`` beside the source notebooks.

A hints file maps the grade id of an autograded test cell to one or two sentences that point at the likely
mistake without giving the code::

    [hints]
    test_cosine = "Return 0.0 for a zero vector before dividing; clamp the result to [-1, 1]."

``aie release`` validates each file against its notebook and writes every hint into the released test cell's
metadata (``cell.metadata["aie"]["hint"]``), so the hint travels with the learner's notebook; ``aie check``
prints it when that visible test fails. The release leaves the ``hints/`` folders themselves out.
Parsing and attaching are pure; only :func:`load_hints` reads a file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat

from autograder.course import CourseError
from autograder.plan import is_test_cell, nbgrader_meta

__all__ = [
    "HINTS_FOLDER",
    "HintsError",
    "attach_hints",
    "cell_hint",
    "hints_for_notebook",
    "hints_path",
    "load_hints",
    "parse_hints",
    "visible_test_ids",
]

HINTS_FOLDER = "hints"
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)


class HintsError(CourseError):
    """A hints file that cannot be used; the message names the file and the key."""


def hints_path(notebook: Path) -> Path:
    """Where the hints of a source notebook live: ``<phase>/hints/<stem>.toml``."""
    return notebook.parent / HINTS_FOLDER / f"{notebook.stem}.toml"


def visible_test_ids(nb: nbformat.NotebookNode) -> list[str]:
    """Grade ids of the autograded test cells that keep some test code once hidden tests are stripped."""
    return [
        nbgrader_meta(c).get("grade_id", "") for c in nb.cells if is_test_cell(c) and _HIDDEN.sub("", c.source).strip()
    ]


def parse_hints(text: str, source: str, test_ids: list[str] | None = None) -> dict[str, str]:
    """The ``[hints]`` table of a hints file's text; ``source`` names the file in errors.

    With ``test_ids`` given, every key must be one of them. Raises :class:`HintsError` for invalid TOML,
    keys outside ``[hints]``, a hint that is not a string or is blank, or a key naming no test cell.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HintsError(f"{source}: invalid TOML ({exc})") from None
    extra = sorted(set(data) - {"hints"})
    if extra:
        raise HintsError(f"{source}: unknown key(s) {extra}; put every hint under [hints]")
    table = data.get("hints")
    if not isinstance(table, dict):
        raise HintsError(f"{source}: no [hints] table")
    hints: dict[str, str] = {}
    for key, value in table.items():
        if not isinstance(value, str):
            raise HintsError(f"{source}: hint {key!r} must be a string, got {type(value).__name__}")
        if not value.strip():
            raise HintsError(f"{source}: hint {key!r} is empty")
        if test_ids is not None and key not in test_ids:
            raise HintsError(
                f"{source}: hint {key!r} names no autograded test cell (test cells: {', '.join(test_ids) or 'none'})"
            )
        hints[key] = value.strip()
    return hints


def load_hints(path: Path, test_ids: list[str] | None = None) -> dict[str, str]:
    """Read and validate one hints file (see :func:`parse_hints`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HintsError(f"{path}: cannot be read ({exc})") from None
    return parse_hints(text, str(path), test_ids)


def hints_for_notebook(source: Path, nb: nbformat.NotebookNode) -> dict[str, str]:
    """The validated hints of a source notebook, ``{}`` when it has no hints file."""
    path = hints_path(source)
    if not path.is_file():
        return {}
    test_ids = [nbgrader_meta(c).get("grade_id", "") for c in nb.cells if is_test_cell(c)]
    return load_hints(path, test_ids)


def attach_hints(nb: nbformat.NotebookNode, hints: dict[str, str]) -> int:
    """Write each hint into its test cell's ``metadata["aie"]["hint"]`` (in place); returns how many."""
    attached = 0
    for cell in nb.cells:
        hint = hints.get(nbgrader_meta(cell).get("grade_id", "")) if is_test_cell(cell) else None
        if hint:
            cell.metadata.setdefault("aie", {})["hint"] = hint
            attached += 1
    return attached


def cell_hint(cell: nbformat.NotebookNode) -> str:
    """The hint a released test cell carries, ``""`` if none."""
    info = cell.get("metadata", {}).get("aie", {})
    hint = info.get("hint", "") if isinstance(info, dict) else ""
    return hint if isinstance(hint, str) else ""
