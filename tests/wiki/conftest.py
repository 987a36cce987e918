"""Fixtures of the roadmap-site tests: the site built once per session, a server for it, Chromium."""

from __future__ import annotations

import threading

import browser  # tests/support/browser.py (on sys.path through tests/conftest.py): the Selenium driver
import pytest

from curriculum.roadmap import load_roadmap
from curriculum.wiki import build_site, serve_site


@pytest.fixture(scope="session")
def roadmap():
    return load_roadmap()


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, roadmap):
    """The real wiki and roadmap built into a temporary folder (the BuildReport)."""
    return build_site(tmp_path_factory.mktemp("wiki") / "site", roadmap=roadmap, lab="http://127.0.0.1:8888")


@pytest.fixture(scope="session")
def site_url(built_site):
    """Base URL of the built site served on 127.0.0.1 (a free port)."""
    server = serve_site(built_site.out, 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def chromium():
    """Skips the test, saying what to install, when Chromium or chromedriver is missing."""
    reason = browser.missing()
    if reason:
        pytest.skip(reason)
    return browser.Chromium
