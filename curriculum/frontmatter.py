"""Front matter of Markdown pages (``---`` YAML block first), parsed once, with python-frontmatter.

>>> meta, body = split_front_matter("---\\ntitle: Cosine\\ntags: [math]\\n---\\n# Cosine\\n")
>>> meta["title"], meta["tags"], body
('Cosine', ['math'], '# Cosine')
>>> split_front_matter("# No front matter")
({}, '# No front matter')
"""

from __future__ import annotations

from typing import Any

import frontmatter

__all__ = ["FrontMatterError", "split_front_matter"]


class FrontMatterError(ValueError):
    """The page starts with a front-matter block that is not valid YAML mapping."""


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """``(metadata, body)`` of a Markdown page; a page without front matter gives ``({}, text)``."""
    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # yaml.YAMLError and friends: report them as one error type
        raise FrontMatterError(f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(post.metadata, dict):
        raise FrontMatterError("front matter must be a mapping of keys to values")
    return dict(post.metadata), post.content
