"""The wiki's Markdown pages: front matter (parsed by :func:`curriculum.frontmatter.split_front_matter`) and body.

Example::

    >>> page = parse_page("cosine", "---\\ntitle: Cosine\\n---\\n# Cosine similarity\\n")
    >>> page.title, page.heading, page.meta
    ('Cosine', 'Cosine similarity', {'title': 'Cosine'})
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curriculum.frontmatter import FrontMatterError, split_front_matter
from curriculum.paths import WIKI_DIR
from curriculum.wiki.errors import WikiError

__all__ = ["WikiPage", "parse_page", "read_pages"]


@dataclass(frozen=True)
class WikiPage:
    """One Markdown file of ``wiki/``: its front matter, its body and its whole text."""

    slug: str
    meta: dict
    body: str
    text: str

    @property
    def title(self) -> str:
        """The ``title`` of the front matter, else the slug."""
        return str(self.meta.get("title") or self.slug)

    @property
    def heading(self) -> str:
        """The page's first ``# `` heading (what a reader sees on top of the page), else its title."""
        for line in self.body.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
        return self.title


def parse_page(slug: str, text: str) -> WikiPage:
    """Split a wiki page into YAML front matter and body; raise :class:`WikiError` naming the page on bad YAML."""
    try:
        meta, body = split_front_matter(text)
    except FrontMatterError as exc:
        raise WikiError(f"wiki/{slug}.md: {exc}") from None
    return WikiPage(slug=slug, meta=meta, body=body, text=text)


def read_pages(wiki_dir: Path = WIKI_DIR) -> dict[str, WikiPage]:
    """Every ``*.md`` page directly in ``wiki_dir``, by slug (file name without ``.md``)."""
    wiki_dir = Path(wiki_dir)
    if not wiki_dir.is_dir():
        raise WikiError(f"wiki folder {wiki_dir} does not exist")
    return {
        path.stem: parse_page(path.stem, path.read_text(encoding="utf-8")) for path in sorted(wiki_dir.glob("*.md"))
    }
