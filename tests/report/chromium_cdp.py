"""A minimal headless-Chromium driver for tests: the DevTools protocol over --remote-debugging-pipe (stdlib only)."""

from __future__ import annotations

import base64
from contextlib import contextmanager
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


# Resolves once every plotly div has drawn its SVG (or after 20 s): {plots, drawn}.
WAIT_FOR_CHARTS = """
new Promise((resolve) => {
  const start = Date.now();
  (function poll() {
    const plots = document.querySelectorAll('.plotly-graph-div');
    const drawn = Array.from(plots).filter((p) => p.querySelector('.main-svg')).length;
    if ((plots.length && drawn === plots.length) || Date.now() - start > 20000) {
      resolve({plots: plots.length, drawn: drawn});
    } else { setTimeout(poll, 100); }
  })();
})
"""


def find_chromium() -> str | None:
    """Path of a Chromium-family browser, or None."""
    env = os.environ.get("CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Chromium:
    """Headless Chromium with one page; ``events`` collects every DevTools event of that page."""

    def __init__(self, executable: str, profile_dir: Path, *, width: int = 1400, height: int = 3000,
                 mobile: bool = False):
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()

        def wire_pipes():  # runs in the child: Chromium reads commands on fd 3, writes replies on fd 4
            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(resp_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--mute-audio", "--hide-scrollbars",
             # Any request to a host name fails; the tests also assert that none is even attempted.
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile_dir}",
             f"--window-size={width},{height}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes, close_fds=False,
        )
        os.close(cmd_r)
        os.close(resp_w)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._inbox: queue.Queue = queue.Queue()
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=True)
        self.set_viewport(width, height, mobile=mobile)

    def set_viewport(self, width: int, height: int, *, mobile: bool = False, scale: float = 1) -> None:
        """Emulate a screen: ``mobile`` honours the page's viewport meta tag as a phone does."""
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile}, session=True)

    def _read(self) -> None:
        buf = b""
        while True:
            chunk = os.read(self._resp_r, 1 << 20)
            if not chunk:
                self._inbox.put(None)
                return
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for raw in messages:
                self._inbox.put(json.loads(raw))

    def _pump(self, timeout: float) -> bool:
        try:
            msg = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return False
        if msg is None:
            raise RuntimeError("chromium closed the DevTools pipe")
        if "id" in msg:
            self._replies[msg["id"]] = msg
        else:
            self.events.append(msg)
        return True

    def send(self, method: str, params: dict | None = None, *, session: bool = False,
             timeout: float = 30.0) -> dict:
        """Send one command and wait for its reply; raise on a protocol error."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while self._next_id not in self._replies:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reply to {method}")
            self._pump(0.1)
        reply = self._replies.pop(self._next_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_for_event(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} event")
            self._pump(0.1)

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its JSON value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page exception: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, timeout: float = 30.0) -> None:
        self.send("Page.navigate", {"url": url}, session=True)
        self.wait_for_event("Page.loadEventFired", timeout)

    def screenshot(self, path: Path, *, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics", session=True)["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        data = self.send("Page.captureScreenshot", params, session=True, timeout=60)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def drain(self, seconds: float) -> None:
        """Collect events for a while (late console errors, late requests)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(0.05)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)

    def console_errors(self) -> list[str]:
        """Uncaught exceptions, console.error/assert calls and error-level log entries."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails"))[:500])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args"))[:500])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", "")[:500])
        return out

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def dialogs(self) -> list[str]:
        return [e["params"].get("message", "") for e in self.events if e.get("method") == "Page.javascriptDialogOpening"]


def chromium_or_skip() -> str:
    """Chromium's path; skips the test without it, but fails when CI is set (set-up must install it)."""
    import os

    import pytest

    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium not found but CI is set: the set-up must install Debian's `chromium` package")
        pytest.skip("chromium not found (install it with `apt-get install -y chromium`)")
    return executable


@contextmanager
def open_report(report: Path, profile_dir: Path, *, width: int = 1400, height: int = 3000, mobile: bool = False,
                executable: str | None = None):
    """Open ``report`` in headless Chromium, wait for every chart; yields the browser with ``charts`` set."""
    chrome = Chromium(executable or chromium_or_skip(), profile_dir, width=width, height=height, mobile=mobile)
    try:
        chrome.open(Path(report).as_uri())
        chrome.charts = chrome.evaluate(WAIT_FOR_CHARTS)
        chrome.drain(0.5)
        yield chrome
    finally:
        chrome.close()
