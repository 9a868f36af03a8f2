"""Real headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) against a live app."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from casefeedback import create_app
from tests.conftest import Clock, make_config

CHROMIUM = os.environ.get("CASEFEEDBACK_CHROMIUM", "/usr/bin/chromium")
HOW_TO_INSTALL = ("browser tests need Debian's Chromium at /usr/bin/chromium: `sudo apt-get install chromium` "
                  "(scripts/test installs it by itself when CI is set)")
# As root in a container, Chromium needs --no-sandbox; the other flags keep it
# from reaching for the network at start-up (this machine has none).
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _require_browser() -> None:
    missing = not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM))
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must not skip browser tests: {HOW_TO_INSTALL}", pytrace=False)
        pytest.skip(HOW_TO_INSTALL)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def serve(instance: Path) -> Iterator[object]:
    """A fresh app (fresh keys, its own database) served by werkzeug in a thread until the generator closes."""
    config = make_config(instance)
    app = create_app(config, clock=Clock())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["casefeedback"].engine.dispose()


@pytest.fixture
def live_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    yield from serve(tmp_path / "instance")


@pytest.fixture
def base_url(live_app) -> str:  # type: ignore[no-untyped-def]
    return str(live_app.config["LIVE_URL"])


@pytest.fixture
def page(browser, base_url):  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=True)
    opened = context.new_page()
    # Nothing but our own origin may be asked for: no analytics, fonts or CDNs.
    # (A navigation the person asked for — the quick exit to a neutral site — is not a resource load.)
    outside: list[str] = []
    opened.on("request", lambda request: None if request.url.startswith((base_url, "data:"))
              or request.is_navigation_request() else outside.append(request.url))
    yield opened
    context.close()
    assert not outside, f"third-party requests: {outside}"


@pytest.fixture
def no_js_page(browser, base_url):  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False)
    opened = context.new_page()
    yield opened
    context.close()
