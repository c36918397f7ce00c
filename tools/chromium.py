"""Headless Chromium for the browser checks (``make check-pages``), driven by Selenium.

Uses Debian's ``chromium`` and ``chromium-driver`` packages (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; ``CHROMIUM`` and ``CHROMEDRIVER`` override the paths),
never a browser that a tool downloads. The browser starts with a fresh profile and
without its background connections (updates, sync, safe browsing), and every
request it makes is recorded: :func:`requests` lists them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
INSTALL_HINT = "install Debian's browser and driver: apt-get install -y chromium chromium-driver"

#: Flags for a headless Chromium that runs as root and contacts nobody on its own.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)


def missing() -> str | None:
    """Why the browser cannot start here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            return f"{path} not found: {INSTALL_HINT}"
    return None


@contextmanager
def chromium(offline: bool = False) -> Iterator:
    """A Selenium driver for headless Chromium that logs the browser console and all network events.

    ``offline``: send every http(s) request but those to localhost to a closed local port
    (it still shows in :func:`requests`), so that a page that tries to reach the network cannot.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    problem = missing()
    if problem:
        raise RuntimeError(problem)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        if offline:
            options.add_argument("--proxy-server=http://127.0.0.1:9")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            driver.set_script_timeout(60)
            yield driver
        finally:
            driver.quit()


def network_events(driver) -> list[dict]:
    """The DevTools ``Network.*`` events since the last call (each as ``{"method", "params"}``)."""
    events = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method", "").startswith("Network."):
            events.append(message)
    return events


def requests(events: list[dict]) -> list[str]:
    """The URLs of all requests in ``events``."""
    return [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]


def failed_loads(events: list[dict]) -> list[str]:
    """The URLs of requests that failed (missing file, refused connection ...), with the reason."""
    urls = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in events if "request" in e["params"]}
    return [
        f"{urls.get(e['params']['requestId'], '?')}: {e['params'].get('errorText')}"
        for e in events
        if e["method"] == "Network.loadingFailed"
    ]
