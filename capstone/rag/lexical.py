"""BM25 over the chunk table (``bm25s``), one index per visibility scope, following the database.

Terms come from the project's one text pipeline, :func:`curriculum.llm.text.content_terms`
(Snowball stems; Python's keywords and operators kept), the same terms the offline model reads.

Two fields per chunk: its text, and its *head* (document title, section heading and the last
part of the source name, ``python-reference/assert`` -> ``assert``). A chunk's score is
``bm25(text) + HEAD_WEIGHT * bm25(head)``, so the page named after the question's topic beats a
long page that merely repeats the words.

Per-visibility statistics
-------------------------
BM25's IDF and average length are corpus statistics: an index over every chunk would let a
private word change the scores (and timings) that other callers see. So each caller is scored
against the chunks it may read and nothing else: the **public view** (public chunks; anonymous
callers and users without private documents) and one **owner view** per user with private
documents (public chunks plus that user's own). An owner view is built on the owner's first
search after a change (one index build over the chunks that owner may read; nobody else waits
for it) and the ``max_owner_views`` most recent are kept. A change to one user's private
documents rebuilds that user's view only; the public view is rebuilt only when public chunks change.

Following the database
----------------------
:meth:`LexicalIndex.refresh_if_stale` reads the corpus version row (one indexed row, bumped in the
same transaction as every insert, update or delete of a document) and, when it moved, reloads the
chunk table and rebuilds the views whose chunks changed. The retriever calls it on every request,
so an upload through one server process is searchable through every other on its next request.

Duplicated passages
-------------------
The same passage often appears in several documents (a page that includes its sub-pages). Each
view maps such a passage to its copies in the most specific documents (fewest chunks), and
:meth:`LexicalView.collapse` credits a ranked copy to them: ``compound`` holds the text of ``if``,
``while`` and ``for``; a hit on that text ranks the ``if`` page, once.

Example::

    >>> tokenize("What does the 'with' statement do?")
    ['with', 'statement']
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from curriculum.llm.text import content_terms

if TYPE_CHECKING:
    from capstone.rag.store import ChunkStore, ChunkTable, StoredChunk

__all__ = ["HEAD_WEIGHT", "tokenize", "head_text", "LexicalView", "LexicalIndex"]

#: Weight of the head field against the text field (chosen on the dev split: ``capstone.evals.retrieval``).
HEAD_WEIGHT = 0.5

#: The index's tokenizer: the project's one text pipeline.
tokenize = content_terms

_EMPTY = ["_empty_"]  # bm25s needs at least one token per document


def head_text(chunk: StoredChunk) -> str:
    """Title, heading and the source name's last part of a chunk (the head field)."""
    name = chunk.source.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")
    return f"{chunk.title} {chunk.heading} {name}"


def _passage_key(text: str) -> str:
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()


def _fingerprint(chunks: list[StoredChunk]) -> str:
    digest = hashlib.sha1()
    for c in chunks:
        digest.update(f"{c.id}\x00{c.title}\x00{c.heading}\x00{c.visibility}\x00{c.owner_id}\x00".encode())
        digest.update(c.text.encode("utf-8"))
    return digest.hexdigest()


class _Field:
    """One bm25s index over one field of a view's chunks."""

    def __init__(self, corpus: list[list[str]]) -> None:
        import bm25s

        self.retriever = bm25s.BM25()
        self.retriever.index(corpus, show_progress=False)
        self.vocab = set(self.retriever.vocab_dict)

    def scores(self, terms: list[str], n: int) -> np.ndarray:
        known = [t for t in terms if t in self.vocab]
        return self.retriever.get_scores(known) if known else np.zeros(n, dtype=np.float32)


