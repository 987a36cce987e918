"""The web page in a real headless Chromium (Debian's ``chromium``), driven over the DevTools protocol:
ask a question, get an answer with clickable citations, click one and see the quoted chunk."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
]


class Browser:
    """A headless Chromium and one page, spoken to over the Chrome DevTools protocol (websocket-client)."""

    def __init__(self) -> None:
        import websocket

        self.profile = tempfile.mkdtemp(prefix="aie-chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "--window-size=1200,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        page = next(t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(expression)

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the element (not a synthetic element.click())."""
        box = self.js(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                      f" return {{x: r.x + r.width / 2, y: r.y + r.height / 2}}; }})()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def type_into(self, selector: str, text: str) -> None:
        self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                try:
                    self.ws.send(json.dumps({"id": 0, "method": "Browser.close", "params": {}}))
                finally:
                    self.ws.close()
        except Exception:  # the browser may already be gone
            pass
        finally:
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


def test_ask_and_open_a_citation(app, live_server, browser, tmp_path):
    with live_server(app) as live:
        browser.send("Page.navigate", url=f"{live.url}/")
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('question')")
        browser.type_into("#question", "What does the break statement do?")
        browser.click("#submit")
        browser.wait_for("document.querySelectorAll('#answer a.cite').length > 0")
        answer = browser.js("document.getElementById('answer').textContent")
        citations = browser.js("Array.from(document.querySelectorAll('#citations li')).map(li => li.textContent)")
        assert "[1]" in answer and citations and "python-reference/break" in " ".join(citations)
        browser.click("#answer a.cite")
        browser.wait_for("!document.getElementById('viewer').hidden && !!document.querySelector('#chunk mark')")
        # the full chunk arrives from /v1/chunks; the quote is highlighted inside it
        browser.wait_for("document.getElementById('chunk').textContent.length > document.querySelector('#chunk mark').textContent.length")
        marked = browser.js("document.querySelector('#chunk mark').textContent")
        shown = browser.js("document.getElementById('chunk').textContent")
        source = browser.js("document.getElementById('chunk-source').textContent")
        chunk_id = source.split(" · ")[-1]
        chunk = httpx.get(f"{live.url}/v1/chunks", params={"id": chunk_id}).json()
        assert shown == chunk["text"] and marked in chunk["text"] and len(marked.split()) >= 3
        assert browser.js("document.querySelector('#answer a.cite').classList.contains('active')")
        shot = browser.send("Page.captureScreenshot", format="png")["data"]
        (tmp_path / "answer.png").write_bytes(base64.b64decode(shot))
        assert (tmp_path / "answer.png").stat().st_size > 5_000
        if os.environ.get("AIE_SCREENSHOT_DIR"):
            shutil.copy(tmp_path / "answer.png", os.environ["AIE_SCREENSHOT_DIR"])

        browser.js("document.getElementById('question').value = ''")
        browser.type_into("#question", "Who won the 2018 FIFA World Cup?")
        browser.click("#submit")
        browser.wait_for("document.getElementById('status').textContent.includes('no answer in the sources')")
        assert browser.js("document.querySelectorAll('#answer a.cite').length") == 0
