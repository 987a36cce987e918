"""A streamed draft never shows the canary: :class:`DraftScreen` holds text back until it is known to be clean.

The tokens of a generative answer reach the caller before the answer is checked (the ``citations`` event
carries the checked one). With a canary configured, the draft is shown only up to a window behind what
the model wrote (wide enough for the canary in any spelling :func:`~capstone.guard.output.leaks_canary`
reads: spaced out, hex, base64), and once the text written so far leaks the canary nothing more is shown.
Without a canary every delta passes at once.

Example::

    >>> screen = DraftScreen("CANARY-5b1e0c7d9a24")
    >>> screen.feed("The secret is "), screen.feed("CANARY-5b1e0c7d9a24 " + "x" * 200), screen.stopped
    ('', '', True)
    >>> DraftScreen(None).feed("pass does nothing")
    'pass does nothing'
"""

from __future__ import annotations

from capstone.guard.output import leaks_canary

__all__ = ["DraftScreen"]


class DraftScreen:
    """Feed it the model's deltas; it returns the part that may be shown now."""

    def __init__(self, canary: str | None) -> None:
        self.canary = canary
        self.window = 4 * len(canary) + 16 if canary else 0
        self.text = ""
        self.shown = 0
        self.stopped = False

    def feed(self, delta: str) -> str:
        """The newly showable text after ``delta`` was written ("" while held back or once stopped)."""
        self.text += delta
        if self.stopped:
            return ""
        if self.canary and leaks_canary(self.text, self.canary):
            self.stopped = True
            return ""
        end = max(self.shown, len(self.text) - self.window)
        out, self.shown = self.text[self.shown : end], end
        return out

    def flush(self) -> str:
        """The held-back tail, once the model is done (nothing when the draft leaked)."""
        if self.stopped:
            return ""
        out, self.shown = self.text[self.shown :], len(self.text)
        return out
