"""HTTP benchmark: the platform under gunicorn against a bare Flask app under gunicorn, same run.

    .venv/bin/python bench/http.py [--requests 600] [--checkouts 300] [--concurrency 16] [--cap 60] [--venv .venv]

Serves the platform as deployed (gunicorn with deploy/gunicorn.conf.py: 2 workers of the threads it sets, a
`flask worker` beside it for the after-commit work, mail to a loopback SMTP sink; 127.0.0.1, demo city loaded into a temporary
SQLite database, production configuration with cookies allowed over plain http: CSRF on,
payments through stripe-mock with the signed webhook relayed) and a bare "hello" Flask app
(gunicorn, 2 workers). A bounded load generator (threads + http.client, loopback only, fixed
request counts, a time cap per phase) measures requests/s and latency for

  - hello            GET /            (the baseline)
  - listings         GET /listings
  - search           GET /search?q=检测
  - checkout         one real checkout = POST /listings/<service>/order + POST /orders/<id>/pay,
                     by many enterprise accounts, each a fresh order paid through stripe-mock

and prints JSON with the pages' ratio to the bare app. Then a burst of concurrent bookings of
the same instrument hours checks that no hour was booked twice.

stripe-mock: uses STRIPE_API_BASE if set; otherwise starts scripts/components/stripe-mock.sh
with a temporary MARKETPLACE_RUN_DIR and stops it at the end. Goals are reported, not asserted.

The checkout's ``cpu_ms_per_request`` splits the CPU of one checkout between the processes on
the machine: ``web`` (gunicorn), ``worker`` (``flask worker``, counted until the outbox is
empty), ``smtp_sink`` (the loopback SMTP server the worker mails to, a process of its own),
``stripe_mock`` (only when this run started its own: unset STRIPE_API_BASE) and
``load_generator`` (this process's threads). Their sum bounds checkouts/s on N idle cores:
N × 1000 / sum.

The machine's speed changes from minute to minute (a run's web CPU a checkout varied by a third
between runs of the same code), so the report also divides the web's CPU a checkout by
stripe-mock's (``web_over_stripe_mock``): the same Go binary doing the same two calls a
checkout, a baseline measured in the same run. ``--venv`` serves from another environment
(its gunicorn and flask), to compare interpreters; ``config.python`` names the one served.
"""
from __future__ import annotations

import os
import secrets
import sys

# This file is named http.py: keep its own folder off the path so that the standard
# library's http package is the one imported.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"  # (the environment that serves: --venv)
GOALS = {"page_over_bare_rps": 0.3, "checkouts_per_s": 100}
HELLO = '''from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "hello"
'''


