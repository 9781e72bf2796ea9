"""The loopback cluster under fire: nginx (TLS) → two gunicorn nodes, two background workers,
one PostgreSQL database, one Elasticsearch index, payments through stripe-mock — all on
127.0.0.1, started from deploy/ (tests/ops/cluster.py).

Enterprises order services (with innovation vouchers), pay, book instrument hours and pay,
through nginx to both nodes, while a provider publishes listings. Mid-run one web node and
one worker are killed (SIGKILL, no goodbye). Afterwards:

* nothing was lost: every order, booking and payment a client was told about is in the
  database, every paid order has its one ledger entry;
* nothing was done twice: no order with two succeeded payments, no ledger ref twice, no
  instrument hour booked twice, no outbox row left or parked;
* every claim equals a full recompute (``flask claims draft``, the audit path, changes nothing);
* the search index equals the database (the published listings, title for title).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.ops.cluster import CLIENT_ADDR, ROOT, SERVER_NAME, Cluster, wait_for

PASSWORD = "cluster-password-1"
ENTERPRISES = 8
SECONDS = float(os.environ.get("CLUSTER_TEST_SECONDS", "24"))


def flask(env: dict, *args: str, timeout: float = 600) -> str:
    result = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=False,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"flask {' '.join(args)}:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


SETUP = '''
import json, sys
from sqlalchemy import select
from marketplace import create_app
from marketplace.accounts import credit_code
from marketplace.accounts.models import Membership, Organization, User
from marketplace.accounts.services import hash_password
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.core.timeutil import beijing_today, utcnow
from marketplace.vouchers.models import Voucher, VoucherApplication
from datetime import date
app = create_app()
with app.app_context():
    today = beijing_today()
    pw = hash_password(sys.argv[1])
    emails = []
    for n in range(int(sys.argv[2])):
        org = Organization(kind="enterprise", name=f"集群企业{n}", county="东昌府区", in_city=True, size="small",
                           credit_code=credit_code.make(f"91371502MC{n:07d}"), verified_at=utcnow())
        db.session.add(org); db.session.flush()
        user = User(email=f"cluster{n}@cluster.liaocheng.demo", name=f"集群{n}", password_hash=pw)
        db.session.add(user); db.session.flush()
        db.session.add(Membership(user_id=user.id, organization_id=org.id, role="enterprise", is_owner=True))
        emails.append(user.email)
        # The city approved each an innovation voucher (申领), so it may pay with one.
        application = VoucherApplication(organization_id=org.id, applicant_id=user.id, year=today.year,
                                         planned_fen=10**11, purpose="集群测试", mode="exchange",
                                         status="approved", approved_fen=10**11)
        db.session.add(application); db.session.flush()
        db.session.add(Voucher(number=f"C{application.id:08d}", application_id=application.id,
                               organization_id=org.id, year=today.year, mode="exchange", amount_fen=10**11,
                               issued_on=date(today.year, 1, 1), use_by=date(today.year + 1, 12, 31),
                               redeem_by=date(today.year + 2, 3, 31)))
    db.session.commit()
    service = next(s for s in db.session.scalars(select(Listing).where(
        Listing.kind == "service", Listing.status == "published", Listing.negotiable.is_(False),
        Listing.price_fen > 0).order_by(Listing.id)) if s.voucher_eligible)
    instruments = db.session.scalars(select(Listing).where(Listing.kind == "instrument",
        Listing.status == "published", Listing.negotiable.is_(False)).order_by(Listing.id)).all()
    print(json.dumps({"emails": emails, "service": service.id,
                      "instruments": [[i.id, i.open_from_hour, i.open_to_hour] for i in instruments]}))
'''

# The provider delivers every paid voucher order with a report, and its buyer accepts it.
ACCEPT = '''
import json, sys
from sqlalchemy import select
from marketplace import create_app
from marketplace.accounts.models import Membership, User
from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.vouchers import services as vouchers
app = create_app()
with app.app_context():
    def member(org_id):
        return db.session.scalar(select(User).join(Membership, Membership.user_id == User.id)
                                 .where(Membership.organization_id == org_id).limit(1))
    ids = db.session.scalars(select(Order.id).where(Order.with_voucher.is_(True), Order.status == "paid",
                                                    Order.kind == "service", Order.id > int(sys.argv[1]))
                           .order_by(Order.id)).all()
    for order_id in ids:
        order = db.session.get(Order, order_id)
        vouchers.deliver(member(order.seller_org_id), order.id, "检测完成", [("检测报告.pdf", b"%PDF-1.4 report")])
        vouchers.accept(member(order.buyer_org_id), order.id)
    print(json.dumps(len(ids)))
'''


class Person:
    """A logged-in browser: cookies and the CSRF token, over the cluster's TLS front door."""

    def __init__(self, cluster: Cluster, email: str, password: str):
        self.cluster, self.cookies = cluster, {}
        self.token = self._token("/login")
        status, _ = self.post("/login", {"email": email, "password": password})
        assert status == 302, f"login of {email}: {status}"
        self.token = self._token("/home")  # the session is renewed at login

    def _send(self, method, path, body=None):
        headers = {"Host": SERVER_NAME}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            body = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://{SERVER_NAME}{path}"  # CSRF over https checks it
        conn = http.client.HTTPSConnection("127.0.0.1", self.cluster.https, context=self.cluster.ssl, timeout=60,
                                           source_address=(CLIENT_ADDR, 0))
        conn._server_hostname = SERVER_NAME  # the certificate's name
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            for value in response.headers.get_all("Set-Cookie") or []:
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
            return response.status, response.headers, data
        finally:
            conn.close()

    def _token(self, path):
        for _ in range(20):  # a node being killed may answer 502 once
            status, _, html = self._send("GET", path)
            if status == 200:
                return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()
            time.sleep(0.2)
        raise AssertionError(f"GET {path}: {status}")

    def post(self, path, data=None):
        status, headers, _ = self._send("POST", path, {**(data or {}), "csrf_token": self.token})
        return status, headers.get("Location", "")


