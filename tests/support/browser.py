"""Headless Chromium for the browser tests, driven by Selenium 4 through Debian's ``chromedriver``.

Debian's ``chromium`` and ``chromium-driver`` packages are used as installed (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; ``$AIE_CHROMIUM`` / ``$AIE_CHROMEDRIVER`` override them). The driver's path
is always passed explicitly, so Selenium Manager is never run and nothing is downloaded. Host names
other than the loopback ones resolve to nothing (``--host-resolver-rules``), so a page under test
cannot reach the internet even when it tries; every request it makes is still recorded (Chrome's
performance log), which is how the tests prove a page loads nothing from another host.

Example::

    with Chromium() as browser:
        browser.navigate("http://127.0.0.1:8001/index.html")
        browser.click('[data-roadmap-id="cosine-similarity"] a')
        browser.wait_for("location.pathname.endsWith('cosine-similarity.html')")
        browser.screenshot(ARTIFACTS / "page.png")
        assert browser.hosts() == {"127.0.0.1:8001"}
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

__all__ = ["BrowserError", "Chromium", "Request", "chromedriver_path", "chromium_path", "missing", "needs_browser"]

os.environ.setdefault("SE_OFFLINE", "true")  # should anything start Selenium Manager, it must not download

INSTALL_HINT = "Debian: apt-get install chromium chromium-driver (or set AIE_CHROMIUM / AIE_CHROMEDRIVER)"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
KEYS = {"Enter": Keys.ENTER, "Escape": Keys.ESCAPE, "Tab": Keys.TAB}


class BrowserError(RuntimeError):
    """Chromium could not be started, a page action failed, or a wait ran out of time."""


def chromium_path() -> Path:
    """The Chromium executable: ``$AIE_CHROMIUM``, else ``chromium`` on the PATH, else ``/usr/bin/chromium``."""
    return Path(os.environ.get("AIE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium")


def chromedriver_path() -> Path:
    """The chromedriver executable: ``$AIE_CHROMEDRIVER``, else ``chromedriver`` on the PATH, else Debian's."""
    return Path(os.environ.get("AIE_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver")


def missing() -> str | None:
    """Why the browser tests cannot run here (the missing executable and how to install it), or None."""
    for what, path in (("Chromium", chromium_path()), ("chromedriver", chromedriver_path())):
        if not path.is_file():
            return f"{what} is not installed at {path} ({INSTALL_HINT})"
    return None


def needs_browser() -> pytest.MarkDecorator:
    """A mark that skips a test, saying what to install, before any of its fixtures is set up."""
    reason = missing()
    return pytest.mark.skipif(reason is not None, reason=reason or "")


@dataclass(frozen=True)
class Request:
    """One request the page sent, as the browser's network log saw it."""

    method: str
    url: str
    headers: dict[str, str]
    post_data: str | None

    @property
    def host(self) -> str:
        """``host:port`` of a network URL, "" for data:, blob:, about: and the like."""
        parts = urlsplit(self.url)
        return parts.netloc if parts.scheme in ("http", "https", "ws", "wss") else ""


def _post_data(request: dict) -> str | None:
    if "postData" in request:
        return request["postData"]
    entries = request.get("postDataEntries") or []
    if entries:
        return b"".join(base64.b64decode(e.get("bytes", "")) for e in entries).decode("utf-8", "replace")
    return None


class Chromium:
    """Headless Chromium with a throw-away profile; use as a context manager."""

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 30.0) -> None:
        reason = missing()
        if reason:
            raise BrowserError(reason)
        self.width, self.height, self.timeout = width, height, timeout
        self.driver: webdriver.Chrome | None = None
        self._requests: list[Request] = []
        self._errors: list[str] = []

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> Chromium:
        """Start chromedriver and Chromium; the window's viewport is ``width`` x ``height`` CSS pixels."""
        options = webdriver.ChromeOptions()
        options.binary_location = str(chromium_path())
        for flag in (*CHROMIUM_FLAGS, f"--window-size={self.width},{self.height}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        try:
            self.driver = webdriver.Chrome(options=options, service=Service(str(chromedriver_path())))
        except WebDriverException as exc:
            raise BrowserError(
                f"Chromium ({chromium_path()}) did not start through {chromedriver_path()}: {exc.msg or exc}"
            ) from None
        try:
            self.driver.set_page_load_timeout(self.timeout)
            self.driver.set_script_timeout(self.timeout)
            self.driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            )
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Quit Chromium and chromedriver (Selenium removes the temporary profile)."""
        if self.driver is not None:
            try:
                self.driver.quit()
            except WebDriverException:  # the browser may already be gone
                pass
            self.driver = None

    def __enter__(self) -> Chromium:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what the page did --------------------------------------------------------------------------

    def _drain_logs(self) -> None:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                req = message["params"].get("request", {})
                self._requests.append(
                    Request(req.get("method", ""), req.get("url", ""), dict(req.get("headers", {})), _post_data(req))
                )
        for entry in self.driver.get_log("browser"):
            if entry.get("source") == "javascript" and entry.get("level") == "SEVERE":
                self._errors.append(entry.get("message", ""))

    @property
    def requests(self) -> list[Request]:
        """Every request sent since the browser started, in order (blocked and failed ones included)."""
        self._drain_logs()
        return list(self._requests)

    def hosts(self) -> set[str]:
        """The ``host:port`` of every network request sent since the browser started."""
        return {r.host for r in self.requests if r.host}

    @property
    def console_errors(self) -> list[str]:
        """Uncaught JavaScript errors of the pages opened so far."""
        self._drain_logs()
        return list(self._errors)

    # -- page actions -------------------------------------------------------------------------------

    def add_init_script(self, source: str) -> None:
        """Run ``source`` in every page before the page's own scripts (the page's CSP does not apply to it)."""
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})

    def navigate(self, url: str, timeout: float | None = None) -> None:
        """Open ``url`` and wait for its load event."""
        self.driver.set_page_load_timeout(timeout or self.timeout)
        try:
            self.driver.get(url)
        except WebDriverException as exc:
            raise BrowserError(f"could not open {url}: {exc.msg or exc}") from None
        finally:
            self.driver.set_page_load_timeout(self.timeout)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (DOM nodes come back as Selenium elements)."""
        try:
            return self.driver.execute_script(f"return ({expression});")
        except WebDriverException as exc:
            raise BrowserError(f"JavaScript error: {exc.msg or exc}") from None

    def wait_for(
        self, expression: str, timeout: float | None = None, interval: float = 0.1, what: str | None = None
    ) -> Any:
        """Evaluate ``expression`` until it is truthy and return its value; errors while a page loads are retried."""
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
        check = (
            f"(() => {{ const e = document.querySelector({sel}); if (!e) return false; "
            f"const r = e.getBoundingClientRect(); return {'r.width > 0 && r.height > 0' if visible else 'true'}; }})()"
        )
        self.wait_for(check, timeout, what=f"selector {selector}")

    def _element(self, selector: str):
        found = self.driver.find_elements(By.CSS_SELECTOR, selector)
        if not found:
            raise BrowserError(f"no element matches {selector}")
        return found[0]

    def click(self, selector: str) -> None:
        """Click the element like a mouse: scroll it to the middle, move there, press and release the button."""
        try:
            element = self._element(selector)
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'});", element)
            if not element.size["width"] or not element.size["height"]:
                raise BrowserError(f"the element {selector} is not visible")
            ActionChains(self.driver).move_to_element(element).click().perform()
        except WebDriverException as exc:
            raise BrowserError(f"could not click {selector}: {exc.msg or exc}") from None

    def press(self, key: str, *, shift: bool = False) -> None:
        """Press and release one key (``"Enter"``, ``"Escape"``, ``"Tab"``), with Shift held when asked."""
        actions = ActionChains(self.driver)
        if shift:
            actions.key_down(Keys.SHIFT)
        actions.send_keys(KEYS[key])
        if shift:
            actions.key_up(Keys.SHIFT)
        actions.perform()

    def type_text(self, text: str) -> None:
        """Type ``text`` into the focused element, key by key."""
        ActionChains(self.driver).send_keys(text).perform()

    def type_into(self, selector: str, text: str, clear: bool = True) -> None:
        """Focus the field matched by ``selector``, empty it (unless ``clear`` is False) and type ``text`` key by key."""
        element = self._element(selector)
        if clear:
            element.clear()
        element.send_keys(text)

    def choose_file(self, selector: str, path: Path | str) -> None:
        """Put a local file into the ``<input type=file>`` matched by ``selector`` (what a user picking it does)."""
        self._element(selector).send_keys(str(Path(path).resolve()))

    def screenshot(self, path: Path | str, full_page: bool = False) -> Path:
        """Save a PNG of the viewport (or of the whole page) to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            params.update(
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            )
        data = self.driver.execute_cdp_cmd("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
