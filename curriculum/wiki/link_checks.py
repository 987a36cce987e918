"""Checks of a built roadmap site: every internal link names a file and an anchor of the site, and every
JupyterLab link names a notebook of the course. External links (http, mailto, ...) are not followed.

Example::

    assert link_problems(Path("site")) == []
    assert lab_link_problems(Path("site"), "http://127.0.0.1:8888") == []
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

from curriculum.paths import REPO_ROOT

__all__ = ["lab_link_problems", "link_problems", "parse_html"]


def parse_html(text: str) -> BeautifulSoup:
    """An HTML document parsed with lxml."""
    return BeautifulSoup(text, "lxml")


_URL_ATTRS = (("a", "href"), ("link", "href"), ("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"))


def link_problems(site_dir: Path | str) -> list[str]:
    """Broken internal links of a built site: every href/src of every HTML page must name a file of
    the site, and its ``#fragment`` an id on that page. External (http, mailto, ...) links are skipped."""
    site_dir = Path(site_dir).resolve()
    ids: dict[Path, set[str]] = {}

    def ids_of(path: Path) -> set[str]:
        if path not in ids:
            soup = parse_html(path.read_text(encoding="utf-8", errors="replace"))
            ids[path] = {el.get("id") for el in soup.find_all(id=True)} | {
                el.get("name") for el in soup.find_all("a", attrs={"name": True})
            }
        return ids[path]

    problems = []
    for page in sorted(site_dir.rglob("*.html")):
        rel_page = page.relative_to(site_dir).as_posix()
        soup = parse_html(page.read_text(encoding="utf-8", errors="replace"))
        for tag, attr in _URL_ATTRS:
            for el in soup.find_all(tag, attrs={attr: True}):
                url = el[attr].strip()
                parts = urlsplit(url)
                if parts.scheme or parts.netloc or url in ("", "#"):
                    continue
                if not parts.path:
                    target = page
                elif parts.path.startswith("/"):
                    target = (site_dir / unquote(parts.path).lstrip("/")).resolve()
                else:
                    target = (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if site_dir not in target.parents:
                    problems.append(f"{rel_page}: {tag} {url!r} points outside the site")
                elif not target.is_file():
                    problems.append(f"{rel_page}: {tag} {url!r}: no such file")
                elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_of(target):
                    problems.append(f"{rel_page}: {tag} {url!r}: no element with id {unquote(parts.fragment)!r}")
    return problems


def lab_link_problems(site_dir: Path | str, lab: str, repo_root: Path = REPO_ROOT) -> list[str]:
    """JupyterLab links of a built site that name no notebook of the course (the workspace mirrors
    the phase folders, so ``<lab>/lab/tree/<phase>/<nb>.ipynb`` must exist as ``<phase>/<nb>.ipynb``)."""
    prefix = f"{lab.rstrip('/')}/lab/tree/"
    problems = []
    for page in sorted(Path(site_dir).rglob("*.html")):
        for el in parse_html(page.read_text(encoding="utf-8", errors="replace")).find_all("a", href=True):
            href = el["href"]
            if href.startswith(prefix):
                rel = unquote(urlsplit(href).path[len(urlsplit(prefix).path) :])
                if not (repo_root / rel).is_file():
                    problems.append(
                        f"{page.relative_to(site_dir).as_posix()}: link to JupyterLab names {rel}, "
                        "which is not a notebook of the course"
                    )
    return problems
