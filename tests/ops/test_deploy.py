"""deploy/ is tested, not decoration: the nginx site and the web unit's command line run on
loopback (nginx → two gunicorn nodes → the test run's database), and the env file template
names every setting of config.py."""
import http.client
import json
import re
import secrets
import time

import pytest

import config
from tests.ops.cluster import CLIENT_ADDR, DEPLOY, ROOT, SERVER_NAME, Cluster, node_get, wait_for


def test_env_template_lists_every_setting():
    template = (DEPLOY / "marketplace.env").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)(?:=|:)", template, flags=re.M))
    settings = {key for cls in config.CONFIGS.values() for key in dir(cls) if key.isupper()}
    aliases = {target: alias for alias, target in config.ALIASES.items()}
    missing = {s for s in settings if s not in named and aliases.get(s) not in named}
    assert not missing, f"document these settings in deploy/marketplace.env: {sorted(missing)}"


def test_nginx_upload_limit_matches_max_content_length():
    site = (DEPLOY / "nginx" / "marketplace.conf").read_text()
    size = re.search(r"client_max_body_size (\d+)m;", site).group(1)
    assert int(size) * 1024 * 1024 == config.Config.MAX_CONTENT_LENGTH


# --- the loopback cluster ------------------------------------------------------------------

@pytest.fixture()
def cluster(nginx_path, database_url, app_ctx, tmp_path):
    """nginx (TLS) → two gunicorn nodes started with the unit's own command line, on the test
    run's database."""
    nodes = Cluster(nginx_path, tmp_path, {
        "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(32),
        "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(12), "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(12),
        "PAYMENT_GATEWAY": "memory", "SEARCH_BACKEND": "embedded",
        "SEARCH_SQLITE_PATH": str(tmp_path / "search.sqlite"),
        "UPLOAD_DIR": str(tmp_path / "uploads"), "BACKUP_DIR": str(tmp_path / "backups")})
    try:
        started = time.perf_counter()
        nodes.start()
        print(f"nodes up in {time.perf_counter() - started:.1f}s")
        yield nodes
    finally:
        nodes.stop()


def test_nginx_two_gunicorn_nodes_proxyfix_tls_static_and_metrics(cluster):
    started = time.perf_counter()
    status, headers, _ = cluster.request("GET", "/login", headers={
        "X-Forwarded-For": "6.6.6.6", "X-Request-ID": "smoke-request-0001"})
    assert status == 200 and headers["X-Request-ID"] == "smoke-request-0001"
    assert "max-age" in headers["Strict-Transport-Security"]
    for _ in range(6):
        assert cluster.request("GET", "/healthz")[0] == 200
    # The env file runs after-commit work in the worker (OUTBOX_DRAIN=worker): /readyz waits
    # for its heartbeat, then is green.
    wait_for(lambda: cluster.request("GET", "/readyz")[0] == 200, what="/readyz (worker heartbeat)")
    status, _, body = cluster.request("GET", "/readyz")
    checks = json.loads(body)["checks"]
    assert checks["database"]["status"] == "ok" and checks["worker"]["status"] == "ok", checks
    # and the worker does the work: a row queued now is drained without any web request.
    from marketplace.extensions import db
    from marketplace.outbox import OutboxEntry, enqueue

    enqueue("claims", "2024")
    db.session.commit()

    def drained():
        db.session.rollback()
        return db.session.query(OutboxEntry).count() == 0

    wait_for(drained, timeout=30, what="the worker's drain")

    # Static files come from nginx itself: same bytes, no request reaches a node.
    status, headers, body = cluster.request("GET", "/static/site.css")
    assert status == 200 and body == (ROOT / "marketplace/static/site.css").read_bytes()
    assert "text/css" in headers["Content-Type"]
    assert cluster.request("GET", "/metrics")[0] == 404  # never through the proxy
    status, _, _ = cluster.request("POST", "/login", body=b"x" * (11 * 1024 * 1024),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413  # refused by nginx, the size of MAX_CONTENT_LENGTH

    # Plain HTTP is sent to HTTPS.
    conn = http.client.HTTPConnection("127.0.0.1", cluster.http, timeout=5)
    conn.request("GET", "/login", headers={"Host": SERVER_NAME})
    response = conn.getresponse()
    assert response.status == 301 and response.getheader("Location") == f"https://{SERVER_NAME}/login"
    conn.close()

    time.sleep(0.3)
    lines = cluster.request_lines()
    login = next(line for line in lines if line["request_id"] == "smoke-request-0001")
    # ProxyFix (x_for=1, x_proto=1) sees the client nginx saw, not the forged header, and https.
    assert login["remote_addr"] == CLIENT_ADDR and login["scheme"] == "https"
    assert not any(line["route"] == "/static/<path:filename>" for line in lines)
    health = [line for line in lines if line["endpoint"] == "health.healthz" and line["remote_addr"] == CLIENT_ADDR]
    assert len(health) == 6 and all(line["scheme"] == "https" for line in health)
    by_node = {port: sum(1 for line in log.read_text().splitlines() if '"health.healthz"' in line)
               for port, log in cluster.logs.items()}
    assert all(n > 0 for n in by_node.values()), by_node  # both nodes served

    # Each node's /metrics (loopback, not through nginx) adds up all its worker processes: the
    # count equals the node's own log lines, whichever worker answered each request or the scrape.
    for port, log in cluster.logs.items():
        logged = sum(1 for line in log.read_text().splitlines()
                     if '"endpoint": "health.healthz"' in line and '"status": 200' in line)
        status, text = node_get(port, "/metrics")
        assert status == 200
        counted = sum(float(m.group(1)) for m in re.finditer(
            r'^marketplace_http_requests_total\{endpoint="health\.healthz",method="GET",status="200"\} (\S+)$',
            text, flags=re.M))
        assert counted == logged > 0, (port, counted, logged)
        assert "marketplace_outbox_backlog" in text
    print(f"cluster requests checked in {time.perf_counter() - started:.2f}s")
