"""The local package index: a real pypiserver on 127.0.0.1 that pip/uv install from and twine uploads to."""

import gc
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from curriculum.prereqs.package_index import PackageIndex, PackageIndexError, normalize_name, write_wheel

UV = Path(sys.executable).with_name("uv")


def uv_env(tmp_path: Path) -> dict:
    return {
        **os.environ,
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_CONFIG": "1",
    }


def test_normalize_name():
    assert normalize_name("AIE_Text.Utils") == "aie-text-utils"
    with pytest.raises(ValueError):
        normalize_name("bad name!")


def test_write_wheel_is_a_standard_wheel(tmp_path):
    wheel = write_wheel(tmp_path, "aie-demo", "1.2.0", {"aie_demo/__init__.py": "X = 1\n"}, requires=["aie-other>=1"])
    assert wheel.name == "aie_demo-1.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = zf.read("aie_demo-1.2.0.dist-info/METADATA").decode()
        record = zf.read("aie_demo-1.2.0.dist-info/RECORD").decode()
    assert {"aie_demo/__init__.py", "aie_demo-1.2.0.dist-info/WHEEL"} <= names
    assert "Requires-Dist: aie-other>=1" in meta and "Version: 1.2.0" in meta
    assert "aie_demo/__init__.py,sha256=" in record


@pytest.mark.parametrize("bad", [dict(version="one"), dict(files={}), dict(files={"../x.py": ""}), dict(name="a b")])
def test_write_wheel_rejects_bad_input(tmp_path, bad):
    kwargs = dict(name="aie-demo", version="1.0", files={"aie_demo.py": ""}) | bad
    with pytest.raises(ValueError):
        write_wheel(tmp_path, **kwargs)


def test_index_serves_uploads_and_installs(tmp_path):
    packages = tmp_path / "packages"
    write_wheel(packages, "aie-demo", "1.0.0", {"aie_demo/__init__.py": "VALUE = 'one'\n"})
    with PackageIndex(packages) as index:
        assert index.running and index.url.startswith("http://127.0.0.1:")
        assert index.projects() == ["aie-demo"]
        assert list(index.files("AIE_demo")) == ["aie_demo-1.0.0-py3-none-any.whl"]
        assert index.files("not-there") == {}

        # a real upload with twine
        newer = write_wheel(tmp_path / "dist", "aie-demo", "1.1.0", {"aie_demo/__init__.py": "VALUE = 'two'\n"})
        up = subprocess.run(
            [
                sys.executable,
                "-m",
                "twine",
                "upload",
                "--non-interactive",
                "--disable-progress-bar",
                "--repository-url",
                index.upload_url,
                "-u",
                "x",
                "-p",
                "x",
                str(newer),
            ],
            capture_output=True,
            text=True,
        )
        assert up.returncode == 0, up.stdout + up.stderr
        assert (packages / newer.name).is_file()
        # versions are immutable unless overwrite=True, as on PyPI
        again = subprocess.run(
            [
                sys.executable,
                "-m",
                "twine",
                "upload",
                "--non-interactive",
                "--disable-progress-bar",
                "--repository-url",
                index.upload_url,
                "-u",
                "x",
                "-p",
                "x",
                str(newer),
            ],
            capture_output=True,
            text=True,
        )
        assert again.returncode != 0

        # install the newest version into a fresh venv with uv, from this index only
        env = uv_env(tmp_path)
        subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(tmp_path / "venv")], env=env, check=True)
        py = tmp_path / "venv" / "bin" / "python"
        subprocess.run(
            [str(UV), "pip", "install", "-q", "--python", str(py), "--index-url", index.simple_url, "aie-demo"],
            env=env,
            check=True,
        )
        out = subprocess.run([str(py), "-c", "import aie_demo; print(aie_demo.VALUE)"], capture_output=True, text=True)
        assert out.stdout.strip() == "two"
    assert not index.running


def test_owned_folder_is_removed_and_bad_host_refused():
    index = PackageIndex().start()
    folder = index.packages_dir
    assert folder.is_dir() and index.log_path.is_file()
    index.stop()
    assert not folder.exists() and not index.log_path.exists()
    with pytest.raises(PackageIndexError):
        index.start()  # a stopped index is not restarted
    with pytest.raises(ValueError):
        PackageIndex(host="0.0.0.0")
    unstarted = PackageIndex()
    scratch = unstarted.log_path.parent
    with pytest.raises(PackageIndexError):
        _ = unstarted.url
    del unstarted
    gc.collect()
    assert not scratch.exists(), "an index that was never started leaves nothing behind"