@dataclass
class LexicalView:
    """BM25 over the chunks one caller may read, with statistics of those chunks only."""

    fingerprint: str
    ids: list[str]
    text: _Field | None = None
    head: _Field | None = None
    twins: dict[str, list[str]] = field(default_factory=dict)  # chunk id -> most specific copies of its passage

    @classmethod
    def build(cls, chunks: list[StoredChunk], fingerprint: str, tokens) -> LexicalView:
        """Index ``chunks``; ``tokens(chunk) -> (text terms, head terms)`` (cached by the caller)."""
        view = cls(fingerprint, [c.id for c in chunks])
        if chunks:
            pairs = [tokens(c) for c in chunks]
            view.text = _Field([p[0] for p in pairs])
            view.head = _Field([p[1] for p in pairs])
        view.twins = _twins(chunks)
        return view

    def search(self, query: str, k: int, head_weight: float = HEAD_WEIGHT) -> list[tuple[str, float]]:
        """The ``k`` best chunks for ``query``, with scores > 0, best first (ties by position)."""
        terms = tokenize(query)
        if self.text is None or not terms or k < 1:
            return []
        n = len(self.ids)
        scores = self.text.scores(terms, n) + head_weight * self.head.scores(terms, n)
        k = min(k, n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def collapse(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """``ranked`` with each duplicated passage listed once, as its most specific copies, where it first ranks."""
        out: list[tuple[str, float]] = []
        seen: set[str] = set()
        for chunk_id, score in ranked:
            copies = self.twins.get(chunk_id, [chunk_id])
            for copy in copies:
                if copy not in seen:
                    seen.add(copy)
                    out.append((copy, score))
            seen.add(chunk_id)
        return out


def _twins(chunks: list[StoredChunk]) -> dict[str, list[str]]:
    """For every chunk whose text appears in several documents: the copies in the documents with fewest chunks."""
    size = Counter(c.source for c in chunks)
    groups: dict[str, list[StoredChunk]] = defaultdict(list)
    for c in chunks:
        groups[_passage_key(c.text)].append(c)
    twins: dict[str, list[str]] = {}
    for group in groups.values():
        if len({c.source for c in group}) < 2:
            continue
        smallest = min(size[c.source] for c in group)
        best = [c.id for c in group if size[c.source] == smallest]
        for c in group:
            twins[c.id] = best
    return twins


class LexicalIndex:
    """The public view and the owner views of one :class:`ChunkStore`, rebuilt when the corpus version moves."""

    def __init__(self, store: ChunkStore, *, max_owner_views: int = 64) -> None:
        self.store = store
        self.max_owner_views = max_owner_views
        self.table: ChunkTable | None = None
        self._public: LexicalView | None = None
        self._public_chunks: list[StoredChunk] = []
        self._private: dict[int, list[StoredChunk]] = {}
        self._owners: OrderedDict[int, LexicalView] = OrderedDict()
        self._tokens: dict[tuple, tuple[list[str], list[str]]] = {}
        self._lock = threading.RLock()

    def tokens(self, chunk: StoredChunk) -> tuple[list[str], list[str]]:
        """(text terms, head terms) of a chunk, cached by id and content so rebuilds tokenize new chunks only."""
        key = (chunk.id, hash(chunk.text), chunk.title, chunk.heading)
        cached = self._tokens.get(key)
        if cached is None:
            cached = self._tokens[key] = (tokenize(chunk.text) or _EMPTY, tokenize(head_text(chunk)) or _EMPTY)
        return cached

    def refresh_if_stale(self) -> bool:
        """Follow the database: one version read; reload and rebuild what changed when it moved (True then)."""
        table = self.store.table()
        if self.table is not None and self.table.version == table.version:
            return False
        with self._lock:
            if self.table is not None and self.table.version == table.version:
                return False
            self._rebuild(table)
            return True

    def _rebuild(self, table: ChunkTable) -> None:
        public = [c for c in table.chunks if c.visibility == "public"]
        private: dict[int, list[StoredChunk]] = defaultdict(list)
        for c in table.chunks:
            if c.visibility != "public" and c.owner_id is not None:
                private[c.owner_id].append(c)
        fingerprint = _fingerprint(public)
        if self._public is None or self._public.fingerprint != fingerprint:
            self._public = LexicalView.build(public, fingerprint, self.tokens)
            self._owners.clear()  # every owner view holds the public chunks too
        for owner, view in list(self._owners.items()):
            if view.fingerprint != self._owner_fingerprint(fingerprint, private.get(owner, [])):
                del self._owners[owner]
        live = {(c.id, hash(c.text), c.title, c.heading) for c in table.chunks}
        self._tokens = {k: v for k, v in self._tokens.items() if k in live}
        self._public_chunks, self._private, self.table = public, dict(private), table

    @staticmethod
    def _owner_fingerprint(public_fingerprint: str, own: list[StoredChunk]) -> str:
        return f"{public_fingerprint}:{_fingerprint(own)}"

    def view(self, viewer: int | None) -> LexicalView:
        """The view of ``viewer`` (None: anonymous): public chunks, plus the viewer's own private ones."""
        if self.table is None:
            self.refresh_if_stale()
        own = self._private.get(viewer) if viewer is not None else None
        if not own:
            return self._public
        with self._lock:
            view = self._owners.get(viewer)
            if view is None:
                public = self._public.fingerprint
                view = LexicalView.build(self._public_chunks + own, self._owner_fingerprint(public, own), self.tokens)
                self._owners[viewer] = view
                while len(self._owners) > self.max_owner_views:
                    self._owners.popitem(last=False)
            self._owners.move_to_end(viewer)
            return view

    def search(
        self, query: str, k: int, viewer: int | None, head_weight: float = HEAD_WEIGHT
    ) -> list[tuple[str, float]]:
        """The ``k`` best chunks for ``query`` among those ``viewer`` may see, scored with that view's statistics."""
        return self.view(viewer).search(query, k, head_weight)
