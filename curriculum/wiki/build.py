"""Build the roadmap site: stage the wiki with the generated roadmap page in a temporary folder, run mkdocs,
and move the result into place (only over a folder that is itself a built site).

Example::

    report = build_site(Path("site"), lab="http://127.0.0.1:8888")
    print(report.chips_to_pages, "chips lead to pages,", report.chips_to_backlog, "to the backlog")
    assert link_problems(report.out) == []
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from curriculum.paths import REPO_ROOT, WIKI_DIR
from curriculum.roadmap import Roadmap, load_roadmap
from curriculum.wiki.assets import copy_assets, find_katex
from curriculum.wiki.errors import WikiError
from curriculum.wiki.links import lab_url, rewrite_links
from curriculum.wiki.mkdocs_config import mkdocs_config
from curriculum.wiki.pages import read_pages
from curriculum.wiki.roadmap_page import BACKLOG_PAGE, ROADMAP_PAGE, Chip, chips, roadmap_markdown

__all__ = ["BuildReport", "build_site"]


@dataclass
class BuildReport:
    """What :func:`build_site` did."""

    out: Path
    wiki_pages: list[str]  # slugs of the wiki's own pages (backlog excluded)
    html_pages: int
    chips: list[Chip]
    seconds: float
    warnings: list[str] = field(default_factory=list)
    math: str = "tex"  # "katex" when formulas are typeset, "tex" when they show as TeX source

    @property
    def chips_to_pages(self) -> int:
        return sum(c.target == "page" for c in self.chips)

    @property
    def chips_to_backlog(self) -> int:
        return sum(c.target == "backlog" for c in self.chips)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _looks_like_site(path: Path) -> bool:
    return (path / "search" / "search_index.json").is_file() or (path / "sitemap.xml").is_file()


def _replace_dir(new: Path, out: Path, protected: list[Path]) -> None:
    out = out.resolve()
    for p in protected:
        p = p.resolve()
        if out == p or out in p.parents:
            raise WikiError(f"refusing to build into {out}: it would replace {p}")
    if out.exists():
        if not out.is_dir():
            raise WikiError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not _looks_like_site(out):
            raise WikiError(f"refusing to replace {out}: it is not empty and is not a built site")
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(new), str(out))


def build_site(
    out: Path | str = REPO_ROOT / "site",
    *,
    wiki_dir: Path | str = WIKI_DIR,
    roadmap: Roadmap | None = None,
    lab: str | None = None,
    repo_root: Path = REPO_ROOT,
) -> BuildReport:
    """Render the roadmap page and the wiki into a static site in ``out`` (replaced if it is a built site).

    The wiki is copied to a temporary staging folder with the generated roadmap page as its
    home page; mkdocs never writes into the repository. Notebook links open the notebook in
    JupyterLab, or the backlog entry while the notebook (in ``repo_root``) does not exist yet.
    Warnings from mkdocs are returned.
    """
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    start = time.perf_counter()
    wiki_dir, out, repo_root = Path(wiki_dir), Path(out), Path(repo_root)
    if wiki_dir.resolve() in out.resolve().parents:
        raise WikiError(f"refusing to build into {out}: it is inside the wiki folder {wiki_dir}")
    roadmap = roadmap or load_roadmap()
    lab = lab_url(lab)
    pages = read_pages(wiki_dir)
    if "index" in pages:
        raise WikiError(
            f"{wiki_dir / ROADMAP_PAGE} would replace the roadmap page, which is generated from "
            "roadmap.toml; rename that page"
        )
    chip_list = chips(roadmap, set(pages))
    notebooks = {i.notebook_path for i in roadmap.items if (repo_root / i.notebook_path).is_file()}
    coming: dict[str, str] = {}
    for item in roadmap.items:
        coming.setdefault(item.notebook_path, f"{BACKLOG_PAGE}#{item.id}")
    with tempfile.TemporaryDirectory(prefix="aie-wiki-") as tmp:
        docs, staged_site = Path(tmp) / "docs", Path(tmp) / "site"
        shutil.copytree(wiki_dir, docs, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        for slug, page in pages.items():
            (docs / f"{slug}.md").write_text(rewrite_links(page.text, lab, notebooks, coming), encoding="utf-8")
        (docs / ROADMAP_PAGE).write_text(roadmap_markdown(roadmap, chip_list, lab), encoding="utf-8")
        katex = find_katex()
        copy_assets(docs, katex)
        config_file = Path(tmp) / "mkdocs.yml"
        config = mkdocs_config(roadmap, pages, docs, staged_site, katex=katex is not None)
        config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        logger = logging.getLogger("mkdocs")
        collect, propagate = _Collect(), logger.propagate
        logger.addHandler(collect)
        logger.propagate = False
        try:
            build(load_config(config_file=str(config_file)))
        except MkDocsException as exc:
            raise WikiError(f"mkdocs could not build the site: {exc}") from None
        finally:
            logger.removeHandler(collect)
            logger.propagate = propagate
        _replace_dir(staged_site, out, protected=[REPO_ROOT, repo_root, wiki_dir])
    return BuildReport(
        out=out,
        wiki_pages=[s for s in pages if s != "backlog"],
        html_pages=sum(1 for _ in out.rglob("*.html")),
        chips=chip_list,
        seconds=time.perf_counter() - start,
        warnings=collect.messages,
        math="katex" if katex else "tex",
    )
