"""A real, local Python package index: pypiserver on 127.0.0.1, the offline stand-in for TestPyPI.

Example::

    from curriculum.prereqs.package_index import PackageIndex, write_wheel

    with PackageIndex() as index:            # free port, temporary packages folder
        print(index.simple_url)              # pip / uv: --index-url (uv: --default-index)
        print(index.upload_url)              # twine upload --repository-url
        ...

The index accepts uploads without authentication (twine still asks for a user name and a
password: any non-empty value works) and never redirects to pypi.org, so nothing leaves the
machine. Like PyPI, it refuses to overwrite a file that is already published unless
``overwrite=True``.

:func:`write_wheel` builds a small pure-Python wheel straight into a folder, so an exercise can
start with dependencies already "published" on the index.
"""

from __future__ import annotations

import base64
import hashlib
import html.parser
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
import zipfile
from pathlib import Path

from curriculum.net import free_port

__all__ = ["PackageIndex", "PackageIndexError", "normalize_name", "write_wheel"]

_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_VERSION = re.compile(r"^\d+(\.\d+)*([ab]|rc)?\d*(\.post\d+)?(\.dev\d+)?$")


class PackageIndexError(RuntimeError):
    """The index could not be started, or answered with an error."""


def normalize_name(name: str) -> str:
    """PEP 503 normalised project name: normalize_name("AIE_Text.Utils") == "aie-text-utils"."""
    if not _NAME.match(name):
        raise ValueError(f"not a valid Python project name: {name!r}")
    return re.sub(r"[-_.]+", "-", name).lower()


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data):
        if self._href is not None and data.strip():
            self.links.append((data.strip(), self._href))

    def handle_endtag(self, tag):
        if tag == "a":
            self._href = None


class PackageIndex:
    """A pypiserver process serving ``packages_dir`` on ``host:port`` (a free port when not given).

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. The server is also
    stopped when the object is garbage-collected or the interpreter exits. When no
    ``packages_dir`` is given, a temporary folder is created and removed on :meth:`stop`.
    """

    def __init__(
        self,
        packages_dir: Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        overwrite: bool = False,
        startup_timeout: float = 30.0,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the local index only listens on the loopback interface, not {host!r}")
        self.host = host
        self.port = port
        self.overwrite = overwrite
        self.startup_timeout = startup_timeout
        # private scratch folder: the server log, and the packages folder when none is given;
        # removed by stop(), or when this object is garbage-collected or the interpreter exits
        state = Path(tempfile.mkdtemp(prefix="aie-index-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(state), True)
        self.packages_dir = Path(packages_dir) if packages_dir is not None else state / "packages"
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = state / "server.log"
        self._proc: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None

    # -- addresses ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:49152``."""
        if self.port is None:
            raise PackageIndexError("the index is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def simple_url(self) -> str:
        """The PEP 503 "simple" API: pip's ``--index-url``, uv's ``--default-index``."""
        return self.url + "/simple/"

    @property
    def upload_url(self) -> str:
        """Where ``twine upload --repository-url`` (or ``uv publish --publish-url``) sends files."""
        return self.url + "/"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ---------------------------------------------------------------------------
    def command(self, port: int) -> list[str]:
        """The pypiserver command line this index runs."""
        cmd = [
            sys.executable,
            "-m",
            "pypiserver",
            "run",
            "--host",
            self.host,
            "--port",
            str(port),
            "--authenticate",
            ".",
            "--passwords",
            ".",  # no authentication: uploads allowed from this machine
            "--disable-fallback",  # never redirect to pypi.org
        ]
        if self.overwrite:
            cmd.append("--overwrite")
        return cmd + [str(self.packages_dir)]

    def start(self) -> PackageIndex:
        """Start the server and wait until it answers; returns ``self``."""
        if self.running:
            return self
        fixed_port = self.port is not None
        last_error = ""
        for _attempt in range(1 if fixed_port else 3):
            port = self.port if fixed_port else free_port(self.host)
            if not self.log_path.parent.is_dir():
                raise PackageIndexError("this index was stopped; create a new PackageIndex")
            log = open(self.log_path, "ab")
            proc = subprocess.Popen(self.command(port), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(f"http://{self.host}:{port}/health", timeout=2) as resp:
                        if resp.status == 200:
                            self._proc, self.port = proc, port
                            self._finalizer = weakref.finalize(self, _stop_process, proc)
                            return self
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.1)
            _stop_process(proc)
            last_error = self.log_path.read_text(errors="replace")[-2000:]
        raise PackageIndexError(f"pypiserver did not start on {self.host} (log {self.log_path}):\n{last_error}")

    def stop(self) -> None:
        """Stop the server; remove its log, and the packages folder if this object created it."""
        if self._finalizer is not None:
            self._finalizer()  # runs _stop_process once
            self._finalizer = None
        self._proc = None
        self._cleanup()

    def __enter__(self) -> PackageIndex:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"PackageIndex({state}, packages_dir={str(self.packages_dir)!r})"

    # -- queries -----------------------------------------------------------------------------
    def files(self, project: str) -> dict[str, str]:
        """``{filename: sha256}`` the index lists for ``project`` (empty when it has none)."""
        url = self.simple_url + normalize_name(project) + "/"
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                page = resp.read().decode()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return {}
            raise PackageIndexError(f"GET {url}: HTTP {exc.code}") from exc
        parser = _Links()
        parser.feed(page)
        return {name: href.partition("#sha256=")[2] for name, href in parser.links}

    def projects(self) -> list[str]:
        """Normalised names of the projects the index serves."""
        with urllib.request.urlopen(self.simple_url, timeout=10) as resp:
            parser = _Links()
            parser.feed(resp.read().decode())
        return sorted(normalize_name(name) for name, _ in parser.links)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(
    directory: Path | str,
    name: str,
    version: str,
    files: dict[str, str],
    *,
    summary: str = "",
    requires: list[str] | tuple[str, ...] = (),
    requires_python: str = ">=3.9",
) -> Path:
    """Write a pure-Python wheel ``<name>-<version>-py3-none-any.whl`` into ``directory``.

    ``files`` maps paths inside the wheel (``"pkg/__init__.py"``) to their text. Returns the
    wheel's path. The wheel is a standard one (METADATA, WHEEL, RECORD with sha256 hashes), so
    pip and uv install it like any other.
    """
    normalize_name(name)
    if not _VERSION.match(version):
        raise ValueError(f"not a valid version: {version!r}")
    if not files:
        raise ValueError("a wheel needs at least one file")
    for path in files:
        if path.startswith("/") or ".." in Path(path).parts or ".dist-info" in path:
            raise ValueError(f"bad path inside a wheel: {path!r}")
    dist = re.sub(r"[-_.]+", "_", name).lower()
    info = f"{dist}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if summary:
        metadata.append(f"Summary: {summary}")
    metadata.append(f"Requires-Python: {requires_python}")
    metadata += [f"Requires-Dist: {req}" for req in requires]
    contents = {p: t.encode() for p, t in files.items()}
    contents[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    contents[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: curriculum.prereqs\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [f"{p},{_record_hash(d)},{len(d)}" for p, d in contents.items()] + [f"{info}/RECORD,,"]
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, data in contents.items():
            entry = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(entry, data)
    return target
