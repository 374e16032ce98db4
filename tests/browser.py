"""Headless Chromium for the browser tests (Debian's chromium + chromium-driver, driven by selenium): the skip
marker where any of them is missing, and the driver with the options every test uses."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

try:
    import selenium  # noqa: F401

    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

needs_browser = pytest.mark.skipif(
    not (CHROMIUM and DRIVER and HAVE_SELENIUM),
    reason="needs Debian's chromium + chromium-driver and selenium "
    "(`make test` installs them; apt-get install chromium chromium-driver)",
)


def chrome(*extra: str, window: str = "1280,1600") -> Any:
    """A headless Chromium driver (the caller quits it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--autoplay-policy=no-user-gesture-required", f"--window-size={window}", *extra):  # fmt: skip
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)
