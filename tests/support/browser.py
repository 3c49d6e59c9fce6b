"""Debian's headless Chromium for the browser tests, driven by Playwright through its path
(no browser download); screenshots go to tests/artifacts/."""

import os
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# No background traffic: this machine's network is closed.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright, home=None):
    """Chromium, headless; with ``home``, the certificates trusted in its NSS database."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/browser.sh` (part of make test)")
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home)} if home else None
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS, env=env)


def home_trusting(folder, ca_file):
    """A HOME whose NSS database trusts ``ca_file`` for websites, as a user who imported
    the deployment's CA into their browser."""
    nssdb = Path(folder) / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "deployment CA", "-t", "C,,",
                    "-i", str(ca_file)], check=True)
    return Path(folder)


def open_page(page, url, selector, timeout=180):
    """Go to ``url`` until ``selector`` shows, as a user reloads a page that broke.

    On the Docker host a starting container's network interface makes Chromium abort what it
    is loading (ERR_NETWORK_CHANGED) and reload on its own, which also interrupts a
    navigation of ours; a user's browser elsewhere never sees that. So a failed attempt is
    followed by a look at whatever page Chromium's own reload brought, then another try."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            page.goto(url)
            page.wait_for_selector(selector, timeout=60_000)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            try:
                page.wait_for_selector(selector, timeout=5_000)
                return
            except Exception:
                pass
