"""The one text pipeline of the project: words, stems, content terms, sentences.

The offline reference model (``offline_qa``, ``offline_tools``) and the capstone's BM25 index
(``capstone.rag.lexical``) both read text through :func:`content_terms`, so a question is cut
into the same terms on both sides of every comparison:

* words are lower-cased runs of letters, digits and underscores (identifiers such as
  ``__enter__`` stay whole), and Python's multi-character operators plus ``~`` (``<<``, ``**``,
  ``//``, ``==``, ``->``, ``:=``: a question about ``<<`` is a question about shifting);
* stop words are a generic English list *without* Python's keywords and soft keywords:
  ``with``, ``is``, ``in``, ``not``, ``for``, ``match`` are what a question about Python asks about;
* stems come from the Snowball English stemmer (PyStemmer); a word holding a digit or an
  underscore is an identifier and is not stemmed.

Example::

    >>> content_terms("What terminates the nearest enclosing loops?")
    ['termin', 'nearest', 'enclos', 'loop']
    >>> content_terms("What does the `with` statement do if it is not async?")
    ['with', 'statement', 'if', 'is', 'not', 'async']
    >>> content_terms("Why is -1**2 equal to -1? What does a << b do?")
    ['is', '1', '**', '2', 'equal', '1', '<<']
    >>> split_sentences("It stops the loop, e.g. a for loop. Then control moves on.")
    ['It stops the loop, e.g. a for loop.', 'Then control moves on.']
"""

from __future__ import annotations

import keyword
import re
import threading
from functools import lru_cache

import Stemmer

__all__ = ["STOPWORDS", "words", "stem", "content_terms", "split_sentences"]

_ENGLISH = """
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
#: Generic English stop words, Python's keywords and soft keywords left out (they carry meaning here).
STOPWORDS = frozenset(w for w in _ENGLISH if w not in set(keyword.kwlist) | set(keyword.softkwlist))

_WORD = re.compile(r"[a-z0-9_]+|<<=?|>>=?|\*\*=?|//=?|[=!<>]=|->|:=|~")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[`A-Z0-9_])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "mr.", "mrs.", "dr.", "fig.", "no.", "approx.")
_local = threading.local()  # a Stemmer object is not thread-safe: one per thread


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits and underscores, so identifiers stay whole) and operators.

    >>> words("x <<= 2 if a != b else ~c")
    ['x', '<<=', '2', 'if', 'a', '!=', 'b', 'else', '~', 'c']
    """
    return _WORD.findall(text.lower())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball English stem of ``word``; identifiers (digits, underscores) are kept as they are.

    >>> [stem(w) for w in ("loops", "terminated", "terminating", "assertion", "libraries", "__enter__")]
    ['loop', 'termin', 'termin', 'assert', 'librari', '__enter__']
    """
    if not word.isalpha():
        return word
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer.stemWord(word)


def content_terms(text: str) -> list[str]:
    """Stemmed words and operators of ``text`` without stop words or single letters, in order (repeats kept)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or not w.isalpha())]


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