@pytest.fixture()
def cluster_settings(nginx_path, elasticsearch_url, stripe_api_base, empty_database_url, tmp_path):
    if make_url(empty_database_url).get_backend_name() != "postgresql":
        pytest.skip("the cluster runs on PostgreSQL (several workers share it): the PostgreSQL run has it")
    from tests import mailbox

    index = f"cluster-{uuid.uuid4().hex[:8]}"
    inbox = mailbox.Inbox()  # the cluster mails as production does: a real SMTP server takes it
    controller, smtp_port = mailbox.start(inbox)
    settings = {
        "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port),
        "MARKETPLACE_CONFIG": "production", "DATABASE_URL": empty_database_url,
        "SECRET_KEY": secrets.token_hex(32), "EXTERNAL_BASE_URL": "https://marketplace.example.gov.cn",
        "WEB_NODES": "2", "SEARCH_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": elasticsearch_url,
        "ELASTICSEARCH_INDEX": index, "PAYMENT_GATEWAY": "stripe", "STRIPE_API_BASE": stripe_api_base,
        "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(12), "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(12),
        "STRIPE_RELAY_WEBHOOKS": "true", "UPLOAD_DIR": str(tmp_path / "uploads"),
        "BACKUP_DIR": str(tmp_path / "backups"), "LOG_FORMAT": "json", "OUTBOX_DRAIN": "worker",
        "WORKER_IDLE_MS": "200", "RATELIMIT_LOGIN": "10000 per minute",
        "DEMO_CITY": "named",  # the named organisations are enough to trade here
    }
    yield settings
    controller.stop()
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(f"{elasticsearch_url.rstrip('/')}/{index}", method="DELETE"),
                               timeout=10).close()
    except Exception:  # noqa: BLE001 - an index left behind is harmless
        pass


def _env(settings: dict) -> dict:
    env = {**os.environ, **settings}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def test_orders_payments_and_bookings_survive_a_killed_node_and_worker(cluster_settings, nginx_path, tmp_path):
    env = _env(cluster_settings)
    flask(env, "db", "upgrade")
    flask(env, "demo", "load")
    flask(env, "search", "reindex")
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", SETUP, PASSWORD, str(ENTERPRISES)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    engine = create_engine(make_url(cluster_settings["DATABASE_URL"]).set(drivername="postgresql+psycopg"))
    cluster = Cluster(nginx_path, tmp_path, cluster_settings, workers=2, threads=2, job_workers=2)
    try:
        cluster.start()
        _run(cluster, data, env, engine, tmp_path)
    finally:
        cluster.stop()
        engine.dispose()


