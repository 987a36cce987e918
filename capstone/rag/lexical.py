"""BM25 over the chunk table (``bm25s``), with a tokenizer that keeps Python's keywords.

Generic English stop-word lists drop ``is``, ``not``, ``in``, ``for``, ``with``, ``as`` and
``yield``-like words that are exactly what a question about Python asks about, so the stop
words here leave every Python keyword and soft keyword in.

Example::

    >>> tokenize("What does the 'with' statement do?")
    ['with', 'statement']
"""

from __future__ import annotations

import keyword
import math
import re
import threading

import numpy as np

from capstone.rag.store import ChunkTable

__all__ = ["STOPWORDS", "tokenize", "BM25Index"]

_ENGLISH = """a about above after again against all am an any are aren at be because been before being below
between both but by can cannot could did didn do does doesn doing don down during each few further had has
have having he her here hers herself him himself his how i into isn it its itself just me more most my myself
no nor now of off on once only other ought our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which who whom why will would you your yours yourself yourselves tell explain
describe give show mean means please""".split()
STOPWORDS = frozenset(w for w in _ENGLISH if w not in set(keyword.kwlist) | set(keyword.softkwlist))
_WORD = re.compile(r"[a-z0-9_]+")


def _stem(word: str) -> str:
    """Strip a plural or a common verb ending (query and corpus go through the same function)."""
    if len(word) <= 4 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("ing") and len(word) >= 6:
        return word[:-3]
    if word.endswith("ed") and len(word) >= 5:
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (identifiers kept whole), stop words removed, lightly stemmed."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


class BM25Index:
    """An in-memory BM25 index of a :class:`ChunkTable`, rebuilt when the corpus version moves."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._retriever = None
        self._vocab: set[str] = set()
        self._public = np.zeros(0, dtype=np.float32)
        self._owners = np.zeros(0, dtype=np.int64)
        self._ids: list[str] = []
        self._tokens: dict[tuple, list[str]] = {}
        self.idf: dict[str, float] = {}  # BM25-style IDF of every indexed term
        self._lock = threading.Lock()

    def tokens(self, chunk) -> list[str]:
        """Index tokens of a chunk (cached by id and text, so a rebuild only tokenizes new chunks)."""
        key = (chunk.id, hash(chunk.text), chunk.title, chunk.heading)
        cached = self._tokens.get(key)
        if cached is None:
            cached = self._tokens[key] = tokenize(f"{chunk.title} {chunk.heading} {chunk.source.rsplit('/', 1)[-1]} {chunk.text}") or ["_empty_"]
        return cached

    def _build(self, table: ChunkTable) -> None:
        import bm25s

        corpus = [self.tokens(c) for c in table.chunks]
        live = {(c.id, hash(c.text), c.title, c.heading) for c in table.chunks}
        self._tokens = {k: v for k, v in self._tokens.items() if k in live}
        df: dict[str, int] = {}
        for toks in corpus:
            for term in set(toks):
                df[term] = df.get(term, 0) + 1
        n = max(len(corpus), 1)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        retriever = bm25s.BM25()
        if corpus:
            retriever.index(corpus, show_progress=False)
        self._vocab = set(retriever.vocab_dict) if corpus else set()
        self._retriever = retriever if corpus else None
        self._ids = table.ids
        self._public = np.array([c.visibility == "public" for c in table.chunks], dtype=np.float32)
        self._owners = np.array([c.owner_id if c.owner_id is not None else -1 for c in table.chunks], dtype=np.int64)
        self._version = table.version

    def ensure(self, table: ChunkTable) -> None:
        """Rebuild the index if ``table`` is newer than what was indexed."""
        if self._version != table.version:
            with self._lock:
                if self._version != table.version:
                    self._build(table)

    def search(self, query: str, k: int, viewer: int | None) -> list[tuple[str, float]]:
        """The ``k`` best chunks for ``query`` among those ``viewer`` may see, with BM25 scores > 0."""
        retriever, ids = self._retriever, self._ids
        terms = [t for t in tokenize(query) if t in self._vocab]
        if retriever is None or not terms:
            return []
        mask = self._public if viewer is None else np.maximum(self._public, (self._owners == viewer).astype(np.float32))
        scores = retriever.get_scores(terms, weight_mask=mask)
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(ids[i], float(scores[i])) for i in top if scores[i] > 0]
