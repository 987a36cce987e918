"""The one error type of the roadmap site: raised for bad input, its message names the file and the reason."""

from __future__ import annotations

__all__ = ["WikiError"]


class WikiError(ValueError):
    """The wiki or the site cannot be built as asked; the message names the file and the reason."""
