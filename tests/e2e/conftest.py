"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

Never `playwright install`: the browser is the system's (`apt-get install chromium`). The tests
skip when it is missing, unless ANCRAGE_REQUIRE_BROWSER=1 (CI), which turns the skip into a
failure. Every request the page makes is recorded; a page may only talk to the live server.

The tests photograph the pages docs/captures.md shows. They write the PNGs into a temporary
folder, never into the tree; to refresh the docs' captures, name the folder:
``ANCRAGE_SCREENSHOTS_DIR=docs/screenshots .venv/bin/pytest tests/e2e``.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ancrage.accounts.validators import DEMO_PASSWORD
from tests.e2e.helpers import SCREENSHOTS_ENV

CHROMIUM = os.environ.get("ANCRAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(autouse=True, scope="session")
def screenshots_folder(tmp_path_factory):
    """Where screenshot() writes: ANCRAGE_SCREENSHOTS_DIR if set, else a temporary folder."""
    with pytest.MonkeyPatch.context() as patch:
        if not os.environ.get(SCREENSHOTS_ENV):
            patch.setenv(SCREENSHOTS_ENV, str(tmp_path_factory.mktemp("screenshots")))
        yield Path(os.environ[SCREENSHOTS_ENV])


def _browser_required() -> bool:
    return os.environ.get("ANCRAGE_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session")
def chromium_path():
    if not Path(CHROMIUM).exists():
        message = f"Chromium absent ({CHROMIUM}) : apt-get install chromium chromium-driver"
        if _browser_required():
            pytest.fail(message + " (ANCRAGE_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Chromium, for the tests of one module.

    Playwright's sync API keeps an asyncio loop running in the test's thread while it is
    started: Django then refuses ORM calls from that thread (SynchronousOnlyOperation), and
    ``asyncio.run`` (pyHanko) refuses to start. So Playwright lives no longer than the module,
    never into other tests, and the ORM is allowed beside its loop (our calls are synchronous)
    only meanwhile. Playwright starts Chromium on a new, empty temporary profile of its own (it
    refuses a --user-data-dir here), and each Visitor gets a fresh context.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Visitor:
    """One person in a fresh browser context: their page, the requests it made, the pages seen."""

    def __init__(self, browser, live_server_url: str):
        self.base = live_server_url
        self.host = urlsplit(live_server_url).netloc
        self.context = browser.new_context(viewport=VIEWPORT, locale="fr-FR", accept_downloads=True)
        # Waiting for an element gives up sooner than Playwright's 30 s: a missing button fails fast.
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))

    def go(self, path: str):
        response = self.page.goto(self.base + path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        return response

    def login(self, email: str, password: str = DEMO_PASSWORD):
        self.go("/compte/connexion/")
        self.page.get_by_label("Adresse e-mail").fill(email)
        self.page.get_by_label("Mot de passe", exact=True).fill(password)
        self.page.get_by_role("button", name="Se connecter").click()
        self.page.wait_for_url(self.base + "/")

    def path(self) -> str:
        return urlsplit(self.page.url).path

    def outside_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob", "about") and urlsplit(url).netloc != self.host
        ]

    def close(self):
        self.context.close()


@contextmanager
def _visitors(browser, base_url: str):
    """A factory of Visitors on ``base_url``; on exit, closes them and checks they stayed there."""
    visitors = []

    def make(email: str | None = None) -> Visitor:
        visitor = Visitor(browser, base_url)
        visitors.append(visitor)
        if email:
            visitor.login(email)
        return visitor

    yield make
    outside = [url for visitor in visitors for url in visitor.outside_requests()]
    for visitor in visitors:
        visitor.close()
    assert not outside, f"requests to other hosts than the live server: {outside}"


@pytest.fixture
def visitor_factory(browser, live_server, committed_db):
    with _visitors(browser, live_server.url) as make:
        yield make


@pytest.fixture(scope="module")
def shared_demo_server(django_db_setup, django_db_blocker):
    """The demo, committed once for the module, and a live server of the module's own on it.

    For a module whose browser tests only read the demo (menus, renders, the map): each test
    with ``demo_data`` loads it again (some 6 s) and flushes it after. pytest-django's
    ``live_server`` would flush after every test (it asks for ``transactional_db``), so the
    module starts its own server thread, and flushes once, after its last test.
    """
    from django.core.management import call_command
    from pytest_django.live_server_helper import LiveServer

    from ancrage.demo.loader import load_demo
    from tests.conftest import triggers_off_until_the_flush

    with django_db_blocker.unblock():
        outside_event_loop(load_demo)
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        try:
            yield server
        finally:
            server._live_server_modified_settings.disable()
            _stop_when_requests_are_done(server)
            triggers_off_until_the_flush()
            call_command("flush", interactive=False, verbosity=0)


def _stop_when_requests_are_done(server, timeout: float = 10.0) -> None:
    """Stop the server, then wait for its request threads before the shared connection stops
    being shareable: a request still answering (a download the browser left) closes its
    connections when it ends, which Django refuses from another thread once sharing is over."""
    import threading
    import time

    server.thread.terminate()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        t.is_alive() and "process_request_thread" in t.name for t in threading.enumerate()
    ):
        time.sleep(0.05)
    for conn in server.thread.connections_override.values():
        conn.dec_thread_sharing()


@pytest.fixture
def demo_visitor_factory(browser, shared_demo_server, db):
    """Visitors of the module's shared demo (``shared_demo_server``).

    The test runs in a transaction rolled back after it (``db``), which the server thread shares
    (one in-memory SQLite connection): what a visit writes, a session say, goes with the test.
    """
    with _visitors(browser, shared_demo_server.url) as make:
        yield make


def outside_event_loop(function, *args, **kwargs):
    """Run ``function`` in a thread of its own and return its result.

    Playwright's sync API keeps an asyncio loop running in the test's thread, so code that calls
    ``asyncio.run`` (pyHanko seals the demo's signed convention that way) must run elsewhere.
    The thread's database connection is closed before it ends.
    """
    from django.db import connections

    def call():
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(call).result()


@pytest.fixture
def demo_data(committed_db):
    from ancrage.demo.loader import load_demo

    outside_event_loop(load_demo)
