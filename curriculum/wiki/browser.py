"""A small driver for headless Chromium over the Chrome DevTools Protocol (CDP).

Used by the browser tests of the roadmap site and of the learner's JupyterLab. It starts
Debian's ``chromium`` with a fresh profile and no background networking, talks to the first
page target over a WebSocket (``websocket-client``) and offers what those tests need:
navigate, evaluate JavaScript, wait for a condition or a selector, click like a mouse, press
keys, take screenshots, and list every URL the page requested.

Example::

    with Chromium() as browser:
        page = browser.page
        page.navigate("http://127.0.0.1:8001/index.html")
        page.click('[data-roadmap-id="cosine-similarity"] a')
        page.wait_for("location.pathname.endsWith('cosine-similarity.html')")
        page.screenshot(Path("test-artifacts/page.png"))
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

__all__ = ["BrowserError", "Chromium", "Page", "find_chromium", "CHROMIUM_FLAGS"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)
SHIFT = 8  # CDP modifier bit


class BrowserError(RuntimeError):
    """Chromium could not be started, a CDP command failed, or a wait ran out of time."""


def find_chromium() -> str | None:
    """Path of a Chromium executable (``$AIE_CHROMIUM`` first, then Debian's ``chromium``), or None."""
    explicit = os.environ.get("AIE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One page target: CDP commands over its WebSocket, with the events seen so far kept in order."""

    def __init__(self, ws_url: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self._ids = itertools.count(1)
        self.events: list[dict] = []
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")

    def close(self) -> None:
        """Close the WebSocket to the page."""
        try:
            self._ws.close()
        except Exception:  # the browser may already be gone
            pass

    # -- protocol ---------------------------------------------------------------------------

    def _record(self, message: dict) -> None:
        method = message.get("method", "")
        params = message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        self.events.append(message)
        del self.events[:-500]  # keep the recent ones only

    def _receive(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrowserError("timed out waiting for Chromium")
        self._ws.settimeout(remaining)
        try:
            message = json.loads(self._ws.recv())
        except websocket.WebSocketTimeoutException:
            raise BrowserError("timed out waiting for Chromium") from None
        except (websocket.WebSocketException, OSError) as exc:
            raise BrowserError(f"lost the connection to Chromium: {exc}") from None
        if "method" in message:
            self._record(message)
        return message

    def send(self, method: str, timeout: float | None = None, **params: Any) -> dict:
        """Send one CDP command and return its result; raise :class:`BrowserError` on a protocol error."""
        ident = next(self._ids)
        try:
            self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        except (websocket.WebSocketException, OSError) as exc:
            raise BrowserError(f"lost the connection to Chromium: {exc}") from None
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._receive(deadline)
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error'].get('message')}")
                return message.get("result", {})

    def wait_event(self, method: str, timeout: float | None = None, since: int = 0) -> dict:
        """Wait for an event named ``method`` (one already received after index ``since`` counts)."""
        for message in self.events[since:]:
            if message.get("method") == method:
                return message
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._receive(deadline)
            if message.get("method") == method:
                return message

    # -- page actions -----------------------------------------------------------------------

    def navigate(self, url: str, timeout: float | None = None) -> None:
        """Open ``url`` and wait for its load event."""
        self.events.clear()
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"could not open {url}: {result['errorText']}")
        try:
            self.wait_event("Page.loadEventFired", timeout)
        except BrowserError:
            raise BrowserError(f"{url} did not finish loading within {timeout or self.timeout:g} s") from None

    def evaluate(self, expression: str, await_promise: bool = False) -> Any:
        """Evaluate JavaScript in the page and return its value (JSON-serialisable values only)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=await_promise)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            raise BrowserError(f"JavaScript error: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float | None = None, interval: float = 0.1, what: str | None = None) -> Any:
        """Evaluate ``expression`` until it is truthy and return it; errors while a page loads are retried.

        The value crosses as JSON: return a string, number or boolean (a DOM node arrives as ``{}``,
        which is falsy here), e.g. ``!!document.querySelector(...)``.
        """
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        last_error = ""
        while True:
            try:
                value = self.evaluate(expression)
                if value:
                    return value
            except BrowserError as exc:
                last_error = f" (last error: {exc})"
            if time.monotonic() >= deadline:
                raise BrowserError(f"timed out after {timeout:g} s waiting for {what or expression}{last_error}")
            time.sleep(interval)

    def wait_for_selector(self, selector: str, timeout: float | None = None, visible: bool = True) -> None:
        """Wait until an element matches ``selector`` (and, by default, has a visible box)."""
        sel = json.dumps(selector)
        check = (f"(() => {{ const e = document.querySelector({sel}); if (!e) return false; "
                 f"const r = e.getBoundingClientRect(); return {'r.width > 0 && r.height > 0' if visible else 'true'}; }})()")
        self.wait_for(check, timeout, what=f"selector {selector}")

    def element_center(self, selector: str) -> tuple[float, float]:
        """Scroll the element into the middle of the viewport; return its centre in CSS pixels."""
        sel = json.dumps(selector)
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({sel}); if (!e) return null; "
            "e.scrollIntoView({block: 'center', inline: 'center'}); const r = e.getBoundingClientRect(); "
            "return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height]; })()"
        )
        if not box:
            raise BrowserError(f"no element matches {selector}")
        if box[2] <= 0 or box[3] <= 0:
            raise BrowserError(f"the element {selector} is not visible")
        return box[0], box[1]

    def click(self, selector: str) -> None:
        """Click the element like a mouse: move, press and release the left button at its centre."""
        x, y = self.element_center(selector)
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=1, clickCount=1)

    def press(self, key: str, modifiers: int = 0) -> None:
        """Press and release one key (``"Enter"``, ``"Escape"``, ...); ``modifiers``: 8 = Shift."""
        codes = {"Enter": 13, "Escape": 27, "Tab": 9}
        params = {"key": key, "code": key, "modifiers": modifiers, "windowsVirtualKeyCode": codes.get(key, 0)}
        text = "\r" if key == "Enter" else ""
        self.send("Input.dispatchKeyEvent", type="keyDown", text=text, **params)
        self.send("Input.dispatchKeyEvent", type="keyUp", **params)

    def type_text(self, text: str) -> None:
        """Type ``text`` into the focused element, as an input method would."""
        self.send("Input.insertText", text=text)

    def screenshot(self, path: Path | str, full_page: bool = False) -> Path:
        """Save a PNG of the viewport (or of the whole page) to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        data = self.send("Page.captureScreenshot", timeout=60, **params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


class Chromium:
    """Headless Chromium with a throw-away profile; use as a context manager. ``page`` is its first tab."""

    def __init__(self, executable: str | None = None, width: int = 1280, height: int = 900, timeout: float = 30.0) -> None:
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError("Chromium is not installed (Debian: apt-get install chromium; or set AIE_CHROMIUM)")
        self.width, self.height, self.timeout = width, height, timeout
        self._profile: str | None = None
        self._process: subprocess.Popen | None = None
        self._log = None
        self.page: Page | None = None

    def _log_tail(self) -> str:
        try:
            return Path(self._profile, "chromium.log").read_text(errors="replace")[-1500:]
        except (OSError, TypeError):
            return ""

    def start(self) -> "Chromium":
        """Launch Chromium, wait for its DevTools port and connect to its first tab."""
        try:
            return self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> "Chromium":
        self._profile = tempfile.mkdtemp(prefix="aie-chromium-")
        self._log = open(Path(self._profile, "chromium.log"), "wb")
        argv = [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                         start_new_session=True)
        port_file = Path(self._profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self._process.poll() is not None:
                raise BrowserError(f"Chromium exited with code {self._process.returncode}:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise BrowserError("Chromium did not open its DevTools port in time")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = []
        while not targets:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout) as resp:
                targets = [t for t in json.load(resp) if t.get("type") == "page"]
            if not targets:
                if time.monotonic() > deadline:
                    raise BrowserError("Chromium opened no page")
                time.sleep(0.05)
        self.page = Page(targets[0]["webSocketDebuggerUrl"], timeout=self.timeout)
        self.page.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                       deviceScaleFactor=1, mobile=False)
        return self

    def close(self) -> None:
        """Close the page connection, stop Chromium (this process group only) and remove the profile."""
        if self.page:
            self.page.close()
            self.page = None
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        if self._process:
            try:  # helper processes Chromium left behind, in the session it was started in
                os.killpg(self._process.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log:
            self._log.close()
            self._log = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def __enter__(self) -> "Chromium":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
