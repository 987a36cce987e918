"""The retrieval modes, named once: every signature, schema and setting that takes a mode imports them.

>>> MODES
('hybrid', 'bm25', 'dense')
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["RetrievalMode", "MODES"]

#: ``hybrid`` (BM25 and dense, fused), ``bm25`` (lexical only) or ``dense`` (embeddings only).
RetrievalMode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[str, ...] = get_args(RetrievalMode)
