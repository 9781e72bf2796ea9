"""Browser journeys: real Chromium (Playwright) against the platform served by gunicorn.

One gunicorn (two workers) per test session serves the demo city loaded into a temporary
SQLite database, with payments through stripe-mock (the development configuration relays
the signed webhook, as ``stripe listen`` would). Each journey saves its screenshots in
``screenshots/<journey>/NN-step.png`` (git-ignored).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
PASSWORD = "liaocheng2024"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flask(env, *args):
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="session")
def mail_inbox():
    """The SMTP server the platform under test sends its mail to (aiosmtpd on loopback)."""
    from tests import mailbox

    inbox = mailbox.Inbox()
    controller, port = mailbox.start(inbox)
    inbox.port = port
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def live_database(live_server, tmp_path_factory):
    """The SQLite file the live server uses (a journey may let time pass by editing it)."""
    return live_server_paths["database"]


live_server_paths: dict[str, Path] = {}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, stripe_api_base, chromium_path, mail_inbox):
    """The platform under gunicorn on a free loopback port; yields its base URL. Its mail
    goes by SMTP to ``mail_inbox``, with links on its own address."""
    tmp = tmp_path_factory.mktemp("browser")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live_server_paths["database"] = tmp / "b.sqlite"
    env = dict(os.environ)
    for key in ("TEST_DATABASE_URL", "FLASK_APP", "FLASK_DEBUG"):
        env.pop(key, None)
    env.update({
        "DATABASE_URL": f"sqlite:///{tmp / 'b.sqlite'}",
        "MARKETPLACE_CONFIG": "development",
        "STRIPE_API_BASE": stripe_api_base,
        "SEARCH_SQLITE_PATH": str(tmp / "search.sqlite"),
        "UPLOAD_DIR": str(tmp / "uploads"),
        "SECRET_KEY": "browser-journeys-secret",
        # Every journey's people log in from 127.0.0.1: one address for a whole town. The login
        # limit itself is tested in tests/security/test_login_throttle.py.
        "RATELIMIT_LOGIN": "600 per minute",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mail_inbox.port),
        "EXTERNAL_BASE_URL": base,
    })
    _flask(env, "db", "upgrade")
    _flask(env, "demo", "load")
    _flask(env, "search", "reindex")
    log = open(tmp / "gunicorn.log", "w")
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                             "--timeout", "60", "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/listings", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("gunicorn did not start:\n" + (tmp / "gunicorn.log").read_text())
        time.sleep(0.2)
    try:
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")  # not the session: sync Playwright holds an event loop while it runs
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Journey:
    """A person in a browser: logs in, clicks, and photographs each step."""

    def __init__(self, browser, base: str, name: str):
        self.base, self.name, self._n = base, name, 0
        self.folder = SCREENSHOTS / name
        self._browser = browser
        self.errors: list[str] = []
        self.failed_loads: list[tuple[int, str]] = []
        self.context = browser.new_context()

    def person(self, email: str, password: str = PASSWORD) -> "Journey":
        """Another person (or the same one later) at a fresh browser, logged in."""
        self.context.close()
        self.context = self._browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        # Script errors and CSP violations are failures; failed loads are kept with their URL,
        # so that a journey can say which error pages it expected.
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: self.errors.append(msg.text)
                     if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
        self.page.on("response", lambda r: self.failed_loads.append((r.status, r.url.removeprefix(self.base)))
                     if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        return self.login(email, password)

    def shot(self, step: str):
        self._n += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.folder / f"{self._n:02d}-{step}.png"), full_page=True)

    def goto(self, path: str):
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        return response

    def login(self, email: str, password: str = PASSWORD):
        self.goto("/login")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.locator("main form button").first.click()
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, self.page.inner_text("main")
        return self

    def logout(self):
        self.page.locator("header form[action='/logout'] button").click()
        self.page.wait_for_load_state()

    def switch_language(self, code: str):
        label = "English" if code == "en" else "中文"
        self.page.locator(f"header form[action='/lang/{code}'] button", has_text=label).click()
        self.page.wait_for_load_state()

    def assert_clean(self, *expected: tuple[int, str]):
        """No script error or CSP violation; no failed page load but the ``expected`` ones."""
        assert not self.errors, self.errors
        assert sorted(self.failed_loads) == sorted(expected), self.failed_loads

    def main_text(self) -> str:
        return self.page.inner_text("main")

    def flash(self) -> str:
        return " ".join(self.page.locator(".flash").all_inner_texts())

    def close(self):
        self.context.close()


@pytest.fixture()
def journey(request, browser, live_server):
    made = []

    def start(name: str | None = None) -> Journey:
        folder = name or re.sub(r"^test_", "", request.node.name)
        if not made and (SCREENSHOTS / folder).exists():
            shutil.rmtree(SCREENSHOTS / folder)
        j = Journey(browser, live_server, folder)
        made.append(j)
        return j

    yield start
    for j in made:
        j.close()
