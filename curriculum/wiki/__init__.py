"""The roadmap site: the wiki pages plus a roadmap page generated from ``curriculum/roadmap.toml``.

``aie wiki build`` renders both into a static site (mkdocs with the material theme, search
included, nothing fetched from the internet); ``aie wiki serve`` serves it on 127.0.0.1.
Each chip of the roadmap page links to its wiki page when the item is ready and the page
exists, and to its ``wiki/backlog.md`` entry otherwise.
"""

from curriculum.wiki import site as _site
from curriculum.wiki.site import *  # noqa: F401,F403 (the public API is site.__all__)

__all__ = list(_site.__all__)
