"""A small W3C WebDriver client over httpx, driving Debian's headless Chromium through chromedriver.

Just the commands the dashboard's browser test needs: open a page, find elements, type, click, read text and
attributes, run a script, take a screenshot (docs/stack.md says why not selenium).
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
"""The key under which the W3C protocol returns an element reference."""

T = TypeVar("T")


class WebDriverError(Exception):
    pass


class Element:
    def __init__(self, browser: Browser, ref: str) -> None:
        self.browser = browser
        self.ref = ref

    def _call(self, method: str, command: str, body: dict[str, Any] | None = None) -> Any:
        return self.browser.call(method, f"/element/{self.ref}/{command}", body)

    @property
    def text(self) -> str:
        return str(self._call("GET", "text"))

    def attribute(self, name: str) -> str | None:
        value = self._call("GET", f"attribute/{name}")
        return None if value is None else str(value)

    def click(self) -> None:
        self._call("POST", "click", {})

    def type(self, text: str) -> None:
        self._call("POST", "value", {"text": text})

    def find(self, css: str) -> Element:
        return Element(self.browser, self._call("POST", "element", {"using": "css selector", "value": css})[ELEMENT])


class Browser:
    """One session of a headless Chromium at `width` x `height` CSS pixels."""

    def __init__(self, driver: str, session: str, client: httpx.Client) -> None:
        self.driver = driver
        self.session = session
        self.client = client

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self.client.request(method, f"{self.driver}/session/{self.session}{path}", json=body)
        value = answer.json()["value"]
        if answer.status_code != 200:
            raise WebDriverError(f"{method} {path}: {value.get('error')}: {value.get('message', '')[:500]}")
        return value

    def open(self, url: str) -> None:
        self.call("POST", "/url", {"url": url})

    def find(self, css: str) -> Element:
        return Element(self, self.call("POST", "/element", {"using": "css selector", "value": css})[ELEMENT])

    def find_all(self, css: str) -> list[Element]:
        found = self.call("POST", "/elements", {"using": "css selector", "value": css})
        return [Element(self, item[ELEMENT]) for item in found]

    def script(self, source: str, *args: Any) -> Any:
        return self.call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def console_errors(self) -> list[str]:
        """What the page logged at error level (script errors, failed loads) since the last call."""
        entries = self.call("POST", "/se/log", {"type": "browser"})
        return [str(entry["message"]) for entry in entries if entry["level"] == "SEVERE"]

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("GET", "/screenshot")))

    def resize(self, width: int, height: int) -> None:
        self.call("POST", "/window/rect", {"width": width, "height": height})

    def emulate(self, width: int, height: int) -> None:
        """A phone's viewport (narrower than any desktop window may be), through Chromium's DevTools."""
        metrics = {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True}
        self.call("POST", "/goog/cdp/execute", {"cmd": "Emulation.setDeviceMetricsOverride", "params": metrics})

    def stop_emulating(self) -> None:
        self.call("POST", "/goog/cdp/execute", {"cmd": "Emulation.clearDeviceMetricsOverride", "params": {}})

    def wait(self, check: Callable[[], T | None], what: str, timeout: float = 10.0) -> T:
        """Poll `check` until it returns something truthy; the page updates on its own timers."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = check()
                if value:
                    return value
            except WebDriverError as error:
                last = error
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last})" if last else ""))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Browser]:
    """chromedriver on a free loopback port, and one headless Chromium session through it."""
    assert CHROMIUM and CHROMEDRIVER, "chromium and chromium-driver are not installed"
    port = _free_port()
    command = [CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(timeout=30)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.get(url + "/status").json()["value"]["ready"]:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.02)
        options = {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-extensions", "--no-first-run", f"--window-size={width},{height}",
                     "--force-device-scale-factor=1", "--hide-scrollbars"],
        }  # fmt: skip
        capabilities = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}
        created = client.post(url + "/session", json=capabilities).json()["value"]
        if "sessionId" not in created:
            raise WebDriverError(f"no session: {created.get('message', created)}")
        browser = Browser(url, created["sessionId"], client)
        try:
            yield browser
        finally:
            client.delete(f"{url}/session/{browser.session}")
    finally:
        client.close()
        driver.terminate()
        driver.wait(10)
