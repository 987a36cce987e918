"""A cache of trained adapters, keyed by a fingerprint of everything that decides their weights.

Training is the slow cell of the LoRA lesson. :func:`cached_training` runs it once per key and saves the
model's trainable tensors (the adapters) as safetensors under ``cache_dir("lora-adapters", <key>)``; a later
call with the same key copies them back into a freshly adapted model instead of training. The key is a
:func:`fingerprint` of the base model, the data, the settings and the source of the code that trains, so
editing any of them trains again.

Example::

    >>> key = fingerprint({"r": 8, "steps": 40}, train_file, base_folder, LoRALinear, train)  # doctest: +SKIP
    >>> info = cached_training(model, key, lambda: {"losses": train(model, ...)})          # doctest: +SKIP
    >>> info["cached"]                                                                      # doctest: +SKIP
    False
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from curriculum.paths import cache_dir

__all__ = ["AdapterCacheError", "fingerprint", "cached_training"]

_WEIGHTS = "adapter.safetensors"
_META = "training.json"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")


class AdapterCacheError(ValueError):
    """A cached adapter does not fit the model it should be loaded into, or training returned bad metadata."""


def _source(obj: Any) -> str:
    """Source text of a function or class; for a class defined in a notebook, the source of its methods."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        if inspect.isclass(obj):
            members = sorted((k, v) for k, v in vars(obj).items() if inspect.isfunction(v))
            return obj.__qualname__ + "".join(f"\n{k}:{_source(v)}" for k, v in members)
        code = getattr(obj, "__code__", None)
        if code is None:
            raise TypeError(f"cannot fingerprint {obj!r}: no source and no code object") from None
        return repr((code.co_code, code.co_consts, code.co_names))


def _path_digest(path: Path) -> bytes:
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).digest()
    if path.is_dir():  # a model folder: its config and the names and sizes of its weight files
        digest = hashlib.sha256(str(path.resolve()).encode())
        for child in sorted(path.iterdir()):
            if child.name == "config.json":
                digest.update(child.read_bytes())
            elif child.name.endswith(_WEIGHT_SUFFIXES):
                digest.update(f"{child.name}:{child.stat().st_size}".encode())
        return digest.digest()
    raise FileNotFoundError(f"cannot fingerprint {path}: no such file or folder")


def fingerprint(*parts: Any) -> str:
    """16 hex digits of SHA-256 over ``parts``, in order.

    A ``Path`` counts by its content (a folder by its ``config.json`` and the sizes of its weight files),
    a function or class by its source, anything else by its JSON form (keys sorted).
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            digest.update(b"path:" + _path_digest(part))
        elif inspect.isfunction(part) or inspect.isclass(part):
            digest.update(b"code:" + _source(part).encode())
        else:
            try:
                digest.update(b"json:" + json.dumps(part, sort_keys=True).encode())
            except TypeError as exc:
                raise TypeError(f"cannot fingerprint {part!r}: {exc}") from None
    return digest.hexdigest()[:16]


def _trainable(model: Any) -> dict[str, Any]:
    named = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not named:
        raise AdapterCacheError("the model has no trainable parameters: add the adapters before training")
    return named


def _load_into(model: Any, weights: Path) -> None:
    import torch
    from safetensors.torch import load_file

    saved = load_file(str(weights))
    params = _trainable(model)
    if set(saved) != set(params):
        missing, extra = sorted(set(params) - set(saved)), sorted(set(saved) - set(params))
        raise AdapterCacheError(
            f"{weights} does not fit the model: missing {missing[:3]}, unexpected {extra[:3]} "
            "(the cache key should have changed; delete the folder to train again)"
        )
    with torch.no_grad():
        for name, param in params.items():
            if saved[name].shape != param.shape:
                raise AdapterCacheError(
                    f"{weights}: {name} has shape {tuple(saved[name].shape)}, the model has {tuple(param.shape)}"
                )
            param.copy_(saved[name].to(device=param.device, dtype=param.dtype))


def cached_training(model: Any, key: str, train: Callable[[], dict], *, root: Path | None = None) -> dict:
    """Train ``model``'s trainable parameters once per ``key``; later calls load the saved ones instead.

    ``train()`` trains ``model`` in place and returns JSON-serialisable metadata (the losses, say). The
    result is that metadata plus ``"cached"`` (whether it came from the cache), ``"seconds"`` (training
    time when it was trained) and ``"key"``.
    """
    from safetensors.torch import save_file

    if not key or not isinstance(key, str):
        raise ValueError(f"key must be a non-empty string (got {key!r})")
    folder = (root or cache_dir("lora-adapters")) / key
    if (folder / _META).is_file() and (folder / _WEIGHTS).is_file():
        _load_into(model, folder / _WEIGHTS)
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        return {**meta, "cached": True, "key": key}
    _trainable(model)
    started = time.perf_counter()
    meta = train()
    seconds = time.perf_counter() - started
    if not isinstance(meta, dict):
        raise AdapterCacheError(f"train() must return a dict of metadata (got {type(meta).__name__})")
    meta = {**meta, "seconds": seconds}
    try:
        text = json.dumps(meta, indent=1)
    except TypeError as exc:
        raise AdapterCacheError(f"train() returned metadata that is not JSON-serialisable: {exc}") from None
    tensors = {name: p.detach().cpu().contiguous() for name, p in _trainable(model).items()}
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=folder.parent))
    try:
        save_file(tensors, str(scratch / _WEIGHTS))
        (scratch / _META).write_text(text, encoding="utf-8")
        scratch.chmod(0o755)
        try:
            os.rename(scratch, folder)
        except OSError:
            if not (folder / _META).is_file():  # another process that finished first left a complete copy
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {**meta, "cached": False, "key": key}
