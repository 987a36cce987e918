"""The roadmap site and the learner's JupyterLab in a real headless Chromium.

Chromium is driven by Selenium through Debian's chromedriver (``tests/support/browser.py``).
Screenshots go to ``test-artifacts/`` (git-ignored). These tests are skipped only when Chromium or
chromedriver is not installed (Debian packages ``chromium`` and ``chromium-driver``); CI installs them.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import pytest
from browser import BrowserError, needs_browser

from autograder import Course, release, sync_workspace
from autograder.cli import lab_command
from curriculum.net import free_port
from curriculum.paths import REPO_ROOT, WIKI_DIR
from curriculum.wiki import build_site, chips, find_katex, read_pages, serve_site

ARTIFACTS = REPO_ROOT / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_browser()]


def _js(value) -> str:
    return json.dumps(value)


def test_every_chip_opens_its_entry_in_chromium(site_url, built_site, roadmap, chromium):
    pages = read_pages(WIKI_DIR)
    expected = chips(roadmap, set(pages))
    index = f"{site_url}/index.html"
    shots: dict[str, str] = {}
    with chromium() as page:
        page.navigate(index)
        page.wait_for_selector(".aie-chip")
        assert page.evaluate("[...document.querySelectorAll('.aie-chip')].map(e => e.dataset.roadmapId)") == [
            c.id for c in expected
        ]
        page.screenshot(ARTIFACTS / "roadmap.png", full_page=True)
        opened = []
        for chip in expected:
            if page.evaluate("location.pathname") != "/index.html":
                page.navigate(index)
            page.click(f'.aie-chip[data-roadmap-id="{chip.id}"] a.aie-chip__link')
            if chip.target == "page":
                title = page.wait_for(
                    f"location.pathname === {_js('/' + chip.wiki + '.html')} && document.readyState === 'complete'"
                    " && (document.querySelector('article h1') || {}).textContent",
                    what=f"the wiki page of chip {chip.id}",
                )
                assert pages[chip.wiki].heading in title, chip.id
            else:
                entry = page.wait_for(
                    f"location.pathname === '/backlog.html' && location.hash === {_js('#' + chip.id)}"
                    f" && document.readyState === 'complete' && (() => {{ const a = document.getElementById({_js(chip.id)});"
                    " const li = a && a.closest('li'); return li ? li.textContent : false; })()",
                    what=f"the backlog entry of chip {chip.id}",
                )
                assert chip.text in entry, chip.id
            if chip.target not in shots:
                shots[chip.target] = chip.id
                page.screenshot(ARTIFACTS / f"roadmap-chip-to-{chip.target}.png")
            opened.append(chip.id)
        hosts = page.hosts()
    assert opened == [c.id for c in expected] and len(opened) == 34
    assert hosts == {urlsplit(site_url).netloc}, "the site must load nothing from another host"


def test_site_search_finds_a_wiki_page(site_url, built_site, chromium):
    pages = read_pages(WIKI_DIR)
    slug = "cosine-similarity" if "cosine-similarity" in built_site.wiki_pages else built_site.wiki_pages[0]
    title = pages[slug].title
    with chromium() as page:
        page.navigate(f"{site_url}/index.html")
        page.click("input.md-search__input")
        page.type_text(title)
        hrefs = page.wait_for(
            "(() => { const a = [...document.querySelectorAll('.md-search-result__link')].map(e => e.getAttribute('href'));"
            " return a.length ? a : false; })()",
            what=f"search results for {title!r}",
        )
        page.screenshot(ARTIFACTS / "roadmap-search.png")
    assert any(urlsplit(h).path.endswith(f"/{slug}.html") for h in hrefs), hrefs


def test_formulas_are_typeset_offline(site_url, built_site, chromium):
    if find_katex() is None:
        pytest.skip("KaTeX is not installed (Debian package libjs-katex); formulas show as TeX source")
    with_math = [s for s in built_site.wiki_pages if 'class="arithmatex"' in (built_site.out / f"{s}.html").read_text()]
    if not with_math:
        pytest.skip("no wiki page has a formula")
    with chromium() as page:
        page.navigate(f"{site_url}/{with_math[0]}.html")
        typeset = page.wait_for(
            "(() => { const all = document.querySelectorAll('.arithmatex');"
            " const done = document.querySelectorAll('.arithmatex .katex');"
            " return all.length > 0 && all.length === done.length && done.length; })()",
            what="KaTeX to typeset every formula",
        )
        page.screenshot(ARTIFACTS / "wiki-formula.png")
        errors = page.console_errors
    assert typeset > 0 and errors == []


# --- the learner's view: JupyterLab as `make lab` starts it -----------------------------------


@pytest.fixture(scope="module")
def learner_lab(tmp_path_factory, roadmap):
    """A released workspace and JupyterLab on it, started with the command line `aie lab` runs."""
    ready = [i for i in roadmap.items if i.ready and (REPO_ROOT / i.notebook_path).is_file()]
    if not ready:
        pytest.fail("no ready roadmap item with a notebook to open")
    item = ready[0]
    root = tmp_path_factory.mktemp("learner")
    course = Course(root=root / "course", notebooks_root=REPO_ROOT, roadmap=roadmap)
    release(course, [item.phase])
    workspace = root / "workspace"
    sync_workspace(course.root / "release", workspace)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ, JUPYTER_RUNTIME_DIR=str(root / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(root / "lab-layouts")
    )
    log_path = root / "lab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            lab_command(workspace, port, token),
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.5)
        yield {"base": base, "token": token, "workspace": workspace, "item": item, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        try:  # the kernels it started, in the session it was started in
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


FIRST_CODE_CELL = "document.querySelector('.jp-NotebookPanel .jp-CodeCell')"
STATUS_BAR = "(document.querySelector('#jp-main-statusbar') || {innerText: ''}).innerText"


def test_learner_opens_a_notebook_from_the_roadmap_and_runs_its_first_cell(learner_lab, roadmap, chromium, tmp_path):
    base, token, item = learner_lab["base"], learner_lab["token"], learner_lab["item"]
    nb = json.loads((learner_lab["workspace"] / item.notebook_path).read_text(encoding="utf-8"))
    code_cells = [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if c["cell_type"] == "code"
    ]
    first_line = next(line for line in code_cells[0].splitlines() if line.strip())

    report = build_site(tmp_path / "site", roadmap=roadmap, lab=base)
    server = serve_site(report.out, 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with chromium(timeout=60) as page:
            page.navigate(f"{base}/lab?token={token}", timeout=120)  # logs in (a cookie for 127.0.0.1)
            page.wait_for("!!document.querySelector('#jp-main-dock-panel')", timeout=120, what="JupyterLab to load")
            page.navigate(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.click(f'.aie-chip[data-roadmap-id="{item.id}"] a.aie-chip__lab')
            page.wait_for(
                f"location.href.startsWith({_js(f'{base}/lab/tree/{item.notebook_path}')})",
                what="the roadmap's notebook link to open JupyterLab",
            )
            # The notebook renders: its first code cell shows the released source.
            page.wait_for(
                f"(() => {{ const c = {FIRST_CODE_CELL}; if (!c) return false; c.scrollIntoView({{block: 'center'}});"
                f" const e = c.querySelector('.cm-content'); return !!e && e.textContent.includes({_js(first_line)}); }})()",
                timeout=120,
                what=f"{item.notebook_path} to render its first code cell",
            )
            # Select that cell; the status bar reads "<kernel> | Idle" once the kernel session is connected.
            deadline = time.monotonic() + 90
            while True:
                try:
                    page.click(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt")
                    ready = page.evaluate(
                        f"{FIRST_CODE_CELL}.classList.contains('jp-mod-active') && /\\|\\s*Idle/.test({STATUS_BAR})"
                    )
                except BrowserError:
                    ready = False  # the notebook is still laying out its cells
                if ready:
                    break
                if time.monotonic() > deadline:
                    page.screenshot(ARTIFACTS / "jupyterlab-first-cell.png")
                    pytest.fail(f"the kernel never became idle; status bar: {page.evaluate(STATUS_BAR)!r}")
                time.sleep(0.5)
            page.press("Enter", shift=True)
            prompt = page.wait_for(
                f"(() => {{ const t = {FIRST_CODE_CELL}.querySelector('.jp-InputPrompt').textContent;"
                " return /\\[\\d+\\]/.test(t) && t; })()",
                timeout=90,
                what="the kernel to run the first code cell",
            )
            errors = page.evaluate(
                f"[...{FIRST_CODE_CELL}.querySelectorAll('[data-mime-type=\"application/vnd.jupyter.error\"]')]"
                ".map(e => e.textContent)"
            )
            page.screenshot(ARTIFACTS / "jupyterlab-first-cell.png")
    finally:
        server.shutdown()
        server.server_close()
    assert prompt.strip().startswith("[") and prompt.strip()[1:-2].isdigit(), prompt
    assert errors == [], errors
