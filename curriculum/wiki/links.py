"""Links of the roadmap site: the JupyterLab base URL, links that open a notebook in it, and the rewriting of
a wiki page's links so that they work inside the built site.

Example::

    >>> notebook_lab_link("http://127.0.0.1:8888", "00_prereqs/01_a b.ipynb")
    'http://127.0.0.1:8888/lab/tree/00_prereqs/01_a%20b.ipynb'
    >>> rewrite_links("[nb](../00_prereqs/01_a.ipynb) [w](../wiki/b.md)", "http://127.0.0.1:8888")
    '[nb](http://127.0.0.1:8888/lab/tree/00_prereqs/01_a.ipynb) [w](b.md)'
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote, urlsplit

from curriculum.wiki.errors import WikiError

__all__ = ["DEFAULT_LAB_URL", "LAB_URL_ENV", "lab_url", "notebook_lab_link", "rewrite_links"]

DEFAULT_LAB_URL = "http://127.0.0.1:8888"
LAB_URL_ENV = "AIE_LAB_URL"

# ../<phase>/<notebook>.ipynb as a link target in Markdown ("](", "]: ") or HTML (href=").
_NOTEBOOK_LINK = re.compile(
    r"""(?P<lead>\]\(\s*<?|^\[[^\]]+\]:\s*<?|href=["'])\.\./(?P<path>\d\d_[a-z]+/[A-Za-z0-9_.-]+\.ipynb)(?P<frag>#[^\s)"'>]*)?""",
    re.M,
)
# ../wiki/<page> from a wiki page is the same folder.
_WIKI_LINK = re.compile(r"""(?P<lead>\]\(\s*<?|^\[[^\]]+\]:\s*<?|href=["'])\.\./wiki/""", re.M)


def lab_url(value: str | None = None) -> str:
    """The JupyterLab base URL: ``value``, else ``$AIE_LAB_URL``, else ``http://127.0.0.1:8888``."""
    raw = (value or os.environ.get(LAB_URL_ENV) or DEFAULT_LAB_URL).strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise WikiError(
            f"the JupyterLab URL (--lab-url or {LAB_URL_ENV}) must look like {DEFAULT_LAB_URL}, got {raw!r}"
        )
    return raw.rstrip("/")


def notebook_lab_link(lab: str, notebook_path: str) -> str:
    """Link that opens ``<phase>/<notebook>.ipynb`` of the learner workspace in a running JupyterLab."""
    return f"{lab.rstrip('/')}/lab/tree/{quote(notebook_path, safe='/')}"


def rewrite_links(
    markdown: str, lab: str, notebooks: set[str] | None = None, coming: dict[str, str] | None = None
) -> str:
    """Make a wiki page's links work inside the site.

    ``../<phase>/<notebook>.ipynb`` becomes the JupyterLab link to that notebook in the learner
    workspace (which mirrors the phase folders). When ``notebooks`` (the notebooks that exist) is
    given and lacks it, the link goes to ``coming[path]`` instead (the backlog entry of the item
    the notebook is for), or stays as it is when there is none, for the link check to report.
    ``../wiki/<page>`` becomes ``<page>``.
    """

    def notebook(m: re.Match) -> str:
        path = m.group("path")
        if notebooks is None or path in notebooks:
            return m.group("lead") + notebook_lab_link(lab, path) + (m.group("frag") or "")
        if coming and path in coming:
            return m.group("lead") + coming[path]
        return m.group(0)

    markdown = _NOTEBOOK_LINK.sub(notebook, markdown)
    return _WIKI_LINK.sub(lambda m: m.group("lead"), markdown)
