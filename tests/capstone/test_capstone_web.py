"""The web page in a real headless Chromium (Selenium with Debian's chromedriver, ``tests/support/browser.py``).

A reader asks, gets an answer with clickable citations, opens one and sees the quoted chunk, and rates the
answer. A user uploads a hostile document through the page (an ``<img onerror>``, an escaped-colon Markdown
image, an image tag pointing at another host), asks about it and opens its citation: nothing in it runs and
nothing is requested from another host; then they delete it. Every Content-Security-Policy violation of the
page is recorded (a listener installed before the page's own scripts) and fails the test, so the page is
proven to work under ``default-src 'self'``. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import browser  # tests/support/browser.py (on sys.path through tests/conftest.py)
import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient

from capstone.web import STATIC_DIR, add_web_page
from curriculum.net import serve
from curriculum.paths import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"
# Installed with Page.addScriptToEvaluateOnNewDocument: runs before the page's scripts, outside its CSP.
WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
HOSTILE = """# Zephyr relay notes

The zephyr relay diagram shows how the zephyr relay forwards packets between the north and south gateways
![flow](https\\://evil.example/p.png?id=42) once every second.

The zephyr relay log prints `<img src=x onerror="window.__pwned = 'code span'">` and &lt;b&gt;dropped&lt;/b&gt; for each lost packet.

<img src=x onerror="window.__pwned = 'img onerror'"> The zephyr relay restarts itself after ten failed forwards.
<img src="https://evil.example/track.png"> <svg onload="window.__pwned = 'svg onload'"></svg>
"""


# --- the static files, without a browser ------------------------------------------------------------------


def _script_code(source: str) -> str:
    """app.js without its whole-line ``//`` comments (which name the sinks the code must not use)."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))


def test_the_page_script_never_parses_text_as_html():
    code = _script_code((STATIC_DIR / "app.js").read_text(encoding="utf-8"))
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "DOMParser",
        "createContextualFragment",
        "srcdoc",
        "eval(",
        "new Function",
        'setAttribute("style',
    ):
        assert sink not in code, f"app.js uses {sink}"
    assert "textContent" in code and "createTextNode" in code


def test_the_page_has_no_inline_script_or_style_and_loads_only_its_own_files():
    page = BeautifulSoup((STATIC_DIR / "index.html").read_text(encoding="utf-8"), "lxml")
    csp = page.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'self'" in csp and "unsafe" not in csp
    assert page.find("style") is None and all(s.get("src") for s in page.find_all("script"))
    for element in page.find_all(True):
        assert not [a for a in element.attrs if a == "style" or a.startswith("on")], element.name
    urls = [el.get("src") or el.get("href") for el in page.find_all(["script", "link", "img"])]
    assert urls and all(u.startswith("static/") and (STATIC_DIR / u.removeprefix("static/")).is_file() for u in urls)


def test_the_page_and_its_files_are_served_outside_the_api_schema():
    app = FastAPI()
    add_web_page(app)
    with TestClient(app) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'id="question"' in page.text
        for name, kind in (("app.js", "javascript"), ("style.css", "text/css"), ("favicon.svg", "image/svg+xml")):
            asset = client.get(f"/static/{name}")
            assert asset.status_code == 200 and kind in asset.headers["content-type"], name
            assert asset.content == (STATIC_DIR / name).read_bytes()
        assert client.get("/static/%2e%2e/__init__.py").status_code == 404
        assert client.get("/openapi.json").json()["paths"] == {}


# --- in Chromium ---------------------------------------------------------------------------------------------


@pytest.fixture
def chromium():
    reason = browser.missing()
    if reason:
        pytest.skip(reason)
    with browser.Chromium(width=1200, height=900, timeout=60) as b:
        b.add_init_script(WATCH)
        yield b


def _has_route(app, method: str, path: str) -> bool:
    """Whether the app documents ``method path`` (included routers are nested, so ask the OpenAPI schema)."""
    return method.lower() in app.openapi()["paths"].get(path, {})