def deployed_threads() -> int:
    """The threads of each worker, as deploy/gunicorn.conf.py reads them from this environment."""
    import runpy

    return runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))["threads"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- servers -------------------------------------------------------------------------------------

class Gunicorn:
    """gunicorn on a free loopback port. ``deployed=True`` runs the platform as a node is run
    in production (deploy/README.md): ``deploy/gunicorn.conf.py`` (gthread, preloaded) with
    ``workers`` processes, the after-commit work left to a ``flask worker`` process beside it
    (``OUTBOX_DRAIN=worker``) and mail to a real SMTP server on loopback (aiosmtpd, which keeps
    nothing). Without it: plain sync workers (the bare baseline app)."""

    def __init__(self, app: str, env: dict, cwd: Path, log: Path, workers: int = 2, deployed: bool = False,
                 profile_dir: Path | None = None):
        self.port = free_port()
        self.log = open(log, "w")
        self.worker = self.smtp = None
        if deployed:
            # The SMTP server in a process of its own, not a thread of this one: its CPU is
            # reported apart (``smtp_sink``), and it does not take turns at this process's
            # interpreter lock with the load's threads.
            smtp_port = free_port()
            self.smtp = subprocess.Popen(smtp_sink_command(smtp_port), stdout=self.log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            _wait_listening(smtp_port, self.smtp)
            env = {**env, "OUTBOX_DRAIN": "worker", "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1",
                   "MAIL_PORT": str(smtp_port), "GUNICORN_WORKERS": str(workers)}
            self.worker = subprocess.Popen([str(VENV / "flask"), "--app", "wsgi", "worker"], cwd=cwd, env=env,
                                           stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
            conf = ROOT / "deploy" / "gunicorn.conf.py"
            if profile_dir is not None:  # the same settings, with cProfile in the workers (bench/gunicorn_profile.py)
                conf, env = ROOT / "bench" / "gunicorn_profile.py", {**env, "GUNICORN_PROFILE_DIR": str(profile_dir)}
            args = ["--config", str(conf), "--timeout", "120"]
        else:
            args = ["-w", str(workers), "--timeout", "120"]
        self.proc = subprocess.Popen(
            [str(VENV / "gunicorn"), *args, "-b", f"127.0.0.1:{self.port}", "--backlog", "2048", app],
            cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = request("GET", self.port, "/listings" if app == "wsgi:app" else "/")
                if status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn {app} did not start; see {log}")
            time.sleep(0.2)

    def stop(self):
        for proc in (self.proc, self.worker, self.smtp):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        self.log.close()


# The SMTP server the platform's worker mails to. A deployment mails to a relay on another
# machine; here it shares the two cores with the platform, so the lightest real server stands
# in for it: go-smtp (bench/smtpsink, built into the cache on first use). aiosmtpd, the server
# the tests start, took 0.9 ms of CPU for each checkout's mails (~4 messages); --smtp-sink
# aiosmtpd chooses it.
SMTP_SINK = "go"
SINK_SOURCE = ROOT / "bench" / "smtpsink"


def smtp_sink_command(port: int) -> list[str]:
    if SMTP_SINK == "aiosmtpd":
        return [str(VENV / "python"), "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"]
    return [str(build_smtp_sink()), "-listen", f"127.0.0.1:{port}"]


def build_smtp_sink() -> Path:
    """bench/smtpsink built with the machine's Go into the cache (MARKETPLACE_CACHE, else
    .cache), again whenever its source is newer than the binary."""
    cache = Path(os.environ.get("MARKETPLACE_CACHE") or ROOT / ".cache")
    binary = cache / "bin" / "smtpsink"
    newest = max(f.stat().st_mtime for f in SINK_SOURCE.iterdir())
    if binary.exists() and binary.stat().st_mtime >= newest:
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOPATH": str(cache / "go"), "GOMODCACHE": str(cache / "go" / "mod")}
    done = subprocess.run(["go", "build", "-o", str(binary), "."], cwd=SINK_SOURCE, env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"building bench/smtpsink failed (or run with --smtp-sink aiosmtpd):\n{done.stderr[-2000:]}")
    return binary


def _wait_listening(port: int, proc, limit_s: float = 20) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the SMTP sink did not start on port {port}") from None
            time.sleep(0.1)


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, children_reaped: bool = False, system_only: bool = False, main_thread: bool = False) -> float:
    """CPU seconds (user + system, or system only) of one process, with its reaped children's if
    asked; or of its main thread only."""
    try:
        stat = Path(f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat")
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    used = (0 if system_only else int(fields[11])) + int(fields[12])  # utime, stime
    if children_reaped:
        used += (0 if system_only else int(fields[13])) + int(fields[14])  # cutime, cstime: workers that exited
    return used / _TICK


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all the machine's cores since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])  # (guest time is already inside user)
    return total - idle, total


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def cpu_of(server) -> dict:
    """CPU seconds spent so far by a server's gunicorn (master, live workers and the workers it
    reaped) and by its ``flask worker``. Unlike requests/s, other load on the machine does not
    inflate it (much): it is the cost of the work, not the wait for a core."""
    web = _proc_cpu(server.proc.pid, children_reaped=True) + sum(_proc_cpu(c) for c in _children(server.proc.pid))
    # the kernel's share of it (sockets, futexes of threads waiting for the GIL, file writes)
    web_sys = _proc_cpu(server.proc.pid, children_reaped=True, system_only=True) + sum(
        _proc_cpu(c, system_only=True) for c in _children(server.proc.pid))
    # a gthread worker's main thread: accepting, polling, handing connections to the pool threads
    web_main_thread = sum(_proc_cpu(c, main_thread=True) for c in _children(server.proc.pid))
    worker = _proc_cpu(server.worker.pid) if server.worker is not None else 0.0
    smtp = _proc_cpu(server.smtp.pid) if server.smtp is not None else 0.0
    return {"web": web, "web_sys": web_sys, "web_main_thread": web_main_thread, "worker": worker, "smtp": smtp}


def wait_quiet(server, limit_s: float) -> float | None:
    """Seconds until the server's worker used under 2 % of a core for a whole second."""
    start = time.perf_counter()
    last = cpu_of(server)["worker"]
    while time.perf_counter() - start < limit_s:
        time.sleep(1)
        now = cpu_of(server)["worker"]
        if now - last < 0.02:
            return round(time.perf_counter() - start, 1)
        last = now
    return None


def measured(server, count_of, fn):
    """Run ``fn()`` (a ``drive``) and add the server's CPU per request (milliseconds)."""
    before = cpu_of(server)
    result = fn()
    after = cpu_of(server)
    n = count_of(result) or 1
    result["cpu_ms_per_request"] = {k: round((after[k] - before[k]) * 1000 / n, 2) for k in before}
    return result


# Like nginx in front of a node (deploy/nginx: ``keepalive 16`` upstream, HTTP/1.1), the load
# generator's threads keep their connections open between requests; ``--no-keepalive`` opens
# one per request (the figures before session 9).
KEEPALIVE = True
_conns = threading.local()


def _connection(port, timeout):
    if not KEEPALIVE:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout), False
    pool = _conns.__dict__.setdefault("pool", {})
    conn = pool.get(port)
    reused = conn is not None and conn.sock is not None
    if conn is None:
        conn = pool[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    return conn, reused


def request(method, port, path, body=None, cookies=None, timeout=30):
    headers = {"Host": f"127.0.0.1:{port}"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body is not None:
        body = urllib.parse.urlencode(body, doseq=True)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn, reused = _connection(port, timeout)
    try:
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            # the node closed the idle connection (its keepalive timeout) before reading the
            # request: sent again on a new one, as nginx does
            conn.close()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
        data = response.read()
        if cookies is not None:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                value = rest.split(";", 1)[0]
                if "Expires=Thu, 01 Jan 1970" in header:
                    cookies.pop(name, None)
                else:
                    cookies[name] = value
        return response.status, response.headers, data
    except BaseException:
        conn.close()
        raise
    finally:
        if not KEEPALIVE:
            conn.close()


# --- a person with a session ----------------------------------------------------------------------

class Session:
    def __init__(self, port: int, email: str, password: str):
        self.port, self.cookies = port, {}
        _, _, html = request("GET", port, "/login", cookies=self.cookies)
        self.token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()
        status, headers, _ = self.post("/login", {"email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"login of {email} failed ({status})")
        # The session is renewed at login; a token of the new session serves every form.
        _, _, html = request("GET", port, "/home", cookies=self.cookies)
        self.token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()

    def post(self, path, data=None):
        return request("POST", self.port, path, body={**(data or {}), "csrf_token": self.token}, cookies=self.cookies)


# --- load ----------------------------------------------------------------------------------------------

def drive(job, count: int, concurrency: int, cap_s: float) -> dict:
    """Run ``job(i)`` ``count`` times on ``concurrency`` threads, stopping at ``cap_s`` seconds.
    ``job`` returns True when the request did what it should."""
    latencies, errors, lock = [], [], threading.Lock()
    next_i = iter(range(count))
    start = time.perf_counter()

    def worker():
        while True:
            with lock:
                i = next(next_i, None)
            if i is None or time.perf_counter() - start > cap_s:
                return
            t0 = time.perf_counter()
            try:
                ok = job(i)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                ok, err = False, f"{type(exc).__name__}: {exc}"
            else:
                err = None if ok else "unexpected answer"
            t1 = time.perf_counter()
            with lock:
                (latencies if ok else errors).append((t1 - t0) if ok else err)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies), "errors": len(errors), "first_error": errors[0] if errors else None,
        "seconds": round(elapsed, 3), "per_s": round(len(latencies) / elapsed, 1) if elapsed else 0,
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000, 1) if latencies else None,
        "capped": len(latencies) + len(errors) < count,
    }


def get_job(port, path, min_bytes=200):
    def job(_):
        status, _, body = request("GET", port, path)
        return status == 200 and len(body) >= min_bytes
    return job


# --- the platform's data ---------------------------------------------------------------------------------

def setup_platform(tmp: Path, env: dict, accounts: int) -> dict:
    def flask(*args):
        subprocess.run([str(VENV / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    flask("db", "upgrade")
    flask("demo", "load")
    flask("search", "reindex")
    # Many enterprise accounts (verified, small, in the city) so that each checkout is a fresh
    # order by a real buyer; one password hash shared, as hashing is not what we measure.
    script = f'''
import json
from marketplace import create_app
from marketplace.accounts import credit_code
from marketplace.accounts.models import Membership, Organization, User
from marketplace.accounts.services import hash_password
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.core.timeutil import utcnow
from sqlalchemy import select
app = create_app()
with app.app_context():
    pw = hash_password("bench-password-1")
    emails = []
    for n in range({accounts}):
        org = Organization(kind="enterprise", name=f"压测企业{{n}}", county="东昌府区", in_city=True, size="small",
                           credit_code=credit_code.make(f"91371502MB{{n:07d}}"), verified_at=utcnow())
        db.session.add(org); db.session.flush()
        user = User(email=f"bench{{n}}@bench.liaocheng.demo", name=f"压测{{n}}", password_hash=pw)
        db.session.add(user); db.session.flush()
        db.session.add(Membership(user_id=user.id, organization_id=org.id, role="enterprise", is_owner=True))
        emails.append(user.email)
    db.session.commit()
    service = db.session.scalars(select(Listing).where(Listing.kind == "service", Listing.status == "published",
                                 Listing.negotiable.is_(False), Listing.price_fen > 0).order_by(Listing.id)).first()
    # An instrument anyone may book at once for self-operation (no training, no manager's
    # approval, no weekly quota), so that the burst's outcome is decided by the race alone.
    from marketplace.instruments.models import InstrumentSettings
    instrument = db.session.scalars(select(Listing).join(InstrumentSettings, InstrumentSettings.instrument_id == Listing.id)
                                    .where(Listing.kind == "instrument", Listing.status == "published",
                                           InstrumentSettings.self_mode.is_(True),
                                           InstrumentSettings.requires_training.is_(False),
                                           InstrumentSettings.approval == "instant",
                                           InstrumentSettings.weekly_quota_hours.is_(None),
                                           InstrumentSettings.max_hours >= 2,
                                           Listing.open_to_hour - Listing.open_from_hour >= 3)
                                    .order_by(Listing.id)).first()
    print(json.dumps({{"emails": emails, "service": service.id, "instrument": instrument.id,
                      "open_from": instrument.open_from_hour, "open_to": instrument.open_to_hour}}))
'''
    out = subprocess.run([str(VENV / "python"), "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def wait_outbox(db_path: Path, limit_s: float) -> float | None:
    """Seconds until the worker has done every outbox row (None: not within ``limit_s``)."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        with sqlite3.connect(db_path) as conn:
            left = conn.execute("SELECT count(*) FROM outbox WHERE parked_at IS NULL").fetchone()[0]
        if not left:
            return round(time.perf_counter() - start, 2)
        time.sleep(0.1)
    return None


def checkout_job(sessions, service_id):
    def job(i):
        s = sessions[i % len(sessions)]
        status, headers, _ = s.post(f"/listings/{service_id}/order")
        if status != 302 or "/orders/" not in headers.get("Location", ""):
            return False
        order_path = urllib.parse.urlsplit(headers["Location"]).path
        status, headers, _ = s.post(order_path + "/pay")
        return status == 302
    return job


def booking_burst(sessions, port, data, db_path: Path, rounds: int) -> dict:
    """``len(sessions)`` enterprises book the same hours of one instrument at once, ``rounds`` times."""
    instrument = data["instrument"]
    day = (datetime.now(timezone.utc) + timedelta(hours=8)).date() + timedelta(days=3)  # a Beijing day ahead
    hours = list(range(data["open_from"], data["open_to"] - 1))[:rounds]
    outcome = {"rounds": len(hours), "attempts": 0, "booked": 0, "refused_409": 0, "other": 0}
    for hour in hours:
        barrier = threading.Barrier(len(sessions))
        results = []

        def attempt(s, barrier=barrier, hour=hour, results=results):
            barrier.wait()
            status, headers, _ = s.post(f"/instruments/{instrument}/book",
                                        {"day": day.isoformat(), "hour": hour, "hours": 2})
            # booked: a redirect to the order (or to one's bookings); refused: the instrument's
            # page again with the reason beside the form, answered 409
            results.append(status if status != 302 or "/login" not in headers.get("Location", "") else 401)

        threads = [threading.Thread(target=attempt, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcome["attempts"] += len(results)
        outcome["booked"] += results.count(302)
        outcome["refused_409"] += results.count(409)
        outcome["other"] += len(results) - results.count(302) - results.count(409)
    with sqlite3.connect(db_path) as conn:
        doubles = conn.execute("SELECT count(*) FROM (SELECT instrument_id, slot_start FROM booking_slots "
                               "GROUP BY instrument_id, slot_start HAVING count(*) > 1)").fetchone()[0]
        # a booking's hours are Beijing wall-clock time
        slots = conn.execute("SELECT count(*) FROM booking_slots WHERE instrument_id = ? AND date(slot_start) = ?",
                             (instrument, day.isoformat())).fetchone()[0]
    # Overlapping 2-hour requests at consecutive hours: at most every other round can win, and
    # at least one of each two rounds must (an hour is free when its round starts).
    outcome.update(double_booked_hours=doubles, booked_hours=slots,
                   no_double_booking=doubles == 0 and slots == 2 * outcome["booked"] and outcome["other"] == 0
                   and (len(hours) + 1) // 2 <= outcome["booked"] <= len(hours))
    return outcome


# --- main ------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=600, help="requests per page phase")
    parser.add_argument("--checkouts", type=int, default=300, help="checkouts (order + pay) in the checkout phase")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=40, help="enterprise accounts that check out")
    parser.add_argument("--burst", type=int, default=20, help="enterprises booking the same hours at once")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds at most per phase")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help="profile the gunicorn workers during the checkout phase (bench/gunicorn_profile.py) "
                             "and print where their CPU went")
    parser.add_argument("--no-keepalive", action="store_true",
                        help="a new connection per request (the default keeps them open, as nginx does)")
    parser.add_argument("--smtp-sink", choices=("go", "aiosmtpd"), default="go",
                        help="the SMTP server the worker mails to: bench/smtpsink (go-smtp; default) or aiosmtpd")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv",
                        help="the Python environment whose gunicorn and flask serve (default: the project's .venv)")
    args = parser.parse_args(argv)
    global KEEPALIVE, VENV, SMTP_SINK
    KEEPALIVE = not args.no_keepalive
    SMTP_SINK = args.smtp_sink
    VENV = args.venv.resolve() / "bin"
    served_python = subprocess.run([str(VENV / "python"), "-c", "import sys; print(sys.version.split()[0], "
                                    "sys._base_executable)"], check=True, capture_output=True, text=True).stdout.split()

    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    started_stripe = stripe_pid = None
    servers = []
    try:
        stripe_base = os.environ.get("STRIPE_API_BASE")
        if not stripe_base:
            run_dir = tmp / "run"
            run_dir.mkdir()
            started_stripe = {**os.environ, "MARKETPLACE_RUN_DIR": str(run_dir)}
            subprocess.run([str(ROOT / "scripts" / "components" / "stripe-mock.sh"), "start"], env=started_stripe,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stripe_base = re.search(r"STRIPE_API_BASE=(\S+)", (run_dir / "stripe-mock.env").read_text()).group(1)
            found = re.search(r"SM_PID=(\d+)", (run_dir / "stripe-mock.state").read_text())
            stripe_pid = int(found.group(1)) if found else None
        db_path = tmp / "bench.sqlite"
        env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "FLASK_APP")}
        # The production configuration (no debug mode, templates compiled once), except what
        # plain http on loopback and stripe-mock need: cookies without the Secure flag, and the
        # signed webhook relayed by the platform itself (stripe-mock sends none).
        env.update(DATABASE_URL=f"sqlite:///{db_path}", MARKETPLACE_CONFIG="production",
                   SESSION_COOKIE_SECURE="0", REMEMBER_COOKIE_SECURE="0", STRIPE_RELAY_WEBHOOKS="1",
                   STRIPE_API_BASE=stripe_base, SEARCH_SQLITE_PATH=str(tmp / "search.sqlite"),
                   UPLOAD_DIR=str(tmp / "uploads"), FLASK_DEBUG="0",
                   # production refuses published secrets: fresh ones for this run
                   SECRET_KEY=secrets.token_hex(32), STRIPE_SECRET_KEY="sk_test_" + secrets.token_hex(12),
                   STRIPE_WEBHOOK_SECRET="whsec_" + secrets.token_hex(16),
                   EXTERNAL_BASE_URL="https://bench.invalid",
                   # many accounts log in from one loopback address in a few seconds
                   RATELIMIT_LOGIN="100000 per minute", RATELIMIT_API="100000 per minute",
                   RATELIMIT_WEBHOOK="100000 per minute")
        t0 = time.perf_counter()
        data = setup_platform(tmp, env, max(args.accounts, args.burst))
        setup_s = time.perf_counter() - t0

        (tmp / "hello").mkdir()
        (tmp / "hello" / "hello.py").write_text(HELLO)
        hello = Gunicorn("hello:app", env, tmp / "hello", tmp / "hello.log")
        servers.append(hello)
        if args.profile_dir is not None:
            args.profile_dir.mkdir(parents=True, exist_ok=True)
        platform = Gunicorn("wsgi:app", env, ROOT, tmp / "platform.log", deployed=True, profile_dir=args.profile_dir)
        servers.append(platform)

        # The worker's first rounds run every timed job once (sweeps, reminders): let them end
        # before measuring, so that the first phase does not share the cores with them.
        worker_quiet_s = wait_quiet(platform, 60)
        c, n, cap = args.concurrency, args.requests, args.cap
        for port, path in ((hello.port, "/"), (platform.port, "/listings"), (platform.port, "/search?q=%E6%A3%80%E6%B5%8B")):
            drive(get_job(port, path, 5), 30, 4, cap)  # warm-up
        def done(result):
            return result["requests"] + result["errors"]

        results = {
            "hello": measured(hello, done, lambda: drive(get_job(hello.port, "/", 5), n, c, cap)),
            "listings": measured(platform, done, lambda: drive(get_job(platform.port, "/listings"), n, c, cap)),
            "search": measured(platform, done, lambda: drive(get_job(platform.port, "/search?q=%E6%A3%80%E6%B5%8B"),
                                                             n, c, cap)),
        }
        _, _, page = request("GET", platform.port, "/search?q=%E6%A3%80%E6%B5%8B")
        results["search"]["hits_on_page"] = page.count(b'<article class="hit">')
        sessions = [Session(platform.port, email, "bench-password-1") for email in data["emails"][:args.accounts]]
        # per checkout (two POSTs, the PaymentIntent, the relayed webhook), and the worker's
        # after-commit work for it, which may finish after the phase: waited for below
        before = cpu_of(platform)
        # (and, for the split of the whole machine's work, stripe-mock's CPU when this run started
        # its own, and this process's: the load generator's threads)
        stripe_before, load_before = _proc_cpu(stripe_pid) if stripe_pid else None, time.process_time()
        machine_before = _machine_ticks()
        if args.profile_dir is not None:
            (args.profile_dir / "on").touch()
        results["checkout"] = drive(checkout_job(sessions, data["service"]), args.checkouts, c, cap)
        if args.profile_dir is not None:
            (args.profile_dir / "on").unlink()
        web_after = cpu_of(platform)
        stripe_after, load_after = _proc_cpu(stripe_pid) if stripe_pid else None, time.process_time()
        machine_after = _machine_ticks()
        outbox_drained = wait_outbox(db_path, 60)
        after = cpu_of(platform)
        n_co = done(results["checkout"]) or 1
        results["checkout"]["cpu_ms_per_request"] = {
            "web": round((web_after["web"] - before["web"]) * 1000 / n_co, 2),
            "web_sys": round((web_after["web_sys"] - before["web_sys"]) * 1000 / n_co, 2),
            "web_main_thread": round((web_after["web_main_thread"] - before["web_main_thread"]) * 1000 / n_co, 2),
            "worker": round((after["worker"] - before["worker"]) * 1000 / n_co, 2),
            "smtp_sink": round((after["smtp"] - before["smtp"]) * 1000 / n_co, 2),
            "stripe_mock": round((stripe_after - stripe_before) * 1000 / n_co, 2) if stripe_pid else None,
            "load_generator": round((load_after - load_before) * 1000 / n_co, 2)}
        # how much of the machine's cores sat idle during the phase: what the rate lost to waits
        # (locks, round trips) rather than to CPU; other load on the machine lowers it
        busy, total = (machine_after[i] - machine_before[i] for i in (0, 1))
        results["checkout"]["machine_idle_share"] = round(1 - busy / total, 3) if total else None
        results["checkout"]["outbox_drained_after_s"] = outbox_drained
        with sqlite3.connect(db_path) as conn:
            paid = conn.execute("SELECT count(*) FROM orders o JOIN users u ON u.id = o.created_by_id "
                                "WHERE u.email LIKE 'bench%' AND o.status = 'paid'").fetchone()[0]
        results["checkout"]["orders_paid_in_db"] = paid
        burst_sessions = [Session(platform.port, email, "bench-password-1") for email in data["emails"][:args.burst]]
        bookings = booking_burst(burst_sessions, platform.port, data, db_path, rounds=5)

        # What the two workers' own CPU allows, were each given a core of its own (as on a web
        # node, with stripe, the load and the worker elsewhere): a bound, not a measurement; the
        # measured rate above shares this machine's cores with all of them.
        web_ms = results["checkout"]["cpu_ms_per_request"]["web"] or 1
        results["checkout"]["per_s_bound_by_web_cpu"] = round(2 * 1000 / web_ms, 1)
        stripe_ms = results["checkout"]["cpu_ms_per_request"].get("stripe_mock")
        if stripe_ms:
            results["checkout"]["web_over_stripe_mock"] = round(web_ms / stripe_ms, 2)
        bare = results["hello"]["per_s"] or 1
        report = {
            "bench": "http",
            "setup_s": round(setup_s, 1),
            "worker_quiet_after_s": worker_quiet_s,
            "config": {"workers": 2, "threads": deployed_threads(),
                       "keepalive": KEEPALIVE, "smtp_sink": SMTP_SINK, "concurrency": c, "requests": n, "checkouts": args.checkouts,
                       "accounts": args.accounts, "database": "sqlite",
                       "app_config": "production, cookies without Secure, webhook relayed",
                       "payments": f"stripe-mock {stripe_base}",
                       "cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()],
                       "python": {"version": served_python[0], "interpreter": served_python[1]}},
            "results": results,
            "ratio_to_bare": {name: round(results[name]["per_s"] / bare, 3) for name in ("listings", "search")},
            "bookings_burst": bookings,
            "goals": GOALS,
            "met": {
                "listings_ge_0.3x_bare": results["listings"]["per_s"] / bare >= GOALS["page_over_bare_rps"],
                "search_ge_0.3x_bare": results["search"]["per_s"] / bare >= GOALS["page_over_bare_rps"],
                "checkouts_ge_100_per_s": results["checkout"]["per_s"] >= GOALS["checkouts_per_s"],
                "no_double_booking": bookings["no_double_booking"],
            },
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
    finally:
        for server in reversed(servers):
            server.stop()
        if started_stripe:
            subprocess.run([str(ROOT / "scripts" / "components" / "stripe-mock.sh"), "stop"], env=started_stripe,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if args.profile_dir is not None:
        print_profile(args.profile_dir)


def print_profile(directory: Path, top: int = 45) -> None:
    """The gunicorn workers' profiles (written when they exit) added up, to stderr: the pool
    threads' CPU by layer, then the top functions by cumulative time (cProfile inflates every
    call alike, so read the shares, not the milliseconds)."""
    import pstats

    files = sorted(directory.glob("*.prof"))
    if not files:
        print(f"no profile in {directory}", file=sys.stderr)
        return
    totals = [json.loads(f.with_suffix(".json").read_text()) for f in files]
    print(f"profiled connections: {sum(t['connections'] for t in totals)}, pool-thread CPU "
          f"{sum(t['thread_cpu_s'] for t in totals):.2f} s", file=sys.stderr)
    stats = pstats.Stats(*map(str, files), stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    main()