def _run(cluster: Cluster, data: dict, env: dict, engine, tmp_path) -> None:
    from marketplace.core.timeutil import beijing_today

    people = [Person(cluster, email, PASSWORD) for email in data["emails"]]
    told = {"orders": set(), "paid": set(), "bookings": set(), "unknown": 0, "refused": 0}
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []

    def record(kind, value):
        with lock:
            told[kind].add(value) if isinstance(told[kind], set) else None

    def pay(person, location):
        order_path = urllib.parse.urlsplit(location).path
        order_id = int(order_path.rsplit("/", 1)[1])
        record("orders", order_id)
        status, _ = person.post(order_path + "/pay")
        if status == 302:
            record("paid", order_id)
        elif status in (502, 503, 504):
            with lock:
                told["unknown"] += 1
        else:
            errors.append(f"pay {order_path}: {status}")

    def buyer(n):
        person = people[n]
        day = beijing_today() + timedelta(days=2 + n)  # each buyer its own day: bookings rarely collide
        i = 0
        while not stop.is_set():
            i += 1
            if i % 3:
                status, location = person.post(f"/listings/{data['service']}/order",
                                               {"with_voucher": "y"} if i % 2 else {})
                if status == 302 and "/orders/" in location:
                    pay(person, location)
                elif status in (502, 503, 504):
                    with lock:
                        told["unknown"] += 1
                else:
                    errors.append(f"order: {status}")
            else:
                instrument, open_from, open_to = data["instruments"][i % len(data["instruments"])]
                hour = open_from + (i // 3) % max(1, (open_to or 18) - (open_from or 8) - 1)
                status, location = person.post(f"/listings/{instrument}/book",
                                               {"day": day.isoformat(), "hour": hour, "hours": 1})
                if status == 302 and "/orders/" in location:
                    pay(person, location)
                elif status == 409 or status == 400:
                    with lock:
                        told["refused"] += 1  # the hour was taken already: refused, nothing written
                elif status in (502, 503, 504):
                    with lock:
                        told["unknown"] += 1
                else:
                    errors.append(f"book: {status}")

    with engine.connect() as conn:
        base_order = conn.execute(text("SELECT coalesce(max(id), 0) FROM orders")).scalar()
        base_seq = conn.execute(text("SELECT coalesce(max(seq), 0) FROM ledger_entries")).scalar()

    # A provider lists new services meanwhile (through the services, as an import would):
    # the workers must carry each one into Elasticsearch.
    provided = [0]

    def provider():
        from marketplace import create_app
        from marketplace.accounts.models import User
        from marketplace.extensions import db
        from marketplace.listings import services as listings

        overrides = {k: cluster.settings[k] for k in (
            "SECRET_KEY", "EXTERNAL_BASE_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SEARCH_BACKEND",
            "ELASTICSEARCH_URL", "ELASTICSEARCH_INDEX", "OUTBOX_DRAIN", "WEB_NODES", "UPLOAD_DIR")}
        app = create_app({"CONFIG_NAME": "production", **overrides, "SQLALCHEMY_DATABASE_URI": str(
            make_url(cluster.settings["DATABASE_URL"]).set(drivername="postgresql+psycopg")
            .render_as_string(hide_password=False))})
        with app.app_context():
            try:
                user = db.session.query(User).filter_by(email="lab@jck.liaocheng.demo").one()
                while not stop.is_set() or provided[0] < 3:  # a slow start still lists a few
                    listing = listings.create_listing(user, "service", {
                        "title": f"集群新服务{provided[0]:03d}号检测", "price_fen": 12_300, "description": "集群测试"})
                    listings.publish(user, listing.id)
                    provided[0] += 1
                    time.sleep(0.3)
            except Exception as exc:  # reported with the buyers' errors
                errors.append(f"provider: {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=buyer, args=(n,), daemon=True) for n in range(len(people))]
    threads.append(threading.Thread(target=provider, daemon=True))
    for t in threads:
        t.start()
    time.sleep(SECONDS / 3)
    # One web node and one worker die without a word (a machine lost).
    victim_node = cluster.procs[0]
    os.killpg(victim_node.pid, signal.SIGKILL)
    victim_worker = cluster.worker_procs[0]
    os.killpg(victim_worker.pid, signal.SIGKILL)
    time.sleep(SECONDS * 2 / 3)
    stop.set()
    for t in threads:
        t.join(120)
    assert not errors, errors[:10]
    served = {port: sum(1 for line in log.read_text().splitlines()
                        if line.startswith("{") and json.loads(line).get("logger") == "marketplace.request")
              for port, log in cluster.logs.items()}
    assert all(served.values()), served  # nginx sent work to both nodes (the victim before it died)
    assert len(told["paid"]) >= 10, told  # the run did real work on the surviving node too

    # The surviving worker drains everything, the dead worker's rows included.
    def drained():
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM outbox")).scalar() == 0

    try:
        wait_for(drained, timeout=180, what="the outbox drained by the surviving worker")
    except AssertionError:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT topic, key, attempts, parked_at, available_at, last_error FROM outbox "
                                     "ORDER BY id LIMIT 10")).all()
        raise AssertionError(f"left in the outbox: {left}") from None

    with engine.connect() as conn:
        def q(sql, **kw):
            return conn.execute(text(sql), kw).all()

        orders = {oid: (status, voucher, booking) for oid, status, voucher, booking in q(
            "SELECT o.id, o.status, o.with_voucher, b.id FROM orders o LEFT JOIN bookings b ON b.order_id = o.id"
            " WHERE o.id > :base", base=base_order)}
        assert told["orders"] <= set(orders), "an order a client was shown is missing"
        assert told["paid"] <= {oid for oid, (status, _v, _b) in orders.items() if status == "paid"}, \
            "an order a client saw paid is not paid"
        payments = q("SELECT p.order_id, p.ledger_seq, l.kind, l.ref FROM payments p LEFT JOIN ledger_entries l"
                     " ON l.seq = p.ledger_seq WHERE p.status = 'succeeded' AND p.order_id > :base", base=base_order)
        by_order: dict[int, list] = {}
        for order_id, *rest in payments:
            by_order.setdefault(order_id, []).append(rest)
        ledger = {}
        for ref, kind in q("SELECT ref, kind FROM ledger_entries WHERE seq > :seq", seq=base_seq):
            ledger.setdefault(ref, []).append(kind)
        for oid, (status, voucher, booking) in orders.items():
            ref = f"BKG-{booking}" if booking else (f"VCH-{oid}" if voucher else f"ORD-{oid}")
            if status == "paid":
                assert len(by_order.get(oid, [])) == 1, (oid, by_order.get(oid))  # paid once
                seq, kind, entry_ref = by_order[oid][0]
                assert seq is not None and kind == "payment" and entry_ref == ref, (oid, by_order[oid])
                # in the ledger once; a voucher's redemption waits for delivery and acceptance
                assert ledger.get(ref, []) == ["payment"], (oid, ledger.get(ref))
            else:
                assert oid not in by_order and ref not in ledger, (oid, status)  # nothing half done
        assert q("SELECT instrument_id, slot_start FROM booking_slots GROUP BY instrument_id, slot_start"
                 " HAVING count(*) > 1") == []
        assert q("SELECT id FROM outbox WHERE parked_at IS NOT NULL") == []
        published = {f"{kind}:{lid}": title for lid, kind, title in
                     q("SELECT id, kind, title FROM listings WHERE status = 'published'")}
        made = q("SELECT count(*) FROM listings WHERE title LIKE '集群新服务%' AND status = 'published'")[0][0]
        assert made == provided[0] > 0

    # The provider delivers the paid voucher orders and each buyer accepts (验收): only now are
    # they redeemed, and the surviving worker carries them into the claims.
    accepted = json.loads(subprocess.run([str(ROOT / ".venv/bin/python"), "-c", ACCEPT, str(base_order)], cwd=ROOT, env=env,
                                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    assert accepted > 0, "no voucher order was paid"
    wait_for(drained, timeout=180, what="the outbox drained after the acceptances")
    with engine.connect() as conn:
        redeemed = conn.execute(text("SELECT count(*) FROM ledger_entries WHERE kind = 'voucher_redemption'"
                                     " AND seq > :seq"), {"seq": base_seq}).scalar()
    assert redeemed == accepted

    # Claims: the full recompute (the audit path) finds nothing to change.
    year = beijing_today().year
    before = json.loads(flask(env, "claims", "list", "--year", str(year), "--json"))
    flask(env, "claims", "draft", "--year", str(year))
    after = json.loads(flask(env, "claims", "list", "--year", str(year), "--json"))
    assert before == after
    assert any(a["clause"].startswith("A3") for a in after["awards"]), "no voucher claim: vouchers were not used"

    # Search: the index holds exactly the published listings, as they are.
    from elasticsearch import Elasticsearch

    with Elasticsearch(env["ELASTICSEARCH_URL"], request_timeout=60) as es:
        es.indices.refresh(index=env["ELASTICSEARCH_INDEX"])
        hits = es.search(index=env["ELASTICSEARCH_INDEX"], size=10_000, query={"match_all": {}},
                         source=["title"])["hits"]["hits"]
    assert {h["_id"]: h["_source"]["title"] for h in hits} == published
    print(json.dumps({"orders_told": len(told["orders"]), "paid": len(told["paid"]), "unknown": told["unknown"],
                      "refused": told["refused"], "orders_in_db": len(orders), "listings_added": provided[0],
                      "requests_by_node": served}))
