"""Where one checkout's CPU goes, in-process: the two POSTs of ``bench/http.py``'s checkout
(``/listings/<id>/order``, then ``/orders/<id>/pay`` with the relayed webhook) through Flask's
test client, in the production configuration the HTTP bench uses, against stripe-mock.

    source /work/shared-run/components.env
    .venv/bin/python bench/checkout_profile.py --db /tmp/bench-http-XXXX/bench.sqlite [--checkouts 200] [--profile]

``--db``: a database ``bench/http.py`` left behind (demo city and its ``bench…`` enterprises),
copied first and brought to the migration head. Prints JSON: CPU ms per checkout
(``time.process_time``: this process only, stripe-mock's is not counted), the same for a bare
"hello" Flask app's request (the floor of two requests), and inclusive CPU ms per checkout of
each phase (request set-up hooks, user loading, CSRF, services, Stripe calls, webhook, commits,
flushes). Phases nest (``commit`` is inside the services): they do not add up. ``--profile``
also prints cProfile's top functions (CPU clock) by own time and by cumulative time.
"""
from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import cProfile  # noqa: E402
import functools  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPENT: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
_ACTIVE: set[str] = set()


def timed(name, fn):
    """``fn`` counting its inclusive CPU time under ``name`` (not twice when it recurses)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if name in _ACTIVE:
            return fn(*args, **kwargs)
        _ACTIVE.add(name)
        t0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] += time.process_time() - t0
            CALLS[name] += 1
            _ACTIVE.discard(name)
    return wrapper


def patch(obj, attr, name):
    setattr(obj, attr, timed(name, getattr(obj, attr)))


def instrument(app):
    import flask_login
    import flask_wtf.csrf
    from sqlalchemy.orm import Session

    from marketplace.ledger import services as ledger
    from marketplace.notifications import models as nmodels
    from marketplace.notifications import services as nservices
    from marketplace.orders import services as orders
    from marketplace.payments import gateway as gw
    from marketplace.payments import services as payments

    # hooks, by their names, wherever they were registered
    for funcs in (app.before_request_funcs, app.after_request_funcs):
        for key, hooks in funcs.items():
            funcs[key] = [timed(f"hook {'before' if funcs is app.before_request_funcs else 'after'} "
                                f"{getattr(h, '__module__', '?').rsplit('.', 1)[-1]}.{getattr(h, '__qualname__', h)}", h)
                          for h in hooks]
    app.wsgi_app = timed("request (whole WSGI call)", app.wsgi_app)
    patch(app.session_interface, "open_session", "session cookie open")
    patch(app.session_interface, "save_session", "session cookie save")
    patch(flask_login.LoginManager, "_load_user", "user load (flask-login)")
    patch(flask_wtf.csrf.CSRFProtect, "protect", "csrf check")
    patch(flask_wtf.csrf, "generate_csrf", "csrf token make")
    patch(app, "full_dispatch_request", "dispatch (hooks + view)")
    patch(app, "dispatch_request", "view function")
    patch(app, "finalize_request", "finalize (after hooks, session save)")
    for view in ("orders.order_service", "orders.pay"):
        app.view_functions[view] = timed(f"view {view}", app.view_functions[view])
    patch(orders, "order_service", "svc orders.order_service")
    patch(orders, "_new_order", "svc orders._new_order")
    patch(payments, "checkout", "svc payments.checkout")
    patch(payments, "get_order", "svc payments.get_order")
    patch(payments, "payments_of", "svc payments.payments_of")
    patch(payments, "handle_webhook", "svc webhook handle (verify+apply)")
    patch(payments, "_apply_event", "svc webhook apply")
    patch(payments, "book", "svc payments.book")
    patch(payments, "ledger_append", "svc ledger append")
    patch(payments, "notify", "svc notify (buyer)")
    patch(nservices, "tell", "svc tell")
    patch(orders, "tell", "svc tell")
    patch(nservices, "members", "svc members")
    patch(nservices, "_members_choosing", "svc members with their choices")
    patch(orders, "_listing_to_buy", "svc orders listing (+ related party)")
    patch(ledger, "_hash", "ledger hash") if hasattr(ledger, "_hash") else None
    patch(gw.StripeGateway, "create_payment", "stripe create")
    patch(gw.StripeGateway, "confirm_payment", "stripe confirm")
    patch(gw.StripeGateway, "parse_webhook", "webhook verify+parse")
    patch(gw, "build_event", "webhook build")
    patch(gw, "sign_webhook_payload", "webhook sign")
    patch(Session, "commit", "db commit")
    patch(Session, "flush", "db flush")
    patch(Session, "execute", "db session.execute")
    del nmodels
    return app


def login(client, email, password):
    html = client.get("/login").data
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()
    r = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.status_code
    html = client.get("/home").data
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a bench.sqlite that bench/http.py left")
    parser.add_argument("--checkouts", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--profile-out", help="with --profile: also write the checkouts' cProfile stats here "
                                              "(pstats.Stats(FILE).print_callers(...) to see who calls what)")
    parser.add_argument("--sql", action="store_true", help="print the statements of one checkout")
    parser.add_argument("--accounts", type=int, default=40, help="sessions taken in turn, as bench/http.py does")
    parser.add_argument("--rounds", type=int, default=100,
                        help="checkouts followed by rounds of the worker (its cost when it keeps up)")
    parser.add_argument("--per-round", type=int, default=1,
                        help="checkouts a worker round finds (1: a round after each checkout)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="checkout-profile-"))
    db_path = tmp / "bench.sqlite"
    src = sqlite3_backup(Path(args.db), db_path)
    del src
    os.environ.update(DATABASE_URL=f"sqlite:///{db_path}", MARKETPLACE_CONFIG="production",
                      SESSION_COOKIE_SECURE="0", REMEMBER_COOKIE_SECURE="0", STRIPE_RELAY_WEBHOOKS="1",
                      SEARCH_SQLITE_PATH=str(tmp / "search.sqlite"), UPLOAD_DIR=str(tmp / "uploads"),
                      FLASK_DEBUG="0", SECRET_KEY=secrets.token_hex(32),
                      STRIPE_SECRET_KEY="sk_test_" + secrets.token_hex(12),
                      STRIPE_WEBHOOK_SECRET="whsec_" + secrets.token_hex(16), EXTERNAL_BASE_URL="https://bench.invalid",
                      RATELIMIT_LOGIN="100000 per minute", RATELIMIT_API="100000 per minute",
                      RATELIMIT_WEBHOOK="100000 per minute", OUTBOX_DRAIN="worker", MAIL_BACKEND="locmem")
    os.environ.pop("TEST_DATABASE_URL", None)
    if not os.environ.get("STRIPE_API_BASE"):
        sys.exit("STRIPE_API_BASE is not set: source /work/shared-run/components.env")
    subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    from flask import Flask
    from sqlalchemy import select

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.listings.models import Listing

    app = create_app()
    with app.app_context():
        service = db.session.scalars(select(Listing).where(
            Listing.kind == "service", Listing.status == "published", Listing.negotiable.is_(False),
            Listing.price_fen > 0).order_by(Listing.id)).first().id
        db.session.remove()
    # Several signed-in enterprises taken in turn, as the HTTP bench does: the pay POST's
    # flashed message waits in each one's session cookie until its next page.
    people = []
    for k in range(args.accounts):
        client = app.test_client()
        people.append((client, login(client, f"bench{k}@bench.liaocheng.demo", "bench-password-1")))
    turn = iter(range(10**9))
    statements = []

    def checkout():
        client, token = people[next(turn) % len(people)]
        r = client.post(f"/listings/{service}/order", data={"csrf_token": token})
        assert r.status_code == 302 and "/orders/" in r.headers["Location"], (r.status_code, r.data[:300])
        r = client.post(r.headers["Location"].split("bench.invalid")[-1].split("localhost")[-1] + "/pay",
                        data={"csrf_token": token})
        assert r.status_code == 302, (r.status_code, r.data[:300])

    for _ in range(args.warmup):
        checkout()

    n = args.checkouts
    t0 = time.process_time()
    for _ in range(n):
        checkout()
    plain_ms = (time.process_time() - t0) * 1000 / n
    # cProfile of the same checkouts, before ``instrument`` wraps the phases in timers of its own
    prof = cProfile.Profile(time.process_time) if args.profile else None
    if prof:
        prof.enable()
        for _ in range(n):
            checkout()
        prof.disable()
        if args.profile_out:
            prof.dump_stats(args.profile_out)

    hello = Flask("hello")
    hello.route("/")(lambda: "hello")
    hc = hello.test_client()
    for _ in range(200):
        hc.get("/")
    t0 = time.process_time()
    for _ in range(2000):
        hc.get("/")
    hello_ms = (time.process_time() - t0) * 1000 / 2000

    from sqlalchemy import event
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *a: statements.append(sql))
    if args.sql:
        checkout()
        for sql in statements:
            print(" ".join(sql.split())[:230])
        statements.clear()
    instrument(app)
    t0 = time.process_time()
    for _ in range(n):
        checkout()
    timed_ms = (time.process_time() - t0) * 1000 / n
    out = {
        "checkouts": n,
        "cpu_ms_per_checkout": round(plain_ms, 2),
        "cpu_ms_per_checkout_instrumented": round(timed_ms, 2),
        "bare_hello_ms_per_request": round(hello_ms, 3),
        "sql_statements_per_checkout": round(len(statements) / n, 1),
        "phases_ms_per_checkout": {k: [round(v * 1000 / n, 2), round(CALLS[k] / n, 1)]
                                   for k, v in sorted(SPENT.items(), key=lambda kv: -kv[1])},
    }
    print(json.dumps(out, ensure_ascii=False, indent=1))
    # The worker's share: what these checkouts left in the outbox, drained here (SMTP off: the
    # mail is queued to the console backend's sink), per topic.
    from marketplace import outbox
    with app.app_context():
        topics = outbox._registry()
        for name, topic in topics.items():
            topics[name] = type(topic)(topic.name, timed(f"worker {name}", topic.handler), topic.batch)
        waiting = db.session.execute(select(outbox.OutboxEntry.topic, __import__("sqlalchemy").func.count())
                                     .group_by(outbox.OutboxEntry.topic)).all()
        worker_prof = cProfile.Profile(time.process_time) if args.profile else None
        t0 = time.process_time()
        if worker_prof:
            worker_prof.enable()
        outbox.drain()
        if worker_prof:
            worker_prof.disable()
        drain_ms = (time.process_time() - t0) * 1000 / n
    print(json.dumps({"outbox_rows_waiting": dict(waiting), "worker_drain_ms_per_checkout": round(drain_ms, 2),
                      "worker_topics_ms_per_checkout": {k[7:]: round(v * 1000 / n, 2) for k, v in SPENT.items()
                                                        if k.startswith("worker ")}}))
    if worker_prof:
        s = io.StringIO()
        pstats.Stats(worker_prof, stream=s).sort_stats("cumulative").print_stats(args.top)
        print("--- the worker's drain ---\n" + s.getvalue())
    # The worker as it runs beside gunicorn: it keeps up, so each round of ``flask worker``
    # (``work_once``: drain what is waiting, the timed jobs, the heartbeat) finds a checkout or
    # few. Here a round after every ``--per-round`` checkouts: 1 is the worker at its busiest
    # per checkout (a round for each); the worker's wait after a small round
    # (``WORKER_LINGER_MS``) lets its rounds find several.
    if args.rounds:
        from marketplace import worker
        from marketplace.core.timeutil import utcnow

        with app.app_context():
            pulse = worker.Pulse("checkout-profile", utcnow())
            worker.work_once("checkout-profile", utcnow(), pulse)
            db.session.remove()
        spent, round_prof = 0.0, cProfile.Profile(time.process_time) if args.profile else None
        for k in range(args.rounds):
            checkout()
            if (k + 1) % args.per_round:
                continue
            with app.app_context():
                t0 = time.process_time()
                if round_prof:
                    round_prof.enable()
                worker.work_once("checkout-profile", utcnow(), pulse)
                db.session.remove()
                if round_prof:
                    round_prof.disable()
                spent += time.process_time() - t0
        print(json.dumps({"worker_round_per_checkout_ms": round(spent * 1000 / args.rounds, 2),
                          "checkouts": args.rounds, "checkouts_per_round": args.per_round}))
        if round_prof:
            s = io.StringIO()
            pstats.Stats(round_prof, stream=s).sort_stats("cumulative").print_stats(args.top)
            print("--- the worker's rounds, one checkout each ---\n" + s.getvalue())
    if prof:
        for key in ("tottime", "cumulative"):
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats(key).print_stats(args.top)
            print("--- the checkouts (before the phases' timers were put in) ---\n" + s.getvalue())
    shutil.rmtree(tmp, ignore_errors=True)


def sqlite3_backup(src: Path, dst: Path):
    import sqlite3

    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


if __name__ == "__main__":
    main()
