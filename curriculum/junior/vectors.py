"""Synthetic, embedding-like unit vectors for vector-store measurements.

Embedding a few thousand texts on a laptop CPU takes longer than the measurements they feed, and
at that size real sentence embeddings are so well separated that every index finds every
neighbour. :func:`clustered_unit_vectors` draws points around random topic centres on the unit
sphere instead: ``spread`` sets how far points stray from their centre (larger = harder for an
approximate index), ``clusters`` how many topics there are. Same seed, same vectors.

Example::

    >>> x = clustered_unit_vectors(1000, dim=384, seed=0)
    >>> x.shape, x.dtype
    ((1000, 384), dtype('float32'))
    >>> bool(abs(float((x[0] ** 2).sum()) - 1.0) < 1e-5)
    True
"""

from __future__ import annotations

import numpy as np

__all__ = ["clustered_unit_vectors"]


def clustered_unit_vectors(
    n: int, dim: int = 384, clusters: int = 256, spread: float = 1.8, seed: int = 0
) -> np.ndarray:
    """``(n, dim)`` float32 unit vectors: random cluster centres plus Gaussian noise of norm about ``spread``."""
    if n < 0 or dim < 1 or clusters < 1:
        raise ValueError(f"need n >= 0, dim >= 1 and clusters >= 1 (got n={n}, dim={dim}, clusters={clusters})")
    if spread < 0:
        raise ValueError(f"spread must be >= 0 (got {spread})")
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, clusters, n)
    points = centres[labels] + spread * rng.standard_normal((n, dim)) / np.sqrt(dim)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)