def _sent(chromium, method: str, path: str) -> list[browser.Request]:
    return [r for r in chromium.requests if r.method == method and urlsplit(r.url).path == path]


def _page_is_clean(chromium, live_url: str) -> None:
    """Nothing ran that the page did not write, nothing loaded from elsewhere, no CSP violation, no JS error."""
    assert chromium.evaluate("window.__pwned === undefined"), chromium.evaluate("window.__pwned")
    assert chromium.evaluate("document.querySelectorAll('main img, main svg, main iframe, main object').length") == 0
    assert chromium.evaluate("window.__cspViolations") == []
    assert chromium.hosts() == {urlsplit(live_url).netloc}, "the page must request nothing from another host"
    assert chromium.console_errors == []


@pytest.mark.browser
@pytest.mark.slow
@browser.needs_browser()
def test_ask_open_a_citation_and_rate_the_answer(app, chromium):
    with serve(app) as live:
        chromium.navigate(f"{live}/")
        chromium.wait_for("document.readyState === 'complete' && !!document.getElementById('question')")
        chromium.type_into("#question", "What does the break statement do?")
        chromium.click("#submit")
        chromium.wait_for("document.querySelectorAll('#answer a.cite').length > 0")
        answer = chromium.evaluate("document.getElementById('answer').textContent")
        citations = chromium.evaluate(
            "Array.from(document.querySelectorAll('#citations li')).map(li => li.textContent)"
        )
        assert "[1]" in answer and citations and "python-reference/break" in " ".join(citations)
        asked = _sent(chromium, "POST", "/v1/ask")  # the page reads the answer as server-sent events
        assert len(asked) == 1 and json.loads(asked[0].post_data)["stream"] is True
        assert chromium.evaluate("document.getElementById('result').className") != "drafting"
        chromium.click("#answer a.cite")
        chromium.wait_for("!document.getElementById('viewer').hidden && !!document.querySelector('#chunk mark')")
        # the full chunk arrives from /v1/chunks; the quote is highlighted inside it
        chromium.wait_for(
            "document.getElementById('chunk').textContent.length"
            " > document.querySelector('#chunk mark').textContent.length"
        )
        marked = chromium.evaluate("document.querySelector('#chunk mark').textContent")
        shown = chromium.evaluate("document.getElementById('chunk').textContent")
        chunk_id = chromium.evaluate("document.getElementById('chunk-source').textContent").split(" · ")[-1]
        chunk = httpx.get(f"{live}/v1/chunks", params={"id": chunk_id}).json()
        assert shown == chunk["text"] and marked in chunk["text"] and len(marked.split()) >= 3
        assert chromium.evaluate("document.querySelector('#answer a.cite').classList.contains('active')")

        # feedback: thumbs down with a comment, sent as the /v1/feedback contract says
        request_id = chromium.evaluate("document.getElementById('result').dataset.requestId")
        assert request_id
        assert chromium.evaluate("document.getElementById('feedback-send').disabled")  # nothing chosen yet
        chromium.click("#rate-down")
        assert chromium.evaluate("document.getElementById('rate-down').getAttribute('aria-pressed')") == "true"
        chromium.type_into("#feedback-comment", "cites the right page but misses the loop example")
        chromium.click("#feedback-send")
        status = chromium.wait_for(
            "document.getElementById('feedback-status').textContent.replace('sending…', '')",
            what="the answer to the feedback request",
        )
        sent = _sent(chromium, "POST", "/v1/feedback")
        assert len(sent) == 1 and json.loads(sent[0].post_data) == {
            "request_id": request_id,
            "rating": "down",
            "comment": "cites the right page but misses the loop example",
        }
        assert _has_route(app, "POST", "/v1/feedback")
        assert status == "thanks: feedback recorded", status
        chromium.screenshot(ARTIFACTS / "capstone-answer.png", full_page=True)

        chromium.type_into("#question", "Who won the 2018 FIFA World Cup?")
        chromium.click("#submit")
        chromium.wait_for("document.getElementById('status').textContent.includes('no answer in the sources')")
        assert chromium.evaluate("document.querySelectorAll('#answer a.cite').length") == 0
        assert chromium.evaluate("document.getElementById('feedback-status').textContent") == ""  # reset per answer
        _page_is_clean(chromium, live)


