"""The learner's workspace: released notebooks copied into ``workspace/<phase>/``.

A manifest records the hash of each notebook as it was copied. A later sync replaces a
notebook only while it still has that hash (the learner has not touched it); a notebook the
learner changed is always kept, and the newer release is offered beside it instead.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".aie-manifest.json"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class SyncReport:
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)


def sync_workspace(release_root: Path, workspace: Path) -> SyncReport:
    """Copy ``release_root/<phase>/*`` into ``workspace/<phase>/`` without overwriting the learner's work."""
    workspace.mkdir(parents=True, exist_ok=True)
    manifest_path = workspace / MANIFEST
    manifest: dict[str, str] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    report = SyncReport()
    for released in sorted(release_root.glob("*/*")):
        if released.is_dir() and released.name in (".ipynb_checkpoints", "__pycache__"):
            continue
        rel = released.relative_to(release_root).as_posix()
        target = workspace / rel
        if released.is_dir():
            if not target.exists():
                shutil.copytree(released, target)
                report.copied.append(rel)
            continue
        new_hash = _sha(released)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(released, target)
            manifest[rel] = new_hash
            report.copied.append(rel)
        elif _sha(target) == new_hash:
            manifest[rel] = new_hash
            report.unchanged.append(rel)
        elif manifest.get(rel) == _sha(target):
            shutil.copy2(released, target)
            manifest[rel] = new_hash
            report.updated.append(rel)
        else:
            report.kept.append(rel)
            if released.suffix == ".ipynb":
                offer = target.with_name(f"{target.stem}.new-release{target.suffix}")
                shutil.copy2(released, offer)
                report.offered.append(offer.relative_to(workspace).as_posix())
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return report
