"""Embeddings for ingestion, with an on-disk cache keyed by the SHA-1 of each text.

Re-building an index (a fresh database, the test suite, a second store backend) reuses the
vectors of texts embedded before, so only new or changed chunks cost time and money. Vectors
come from :func:`curriculum.embeddings.embed` (all-MiniLM-L6-v2, 384 dimensions, unit length).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from curriculum.embeddings import EmbedFn

__all__ = ["default_embed", "CachedEmbedder"]


def default_embed(texts: Sequence[str]) -> np.ndarray:
    """``curriculum.embeddings.embed`` without its own progress bar."""
    from curriculum.embeddings import embed

    return embed(list(texts), progress=False)


class CachedEmbedder:
    """Embed texts in batches, reusing vectors cached in ``path`` (an .npz file) when given.

    The file keeps the ``max_entries`` most recently added vectors (about 1.5 KB each).
    """

    def __init__(
        self, embed: EmbedFn = default_embed, path: Path | None = None, batch_size: int = 64, max_entries: int = 50_000
    ) -> None:
        self.embed = embed
        self.path = Path(path) if path else None
        self.batch_size = batch_size
        self.max_entries = max_entries
        self._cache: dict[str, np.ndarray] | None = None
        self._dirty = False
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _load(self) -> dict[str, np.ndarray]:
        if self._cache is None:
            self._cache = {}
            if self.path and self.path.exists():
                try:
                    with np.load(self.path) as data:
                        self._cache = dict(zip(data["keys"].tolist(), data["vectors"]))
                except (OSError, ValueError, KeyError):
                    self._cache = {}  # a damaged cache is rebuilt
        return self._cache

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The distinct texts that would have to be embedded."""
        cache = self._load()
        return list(dict.fromkeys(t for t in texts if self.key(t) not in cache))

    def __call__(self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors of ``texts`` (cached ones reused); ``on_batch(n)`` is called after each batch of new ones."""
        with self._lock:
            cache = self._load()
            todo = self.missing(texts)
            for start in range(0, len(todo), self.batch_size):
                batch = todo[start : start + self.batch_size]
                vectors = np.asarray(self.embed(batch), dtype=np.float32)
                for text, vector in zip(batch, vectors):
                    cache[self.key(text)] = vector
                self._dirty = True
                if on_batch:
                    on_batch(len(batch))
            out = np.zeros((len(texts), 384), dtype=np.float32)
            for i, text in enumerate(texts):
                out[i] = cache[self.key(text)]
            return out

    def save(self) -> None:
        """Write the cache atomically (no-op without a path or without new vectors)."""
        with self._lock:
            if not self.path or not self._dirty or not self._cache:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            while len(self._cache) > self.max_entries:
                del self._cache[next(iter(self._cache))]  # oldest first (dicts keep insertion order)
            keys = np.array(list(self._cache))
            vectors = np.stack(list(self._cache.values())).astype(np.float32)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
            os.close(fd)
            try:
                np.savez(tmp, keys=keys, vectors=vectors)
                os.replace(tmp, self.path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            self._dirty = False
