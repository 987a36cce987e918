"""Coverage checks: the roadmap, the wiki and the notebooks point at each other.

Every chip reaches a page or a backlog anchor (:func:`chip_problems`), every page's front matter
names its roadmap item and links to its notebook (:func:`page_problems`), every ready notebook links
back to its page (:func:`notebook_problems`); :func:`coverage_problems` runs the three. Links are found
by rendering the Markdown with Python-Markdown (the renderer mkdocs uses), not by patterns.

Example::

    assert coverage_problems(load_roadmap()) == []
"""

from __future__ import annotations

import json
from pathlib import Path

from curriculum.paths import REPO_ROOT, WIKI_DIR
from curriculum.roadmap import Roadmap
from curriculum.wiki.errors import WikiError
from curriculum.wiki.link_checks import parse_html
from curriculum.wiki.pages import read_pages
from curriculum.wiki.roadmap_page import BACKLOG_PAGE, chips

__all__ = [
    "backlog_anchors",
    "chip_problems",
    "coverage_problems",
    "markdown_links",
    "notebook_problems",
    "page_problems",
]


def markdown_links(text: str) -> list[str]:
    """The link targets of a Markdown text (inline, reference-style and HTML links)."""
    import markdown

    rendered = markdown.markdown(text, extensions=["attr_list", "md_in_html", "tables", "footnotes"])
    return [a["href"] for a in parse_html(rendered).find_all("a", href=True)]


def backlog_anchors(text: str) -> set[str]:
    """The ids of the ``<a id="...">`` anchors of ``wiki/backlog.md``."""
    anchors = parse_html(text).find_all("a")
    return {a.get("id") or a.get("name") for a in anchors if a.get("id") or a.get("name")}


def _notebook_markdown(path: Path) -> list[str]:
    """Sources of a notebook's cells in order; code cells count as empty (they hold no wiki links)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise WikiError(f"{path}: not a valid notebook: {exc}") from None
    out = []
    for cell in nb.get("cells", []):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        out.append(src if cell.get("cell_type") == "markdown" else "")
    return out


def chip_problems(roadmap: Roadmap, wiki_dir: Path | str = WIKI_DIR) -> list[str]:
    """Chips that lead nowhere: each must reach an existing page or an ``<a id>`` of ``wiki/backlog.md``."""
    pages = read_pages(wiki_dir)
    backlog = pages.get("backlog")
    anchors = backlog_anchors(backlog.text) if backlog else set()
    problems = []
    for chip in chips(roadmap, set(pages)):
        if chip.target == "page":
            continue
        if backlog is None:
            problems.append(f"chip {chip.id}: links to the backlog, but wiki/{BACKLOG_PAGE} does not exist")
        elif chip.id not in anchors:
            problems.append(f'chip {chip.id}: wiki/{BACKLOG_PAGE} has no anchor <a id="{chip.id}">')
    return problems


def page_problems(roadmap: Roadmap, wiki_dir: Path | str = WIKI_DIR) -> list[str]:
    """Wiki pages whose front matter or notebook link does not match the roadmap.

    Every page but the backlog has ``title`` and ``roadmap_id``; the id names a roadmap item, the
    capstone or a criterion whose ``wiki`` slug is this page. For items, ``phase`` and ``notebook``
    match the roadmap and the page links to its notebook as ``../<phase>/<notebook>.ipynb``.
    """
    problems: list[str] = []
    items = {i.id: i for i in roadmap.items}
    others = {roadmap.capstone_id: roadmap.capstone_wiki, **{c.id: c.wiki for c in roadmap.criteria}}
    for slug, page in read_pages(wiki_dir).items():
        if slug == "backlog":
            continue
        where = f"wiki/{slug}.md"
        rid = page.meta.get("roadmap_id")
        if not page.meta.get("title"):
            problems.append(f"{where}: front matter has no title")
        if not rid:
            problems.append(f"{where}: front matter has no roadmap_id")
            continue
        if rid in others:
            if others[rid] != slug:
                problems.append(f"{where}: roadmap_id {rid!r} belongs to wiki/{others[rid]}.md")
            continue
        item = items.get(rid)
        if item is None:
            problems.append(f"{where}: roadmap_id {rid!r} is not an item of roadmap.toml")
            continue
        if item.wiki != slug:
            problems.append(f"{where}: roadmap_id {rid!r} belongs to wiki/{item.wiki}.md")
        if page.meta.get("phase") != item.phase:
            problems.append(f"{where}: phase {page.meta.get('phase')!r} should be {item.phase!r}")
        if page.meta.get("notebook") != item.notebook_path:
            problems.append(f"{where}: notebook {page.meta.get('notebook')!r} should be {item.notebook_path!r}")
        if f"../{item.notebook_path}" not in {h.split("#")[0] for h in markdown_links(page.body)}:
            problems.append(f"{where}: does not link to its notebook as ../{item.notebook_path}")
    return problems


def notebook_problems(roadmap: Roadmap, wiki_dir: Path | str = WIKI_DIR, repo_root: Path = REPO_ROOT) -> list[str]:
    """Ready items whose page or notebook is missing, or whose notebook does not link to the page.

    A task's notebook links to the page as ``../wiki/<slug>.md`` from its first cell; a question,
    hosted by another item's notebook, from any Markdown cell of it.
    """
    wiki_dir = Path(wiki_dir)
    problems: list[str] = []
    for item in roadmap.items:
        if not item.ready:
            continue
        if not (wiki_dir / f"{item.wiki}.md").is_file():
            problems.append(f"{item.id}: ready, but wiki/{item.wiki}.md does not exist")
        nb_path = Path(repo_root) / item.notebook_path
        if not nb_path.is_file():
            problems.append(f"{item.id}: ready, but its notebook {item.notebook_path} does not exist")
            continue
        cells = _notebook_markdown(nb_path)
        searched = cells[:1] if item.kind == "task" else cells
        target = f"../wiki/{item.wiki}.md"
        if not any(target in {h.split("#")[0] for h in markdown_links(c)} for c in searched):
            where = "its first cell does not link" if item.kind == "task" else "no Markdown cell links"
            problems.append(f"{item.notebook_path}: {where} to the wiki page of {item.id} as {target}")
    return problems


def coverage_problems(roadmap: Roadmap, wiki_dir: Path | str = WIKI_DIR, repo_root: Path = REPO_ROOT) -> list[str]:
    """Everything that keeps the roadmap, the wiki and the notebooks from pointing at each other:
    :func:`chip_problems`, :func:`page_problems` and :func:`notebook_problems` together."""
    return (
        chip_problems(roadmap, wiki_dir)
        + page_problems(roadmap, wiki_dir)
        + notebook_problems(roadmap, wiki_dir, repo_root)
    )
