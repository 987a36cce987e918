"""The mkdocs configuration of the roadmap site: material theme without web fonts, built-in search, nav in
roadmap order, warnings for every broken link, and KaTeX for formulas when a local copy exists.

Pure: :func:`mkdocs_config` returns the configuration as a dict; :func:`curriculum.wiki.build.build_site`
writes it as YAML next to the staged pages.
"""

from __future__ import annotations

from pathlib import Path

from curriculum.roadmap import Roadmap
from curriculum.wiki.assets import CSS_PATH, KATEX_ASSETS, MATH_JS_PATH
from curriculum.wiki.pages import WikiPage
from curriculum.wiki.roadmap_page import BACKLOG_PAGE, ROADMAP_PAGE

__all__ = ["mkdocs_config"]


def mkdocs_config(
    roadmap: Roadmap, pages: dict[str, WikiPage], docs_dir: Path, site_dir: Path, katex: bool = False
) -> dict:
    """The mkdocs configuration: material theme without web fonts, built-in search, nav in roadmap order.

    With ``katex`` the formulas are typeset by a local copy of KaTeX; without it they show as TeX source.
    """
    nav: list = [{"Roadmap": ROADMAP_PAGE}]
    placed = {"backlog"}
    for phase in roadmap.phases:
        slugs = [s for s in dict.fromkeys(i.wiki for i in phase.items) if s in pages]
        if slugs:
            nav.append({phase.title: [f"{s}.md" for s in slugs]})
            placed.update(slugs)
    cap = [s for s in dict.fromkeys([roadmap.capstone_wiki, *(c.wiki for c in roadmap.criteria)]) if s in pages]
    if cap:
        nav.append({roadmap.capstone_title: [f"{s}.md" for s in cap]})
        placed.update(cap)
    others = [f"{s}.md" for s in pages if s not in placed]
    if others:
        nav.append({"More": others})
    if "backlog" in pages:
        nav.append({"Backlog": BACKLOG_PAGE})
    return {
        "site_name": f"{roadmap.title} Track" if roadmap.title else "Roadmap",
        "site_description": roadmap.tagline,
        "docs_dir": str(docs_dir),
        "site_dir": str(site_dir),
        "use_directory_urls": False,  # x.md -> x.html: works from a static server and from file://
        "theme": {
            "name": "material",
            "font": False,  # no Google Fonts: the site is built and read offline
            "features": ["navigation.sections", "navigation.top", "search.highlight", "content.code.copy"],
            "palette": {"primary": "indigo", "accent": "indigo"},
        },
        "plugins": ["search"],
        "markdown_extensions": [
            "attr_list",
            "md_in_html",
            "admonition",
            "tables",
            "footnotes",
            {"toc": {"permalink": True}},
            "pymdownx.superfences",
            {"pymdownx.highlight": {"use_pygments": True}},
            {"pymdownx.arithmatex": {"generic": True}},
        ],
        "extra_css": [CSS_PATH, *([f"{KATEX_ASSETS}/katex.min.css"] if katex else [])],
        "extra_javascript": [f"{KATEX_ASSETS}/katex.min.js", MATH_JS_PATH] if katex else [],
        "extra": {"generator": False},
        "nav": nav,
        "validation": {
            "omitted_files": "warn",
            "absolute_links": "warn",
            "unrecognized_links": "warn",
            "anchors": "warn",
        },
    }
