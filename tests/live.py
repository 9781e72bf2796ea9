"""A live server for attacks with real parallel HTTP requests.

``live_app_server`` (session-scoped) serves the application under gunicorn — two worker
processes with four threads each, so requests really run at the same time in different
processes — against the database the test session uses (``TEST_DATABASE_URL`` when set,
else the session's temporary SQLite file), with payments through stripe-mock. Tests build
their data with the factories in the test process (committed, so the server sees it) and
fire requests with ``LiveServer.session`` and ``LiveServer.stampede``.

Use it from a conftest: ``from tests.live import live_app_server  # noqa: F401``.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, base: str, log: Path):
        self.base, self.log = base, log

    def session(self, user=None) -> requests.Session:
        """A browser-like client; logged in as ``user`` (a factory user) when given."""
        from tests.factories import PASSWORD as factory_password

        client = requests.Session()
        if user is not None:
            r = client.post(self.base + "/login", data={"email": user.email, "password": factory_password},
                            allow_redirects=False, timeout=30)
            assert r.status_code in (302, 303), (r.status_code, r.text[:500])
        return client

    @staticmethod
    def drop_idle_connections(clients) -> None:
        """Close the clients' kept-alive connections, so each next request opens its own.

        gunicorn closes a connection left idle for two seconds; a POST written on one at the
        moment the server closes it is reset, and requests does not resend a POST. Building
        twenty logged-in sessions takes longer than that, so a stampede starts fresh."""
        for c in {id(c): c for c in clients}.values():
            c.close()

    def stampede(self, client: requests.Session | list, path: str, n: int = 20, data=None) -> list[int]:
        """POST ``path`` ``n`` times at once (all threads released together); the status codes.
        ``client`` is one session (shared cookies) or a list of sessions, one per request."""
        clients = client if isinstance(client, list) else [client] * n
        self.drop_idle_connections(clients)
        barrier = threading.Barrier(n)

        def fire(c):
            barrier.wait(timeout=60)
            return c.post(self.base + path, data=data or {}, allow_redirects=False, timeout=120).status_code

        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(fire, clients[:n]))


@pytest.fixture(scope="session")
def live_app_server(app, database_url, stripe_api_base, tmp_path_factory):
    """gunicorn (2 workers x 4 threads) on a free loopback port, on the session's database."""
    tmp = tmp_path_factory.mktemp("live")
    env = dict(os.environ)
    for key in ("FLASK_APP", "FLASK_DEBUG"):
        env.pop(key, None)
    env.update({
        "MARKETPLACE_CONFIG": "test",
        "DATABASE_URL": database_url,
        "PAYMENT_GATEWAY": "stripe",
        "STRIPE_API_BASE": stripe_api_base,
        "STRIPE_RELAY_WEBHOOKS": "true",
        "SEARCH_SQLITE_PATH": str(tmp / "search.sqlite"),
        "UPLOAD_DIR": str(tmp / "uploads"),
    })
    port = _free_port()
    log_path = tmp / "gunicorn.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "4",
                             "-b", f"127.0.0.1:{port}", "--timeout", "120", "--keep-alive", "30", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(base + "/login", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise RuntimeError("gunicorn did not start:\n" + log_path.read_text())
        time.sleep(0.2)
    try:
        yield LiveServer(base, log_path)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
