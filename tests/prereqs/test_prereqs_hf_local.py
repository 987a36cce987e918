"""The shipped all-MiniLM-L6-v2 files as a git remote and as a hub cache read offline by huggingface_hub."""

import hashlib
import os
import subprocess

import pytest

from curriculum.prereqs.hf_local import REPO_ID, make_git_remote, make_hub_cache, model_files


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_model_files_are_the_shipped_model():
    files = model_files()
    assert {"config.json", "model.safetensors", "tokenizer.json", "1_Pooling/config.json"} <= set(files)


def test_hub_cache_is_read_offline(tmp_path):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download

    snapshot = make_hub_cache(tmp_path / "hub", revision="a" * 40)
    assert snapshot.name == "a" * 40
    assert snapshot_download(REPO_ID, cache_dir=tmp_path / "hub") == str(snapshot)
    config = hf_hub_download(REPO_ID, "config.json", cache_dir=tmp_path / "hub")
    assert sha256(model_files()["config.json"]) == hashlib.sha256(open(config, "rb").read()).hexdigest()
    info = scan_cache_dir(tmp_path / "hub")
    assert [r.repo_id for r in info.repos] == [REPO_ID]
    assert next(iter(info.repos)).nb_files == len(model_files())
    # building twice is harmless
    assert make_hub_cache(tmp_path / "hub", revision="a" * 40) == snapshot


def test_hub_cache_rejects_bad_revision(tmp_path):
    with pytest.raises(ValueError):
        make_hub_cache(tmp_path, revision="main")


@pytest.mark.slow
def test_git_remote_clones_to_identical_files(tmp_path):
    commit = make_git_remote(tmp_path / "remote.git")
    assert len(commit) == 40
    assert make_git_remote(tmp_path / "again.git") == commit  # deterministic
    subprocess.run(["git", "clone", "-q", str(tmp_path / "remote.git"), str(tmp_path / "clone")], check=True)
    for rel, src in model_files().items():
        cloned = tmp_path / "clone" / rel
        assert cloned.stat().st_size == src.stat().st_size, rel
    assert sha256(tmp_path / "clone" / "config.json") == sha256(model_files()["config.json"])
    with pytest.raises(FileExistsError):
        make_git_remote(tmp_path / "clone")