@pytest.mark.browser
@pytest.mark.slow
@browser.needs_browser()
def test_a_hostile_upload_neither_runs_nor_loads_anything_and_can_be_deleted(app, assistant, chromium, tmp_path):
    from capstone.guard.auth import create_user

    user, key = create_user(assistant.db, "web-uploader")
    upload = tmp_path / "zephyr-relay.md"
    upload.write_text(HOSTILE, encoding="utf-8")
    source = f"upload/{user.name}/zephyr-relay.md"
    with serve(app) as live:
        chromium.navigate(f"{live}/")
        chromium.wait_for("document.readyState === 'complete' && !!document.getElementById('upload-file')")
        chromium.click("details.key summary")
        chromium.type_into("#apikey", key)
        chromium.press("Tab")  # the change event stores the key and lists the caller's documents
        chromium.choose_file("#upload-file", upload)
        chromium.click("#upload-submit")
        status = chromium.wait_for(
            "(() => { const t = document.getElementById('upload-status').textContent;"
            " return /: (added|updated|unchanged)|^\\d{3}: /.test(t) && t; })()",
            what="the upload to finish",
        )
        assert status.startswith(f"{source}: added"), status
        chromium.wait_for(
            f"!!document.querySelector('#document-list li[data-source={json.dumps(source)}]')",
            what=f"{source} in the document list",
        )
        [sent] = _sent(chromium, "POST", "/v1/documents")
        assert sent.headers.get("Authorization") == f"Bearer {key}"

        chromium.type_into("#question", "What does the zephyr relay diagram show?")
        chromium.click("#submit")
        chromium.wait_for("document.querySelectorAll('#answer a.cite').length > 0", what="a cited answer")
        sources = chromium.evaluate("Array.from(document.querySelectorAll('#citations li a')).map(a => a.textContent)")
        assert any(source in s for s in sources), sources
        chromium.click(f"#citations li:nth-child({next(i for i, s in enumerate(sources) if source in s) + 1}) a.cite")
        chromium.wait_for(
            "!document.getElementById('viewer').hidden && "
            f"document.getElementById('chunk-source').textContent.startsWith({json.dumps(source)})"
        )
        chunk_id = chromium.evaluate("document.getElementById('chunk-source').textContent").split(" · ")[-1]
        chunk = httpx.get(
            f"{live}/v1/chunks", params={"id": chunk_id}, headers={"Authorization": f"Bearer {key}"}
        ).json()
        chromium.wait_for(
            f"document.getElementById('chunk').textContent === {json.dumps(chunk['text'])}",
            timeout=10,
            what="the chunk shown as the server sent it",
        )
        chromium.screenshot(ARTIFACTS / "capstone-hostile-upload.png", full_page=True)
        _page_is_clean(chromium, live)
        assert not [r.url for r in chromium.requests if "evil.example" in r.url]

        chromium.click(f"#document-list li[data-source={json.dumps(source)}] button.delete")
        status = chromium.wait_for(
            "(() => { const t = document.getElementById('upload-status').textContent;"
            " return /^deleted |^\\d{3}: /.test(t) && t; })()",
            what="the delete to finish",
        )
        [sent] = _sent(chromium, "DELETE", f"/v1/documents/{source}")
        assert sent.headers.get("Authorization") == f"Bearer {key}"
        listed = [
            d["source"] for d in httpx.get(f"{live}/v1/documents", headers={"Authorization": f"Bearer {key}"}).json()
        ]
        assert _has_route(app, "DELETE", "/v1/documents/{source}")
        assert status == f"deleted {source}", status
        assert source not in listed
        chromium.wait_for(f"!document.querySelector('#document-list li[data-source={json.dumps(source)}]')")
