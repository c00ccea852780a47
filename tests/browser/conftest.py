"""Browser tests: a real Assay server (uvicorn, SQLite file) driven by Debian's Chromium.

Chromium is launched from ``/usr/bin/chromium`` by Playwright for Python (never a downloaded
browser). Where Chromium or Playwright is missing the tests skip with a reason, unless
``ASSAY_BROWSER_TESTS=required`` (CI) makes that a failure. Screenshots of every page go to
``screenshots/`` (or ``ASSAY_SCREENSHOTS``). axe-core, vendored from npm by ``vendor-axe.sh``,
checks each page's accessibility.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from assessments.app import create_app
from assessments.bank.content_sync import load_content
from assessments.config import Settings
from assessments.db import Database, session_scope
from assessments.demo import DemoAccount, set_up_demo
from assessments.migrations import upgrade
from assessments.models import utcnow
from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).parent
AXE = HERE / ".vendor" / "axe.min.js"
SHOTS = Path(os.environ.get("ASSAY_SCREENSHOTS", ROOT / "screenshots"))
REQUIRED = os.environ.get("ASSAY_BROWSER_TESTS") == "required"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    if not CHROMIUM.exists():
        return "Debian's chromium is not installed at /usr/bin/chromium"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Under pytest-xdist (--dist loadgroup), every browser test runs on one worker: one Chromium,
    # one served Assay, and Playwright's event loop never shares a worker with tests that start their own.
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.xdist_group("browser"))
    reason = _unavailable()
    if reason is None:
        return
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason) if not REQUIRED else
                            pytest.mark.xfail(reason=reason, run=False, strict=True))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """Assay served by uvicorn in a thread, on a database that outlives restarts."""

    settings: Settings
    database_url: str
    port: int = field(default_factory=_free_port)
    accounts: dict[str, DemoAccount] = field(default_factory=dict)
    quiz_id: int = 0
    host_name: str = "127.0.0.1"
    """The name browsers reach it by (mapped to 127.0.0.1 by Chromium's host resolver rules)."""
    tls: tuple[str, str] | None = None
    """A certificate and its key: served over HTTPS."""
    _server: Any = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host_name}:{self.port}"

    def database(self) -> Database:
        return Database(self.database_url)

    def start(self) -> None:
        import uvicorn

        app = create_app(self.settings, Database(self.database_url))
        certfile, keyfile = self.tls or (None, None)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                ssl_certfile=certfile, ssl_keyfile=keyfile)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("Assay did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("browser-data")
    settings = Settings(data_dir=data, secret_key="browser-tests-" + "k" * 40, grace_seconds=5)
    url = f"sqlite:///{data / 'assay.sqlite3'}"
    upgrade(url)
    database = Database(url)
    with session_scope(database) as session:
        load_content(session, ROOT / "content", actor_id=None, now=utcnow())
        accounts, quiz_id = set_up_demo(session, utcnow())
    database.dispose()
    server = LiveServer(settings, url, accounts={a.username: a for a in accounts}, quiz_id=quiz_id)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not AXE.exists():
        subprocess.run([str(HERE / "vendor-axe.sh")], check=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield instance
        instance.close()


@contextlib.contextmanager
def opened_page(browser: Any, **options: Any) -> Iterator[Any]:
    """A page in a browser context of its own (``options`` as ``new_context`` takes them), the
    browser's script errors and console errors collected in ``page.errors``; closed after."""
    context = browser.new_context(**options)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # bypass_csp: axe is injected as a script, which Assay's own policy rightly refuses
    with opened_page(browser, viewport={"width": 1280, "height": 900}, bypass_csp=True) as page:
        yield page
    assert page.errors == [], page.errors


def sign_in(page: Any, server: LiveServer, username: str, password: str | None = None) -> None:
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", password or server.accounts[username].password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def shoot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def check_accessibility(page: Any) -> None:
    """axe-core on the page as it stands: no violations of WCAG 2.1 A and AA rules."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
    )
    problems = [
        f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in result["violations"]
    ]
    assert problems == [], problems
