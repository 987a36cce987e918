"""The roadmap as typed data: load and validate ``curriculum/roadmap.toml``.

Example::

    >>> rm = load_roadmap()
    >>> rm.phase("00_prereqs").items[0].text
    'Implement cosine similarity from scratch using only Python lists.'

``load_roadmap`` checks the file's own consistency (ids, kinds, points) and raises
:class:`RoadmapError` naming every problem; :func:`repository_problems` checks the
roadmap against the repository (notebooks and wiki pages that must exist).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from curriculum.paths import REPO_ROOT

__all__ = [
    "ROADMAP_PATH",
    "REPO_ROOT",
    "Criterion",
    "Item",
    "Phase",
    "Roadmap",
    "RoadmapError",
    "load_roadmap",
    "repository_problems",
]

ROADMAP_PATH = Path(__file__).with_name("roadmap.toml")

KINDS = ("task", "question")
STATUSES = ("ready", "backlog")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_PHASE_ID = re.compile(r"^\d\d_[a-z]+$")
_NOTEBOOK = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")


class RoadmapError(ValueError):
    """The roadmap file is malformed; the message lists every problem found."""


@dataclass(frozen=True)
class Item:
    """One roadmap line: a hands-on task or a question, hosted by one notebook."""

    id: str
    kind: str
    text: str
    notebook: str
    wiki: str
    points: int
    phase: str
    hands_on: bool = False
    status: str = "ready"

    @property
    def notebook_path(self) -> str:
        """Path of the source notebook relative to the repository root."""
        return f"{self.phase}/{self.notebook}"

    @property
    def ready(self) -> bool:
        return self.status == "ready"


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    summary: str
    items: tuple[Item, ...]

    @property
    def notebooks(self) -> list[str]:
        """Notebook file names of this phase in roadmap order, without repeats."""
        return list(dict.fromkeys(i.notebook for i in self.items))


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str
    wiki: str
    status: str = "ready"


@dataclass(frozen=True)
class Roadmap:
    title: str
    tagline: str
    footer: str
    phases: tuple[Phase, ...]
    capstone_id: str
    capstone_title: str
    capstone_text: str
    capstone_wiki: str
    capstone_status: str
    criteria: tuple[Criterion, ...] = field(default_factory=tuple)

    @property
    def items(self) -> list[Item]:
        return [i for p in self.phases for i in p.items]

    def phase(self, phase_id: str) -> Phase:
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise KeyError(f"no phase {phase_id!r}; phases are {[p.id for p in self.phases]}")

    def item(self, item_id: str) -> Item:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(f"no roadmap item {item_id!r}")

    def items_for_notebook(self, notebook_path: str) -> list[Item]:
        """Items hosted by ``<phase>/<file>.ipynb`` (a path relative to the repo root)."""
        return [i for i in self.items if i.notebook_path == notebook_path]

    def notebook_paths(self, *, ready_only: bool = False) -> list[str]:
        """Every notebook path in roadmap order; with ``ready_only`` only those hosting a ready item."""
        paths = list(dict.fromkeys(i.notebook_path for i in self.items))
        if ready_only:
            paths = [p for p in paths if any(i.ready for i in self.items_for_notebook(p))]
        return paths


def _req(table: dict, key: str, where: str, problems: list[str], typ: type = str):
    value = table.get(key)
    if value is None:
        problems.append(f"{where}: missing '{key}'")
        return typ()
    if not isinstance(value, typ) or isinstance(value, bool) and typ is not bool:
        problems.append(f"{where}: '{key}' must be a {typ.__name__}, got {value!r}")
        return typ()
    return value


def parse_roadmap(data: dict) -> Roadmap:
    """Build a :class:`Roadmap` from parsed TOML, collecting every problem before raising."""
    problems: list[str] = []
    role = data.get("role", {})
    phases: list[Phase] = []
    seen_ids: dict[str, str] = {}
    for pi, ptab in enumerate(data.get("phase", [])):
        pid = _req(ptab, "id", f"phase #{pi + 1}", problems)
        where_p = f"phase {pid or '#' + str(pi + 1)}"
        if pid and not _PHASE_ID.match(pid):
            problems.append(f"{where_p}: id must look like '00_prereqs'")
        items = []
        for ii, itab in enumerate(ptab.get("item", [])):
            iid = _req(itab, "id", f"{where_p} item #{ii + 1}", problems)
            where = f"item {iid or '#' + str(ii + 1)} ({pid})"
            if iid and not _ID.match(iid):
                problems.append(f"{where}: id must be lowercase letters, digits and dashes")
            if iid in seen_ids:
                problems.append(f"{where}: duplicate id (also in {seen_ids[iid]})")
            seen_ids[iid] = pid
            kind = _req(itab, "kind", where, problems)
            if kind and kind not in KINDS:
                problems.append(f"{where}: kind {kind!r} is not one of {KINDS}")
            notebook = _req(itab, "notebook", where, problems)
            if notebook and not _NOTEBOOK.match(notebook):
                problems.append(f"{where}: notebook {notebook!r} must be named NN_slug.ipynb")
            points = _req(itab, "points", where, problems, int)
            if isinstance(points, int) and points <= 0:
                problems.append(f"{where}: points must be positive")
            status = itab.get("status", "ready")
            if status not in STATUSES:
                problems.append(f"{where}: status {status!r} is not one of {STATUSES}")
            unknown = set(itab) - {"id", "kind", "text", "notebook", "wiki", "points", "hands_on", "status"}
            if unknown:
                problems.append(f"{where}: unknown keys {sorted(unknown)}")
            items.append(
                Item(
                    id=iid,
                    kind=kind,
                    text=_req(itab, "text", where, problems),
                    notebook=notebook,
                    wiki=_req(itab, "wiki", where, problems),
                    points=points,
                    phase=pid,
                    hands_on=bool(itab.get("hands_on", False)),
                    status=status,
                )
            )
        if not items:
            problems.append(f"{where_p}: has no items")
        phases.append(
            Phase(
                id=pid,
                title=_req(ptab, "title", where_p, problems),
                summary=_req(ptab, "summary", where_p, problems),
                items=tuple(items),
            )
        )
    if not phases:
        problems.append("roadmap has no [[phase]] tables")
    cap = data.get("capstone", {})
    criteria = []
    for ci, ctab in enumerate(cap.get("criterion", [])):
        cid = _req(ctab, "id", f"capstone criterion #{ci + 1}", problems)
        if cid in seen_ids:
            problems.append(f"capstone criterion {cid}: duplicate id")
        seen_ids[cid] = "capstone"
        criteria.append(
            Criterion(
                id=cid,
                text=_req(ctab, "text", f"criterion {cid}", problems),
                wiki=_req(ctab, "wiki", f"criterion {cid}", problems),
                status=ctab.get("status", "ready"),
            )
        )
    if problems:
        raise RoadmapError("roadmap.toml is invalid:\n  - " + "\n  - ".join(problems))
    return Roadmap(
        title=role.get("title", ""),
        tagline=role.get("tagline", ""),
        footer=role.get("footer", ""),
        phases=tuple(phases),
        capstone_id=cap.get("id", "capstone"),
        capstone_title=cap.get("title", ""),
        capstone_text=cap.get("text", ""),
        capstone_wiki=cap.get("wiki", "capstone"),
        capstone_status=cap.get("status", "ready"),
        criteria=tuple(criteria),
    )


def load_roadmap(path: Path | str = ROADMAP_PATH) -> Roadmap:
    """Read and validate the roadmap TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RoadmapError(f"{path}: not valid TOML: {exc}") from exc
    return parse_roadmap(data)


