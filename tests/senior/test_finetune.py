"""curriculum.finetune: the adapter cache of the LoRA lesson and how it finds its base model."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from curriculum.finetune import AdapterCacheError, base_model_folder, cached_training, fingerprint
from curriculum.llm.errors import ConfigurationError


class _Adapted(nn.Module):
    """A frozen linear layer with one trainable low-rank pair, like a model after add_lora."""

    def __init__(self, rank: int = 2):
        super().__init__()
        self.base = nn.Linear(4, 3)
        self.base.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.randn(rank, 4))
        self.lora_B = nn.Parameter(torch.zeros(3, rank))


def _train(model: _Adapted, calls: list) -> dict:
    calls.append(1)
    with torch.no_grad():
        model.lora_B.fill_(0.5)
    return {"losses": [2.0, 1.0]}


def test_first_call_trains_and_later_calls_load_the_same_weights(tmp_path):
    calls = []
    first = _Adapted()
    info = cached_training(first, "k1", lambda: _train(first, calls), root=tmp_path)
    assert info["cached"] is False and info["losses"] == [2.0, 1.0] and info["seconds"] >= 0
    fresh = _Adapted()
    again = cached_training(fresh, "k1", lambda: _train(fresh, calls), root=tmp_path)
    assert calls == [1], "the second call must not train"
    assert again["cached"] is True and again["losses"] == [2.0, 1.0]
    assert torch.equal(fresh.lora_B, first.lora_B) and torch.equal(fresh.lora_A, first.lora_A)
    assert json.loads((tmp_path / "k1" / "training.json").read_text())["losses"] == [2.0, 1.0]


def test_frozen_weights_are_not_saved(tmp_path):
    model = _Adapted()
    cached_training(model, "k2", lambda: {}, root=tmp_path)
    from safetensors.torch import load_file

    assert set(load_file(str(tmp_path / "k2" / "adapter.safetensors"))) == {"lora_A", "lora_B"}


def test_a_cached_adapter_that_does_not_fit_is_refused_with_its_path(tmp_path):
    model = _Adapted(rank=2)
    cached_training(model, "k3", lambda: {}, root=tmp_path)
    with pytest.raises(AdapterCacheError, match="shape"):
        cached_training(_Adapted(rank=3), "k3", lambda: {}, root=tmp_path)
    other = _Adapted()
    other.extra = nn.Parameter(torch.zeros(1))
    with pytest.raises(AdapterCacheError, match="missing"):
        cached_training(other, "k3", lambda: {}, root=tmp_path)


def test_training_without_trainable_parameters_or_with_bad_metadata_is_an_error(tmp_path):
    frozen = _Adapted()
    frozen.requires_grad_(False)
    with pytest.raises(AdapterCacheError, match="no trainable parameters"):
        cached_training(frozen, "k4", lambda: {}, root=tmp_path)
    with pytest.raises(AdapterCacheError, match="JSON"):
        cached_training(_Adapted(), "k5", lambda: {"losses": torch.zeros(2)}, root=tmp_path)
    assert not (tmp_path / "k5").exists(), "a failed save leaves no cache entry"
    with pytest.raises(ValueError, match="key"):
        cached_training(_Adapted(), "", lambda: {}, root=tmp_path)


def test_the_default_cache_lives_under_the_course_cache(private_cache):
    model = _Adapted()
    info = cached_training(model, "k6", lambda: {})
    assert (private_cache / "lora-adapters" / info["key"] / "adapter.safetensors").is_file()


def _step_a(x):
    return x + 1


def _step_b(x):
    return x + 2


def test_fingerprint_changes_with_settings_data_and_code(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"a": 1}\n')
    key = fingerprint({"r": 8, "lr": 0.002}, data, _step_a)
    assert len(key) == 16 and key == fingerprint({"lr": 0.002, "r": 8}, data, _step_a)
    assert key != fingerprint({"r": 16, "lr": 0.002}, data, _step_a)
    assert key != fingerprint({"r": 8, "lr": 0.002}, data, _step_b)
    data.write_text('{"a": 2}\n')
    assert key != fingerprint({"r": 8, "lr": 0.002}, data, _step_a)


def test_fingerprint_of_a_model_folder_reads_its_config_not_its_weights(tmp_path):
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    key = fingerprint(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"y" * 10)
    assert fingerprint(tmp_path) == key, "same size: the weights are not hashed"
    (tmp_path / "config.json").write_text('{"hidden_size": 16}')
    assert fingerprint(tmp_path) != key


def test_fingerprint_of_a_class_without_a_source_file_uses_its_methods():
    namespace: dict = {}
    exec("class Layer:\n    def forward(self, x):\n        return x * 2\n", namespace)
    first = fingerprint(namespace["Layer"])
    exec("class Layer:\n    def forward(self, x):\n        return x * 3\n", namespace)
    assert fingerprint(namespace["Layer"]) != first


def test_fingerprint_refuses_what_it_cannot_hash(tmp_path):
    with pytest.raises(TypeError, match="cannot fingerprint"):
        fingerprint(object())
    with pytest.raises(FileNotFoundError, match="no such file"):
        fingerprint(tmp_path / "missing")


def test_base_model_folder_takes_the_environment_variable(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert base_model_folder({"AIE_LORA_BASE_MODEL": str(tmp_path)}) == tmp_path.resolve()


def test_base_model_folder_names_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(ConfigurationError, match="AIE_LORA_BASE_MODEL.*no config.json"):
        base_model_folder({"AIE_LORA_BASE_MODEL": str(tmp_path)})


def test_base_model_folder_defaults_to_the_converted_smollm2():
    folder = base_model_folder({})
    assert isinstance(folder, Path) and (folder / "model.safetensors").is_file()
    assert json.loads((folder / "config.json").read_text())["model_type"] == "llama"
