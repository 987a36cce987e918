"""The roadmap site: the wiki pages plus a roadmap page generated from ``curriculum/roadmap.toml``.

``aie wiki build`` renders both into a static site (mkdocs with the material theme, search
included, nothing fetched from the internet); ``aie wiki serve`` serves it on 127.0.0.1.
Each chip of the roadmap page links to its wiki page when the item is ready and the page
exists, and to its ``wiki/backlog.md`` entry otherwise.

One module per job:

==================  ==========================================================================
``pages``           the wiki's Markdown pages (front matter + body)
``roadmap_page``    chips and the generated roadmap page's Markdown
``links``           the JupyterLab URL and the rewriting of wiki links for the site
``mkdocs_config``   the mkdocs configuration (theme, search, nav, warnings)
``assets``          the stylesheet and formula script (files in ``assets/``) and the local KaTeX copy
``build``           staging the pages and running mkdocs
``server``          serving a built site on 127.0.0.1
``link_checks``     broken links of a built site
``coverage``        roadmap, wiki and notebooks pointing at each other
==================  ==========================================================================
"""

from curriculum.wiki.assets import find_katex
from curriculum.wiki.build import BuildReport, build_site
from curriculum.wiki.coverage import (
    backlog_anchors,
    chip_problems,
    coverage_problems,
    markdown_links,
    notebook_problems,
    page_problems,
)
from curriculum.wiki.errors import WikiError
from curriculum.wiki.link_checks import lab_link_problems, link_problems
from curriculum.wiki.links import DEFAULT_LAB_URL, LAB_URL_ENV, lab_url, notebook_lab_link, rewrite_links
from curriculum.wiki.pages import WikiPage, read_pages
from curriculum.wiki.roadmap_page import BACKLOG_PAGE, ROADMAP_PAGE, Chip, chips, roadmap_markdown
from curriculum.wiki.server import serve_site

__all__ = [
    "BACKLOG_PAGE",
    "DEFAULT_LAB_URL",
    "LAB_URL_ENV",
    "ROADMAP_PAGE",
    "BuildReport",
    "Chip",
    "WikiError",
    "WikiPage",
    "backlog_anchors",
    "find_katex",
    "build_site",
    "chip_problems",
    "chips",
    "coverage_problems",
    "lab_link_problems",
    "lab_url",
    "link_problems",
    "markdown_links",
    "notebook_lab_link",
    "notebook_problems",
    "page_problems",
    "read_pages",
    "rewrite_links",
    "roadmap_markdown",
    "serve_site",
]
