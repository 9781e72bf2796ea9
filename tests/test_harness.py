"""The test run itself: stopped with TERM (scripts/test forwards its own and Ctrl-C's; a CI
cancel sends one), pytest still tears its fixtures down, so the servers they started (live
gunicorns, the loopback cluster) do not outlive the run."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SLEEPER = '''
import pathlib
import time

import pytest


@pytest.fixture
def server():
    yield
    pathlib.Path({torn!r}).write_text("torn down")


def test_runs_until_stopped(server):
    pathlib.Path({started!r}).write_text("started")
    time.sleep(60)
'''


def test_a_term_tears_the_fixtures_down(tmp_path):
    started, torn = tmp_path / "started", tmp_path / "torn"
    test_file = tmp_path / "test_sleeper.py"
    test_file.write_text(SLEEPER.format(started=str(started), torn=str(torn)))
    # the suite's conftest as a plugin: what it installs at import is what every run gets
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                             str(test_file)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not started.exists():
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, "the inner test did not start"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert torn.exists() and torn.read_text() == "torn down", out
    assert proc.returncode == 2, out  # pytest's "interrupted", not a pass
