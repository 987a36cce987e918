"""Small text helpers of the offline reference model: words, stems, content terms, sentences.

Example::

    >>> content_terms("What terminates the nearest enclosing loops?")
    ['terminat', 'nearest', 'enclos', 'loop']
    >>> split_sentences("It stops the loop, e.g. a for loop. Then control moves on.")
    ['It stops the loop, e.g. a for loop.', 'Then control moves on.']
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["STOPWORDS", "words", "stem", "content_terms", "split_sentences"]

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been before
    being below between both but by can cannot could did didn do does doesn doing don down during each
    either else few for from further had has have having he her here hers herself him himself his how
    i if in into is isn it its itself just least let like may me might more most must my myself no nor
    not now of off on once only or other ought our ours ourselves out over own per please same shall
    she should so some such than that the their theirs them themselves then there these they this
    those through thus to too under until up upon us very via was we were what when where whether
    which while who whom whose why will with within without would yes yet you your yours yourself
    yourselves tell explain describe give show mean means meant use used using happen happens
    """.split()
)

_WORD = re.compile(r"[a-z0-9_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[`A-Z0-9_])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "mr.", "mrs.", "dr.", "fig.", "no.", "approx.")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits and underscores, so identifiers stay whole)."""
    return _WORD.findall(text.lower())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix-stripping stemmer: both sides of every comparison go through it.

    >>> [stem(w) for w in ("loops", "terminated", "terminating", "terminate", "assertion", "libraries")]
    ['loop', 'terminat', 'terminat', 'terminat', 'assert', 'library']
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            break
    if w.endswith("ly") and len(w) > 5:
        w = w[:-2]
    if w.endswith("ation") and len(w) > 7:
        w = w[:-3]
    elif w.endswith(("tion", "sion")) and len(w) > 6:
        w = w[:-3]
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def content_terms(text: str) -> list[str]:
    """Stemmed words of ``text`` without stop words, in order (repeats kept)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def split_sentences(text: str) -> list[str]:
    """Split into sentences at ``. ! ?`` followed by a capital/digit/quote, and at line breaks.

    Common abbreviations (e.g., i.e., etc.) do not end a sentence.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        pieces = _SENTENCE_END.split(line)
        merged: list[str] = []
        for piece in pieces:
            piece = piece.strip()
            if not piece:
                continue
            if merged and merged[-1].lower().endswith(_ABBREVIATIONS):
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        sentences.extend(merged)
    return sentences