def repository_problems(roadmap: Roadmap, root: Path = REPO_ROOT) -> list[str]:
    """What the repository lacks for the roadmap's ready items.

    A ready item needs its notebook and its wiki page; a backlog item needs an entry in
    ``wiki/backlog.md`` (a line containing its id). Returns one message per problem.
    """
    problems: list[str] = []
    backlog = root / "wiki" / "backlog.md"
    backlog_text = backlog.read_text(encoding="utf-8") if backlog.exists() else ""
    for item in roadmap.items:
        if item.ready:
            if not (root / item.notebook_path).is_file():
                problems.append(f"{item.id}: notebook {item.notebook_path} does not exist")
            if not (root / "wiki" / f"{item.wiki}.md").is_file():
                problems.append(f"{item.id}: wiki page wiki/{item.wiki}.md does not exist")
        elif f"`{item.id}`" not in backlog_text:
            problems.append(f"{item.id}: status is backlog but wiki/backlog.md has no entry `{item.id}`")
    for wiki, status, ident in [(roadmap.capstone_wiki, roadmap.capstone_status, roadmap.capstone_id)] + [
        (c.wiki, c.status, c.id) for c in roadmap.criteria
    ]:
        if status == "ready" and not (root / "wiki" / f"{wiki}.md").is_file():
            problems.append(f"{ident}: wiki page wiki/{wiki}.md does not exist")
        elif status != "ready" and f"`{ident}`" not in backlog_text:
            problems.append(f"{ident}: status is backlog but wiki/backlog.md has no entry `{ident}`")
    return problems
