"""deploy/ is tested, not decoration: the nginx site and the web unit's command line run on
loopback (nginx → two gunicorn nodes → the test run's database), and the env file template
names every setting of config.py."""
import http.client
import json
import os
import re
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

import config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
APP_DIR = "/opt/marketplace"
SERVER_NAME = "marketplace.example.gov.cn"
CLIENT_ADDR = "127.0.0.5"  # the "client": loopback, but not the address nginx talks to the nodes from


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

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unit(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def _env_file() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / "marketplace.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out[key] = value
    return out


def _wait(check, timeout=30, what="it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up within {timeout}s")


def _node_up(port) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    finally:
        conn.close()


def _certificate(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", f"/CN={SERVER_NAME}",
                    "-addext", f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def render_site(https: int, http_port: int, nodes: list[int], cert: Path, key: Path, tmp: Path) -> str:
    """deploy/nginx/marketplace.conf for loopback: other ports, the test certificate, the
    checkout instead of /opt/marketplace, logs in ``tmp``. Nothing else changes."""
    site = (DEPLOY / "nginx" / "marketplace.conf").read_text()
    site = "\n".join(line for line in site.splitlines() if "[::]" not in line)
    replacements = {
        "server 127.0.0.1:8001 ": f"server 127.0.0.1:{nodes[0]} ",
        "server 127.0.0.1:8002 ": f"server 127.0.0.1:{nodes[1]} ",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/ssl/marketplace/fullchain.pem": str(cert),
        "/etc/ssl/marketplace/privkey.pem": str(key),
        "/var/log/nginx/": f"{tmp}/",
        f"{APP_DIR}/": f"{ROOT}/",
    }
    for old, new in replacements.items():
        assert old in site, f"the nginx site no longer has {old!r}: update this test"
        site = site.replace(old, new)
    return site


def _nginx_main(tmp: Path, site: Path) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""  # the checkout may be closed to www-data
    temp = "\n".join(f"    {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                           "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log;\n"
            f"events {{ worker_connections 128; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"{temp}\n    include {site};\n}}\n")


@pytest.fixture()
def cluster(nginx_path, database_url, app_ctx, tmp_path):
    """nginx (TLS) → two gunicorn nodes started with the unit's own command line."""
    unit = _unit("marketplace-web@.service")
    exec_start = unit["ExecStart"][0]
    nodes = [_free_port(), _free_port()]
    https, http_port = _free_port(), _free_port()
    procs: list[subprocess.Popen] = []
    logs = {}
    t0 = time.perf_counter()
    try:
        for port in nodes:
            env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
            env.update(_env_file())
            for line in unit.get("Environment", []):
                key, value = line.split("=", 1)
                env[key] = value.replace("%i", str(port)).replace("/run/", f"{tmp_path}/run/")
            env.update({
                "DATABASE_URL": database_url, "SECRET_KEY": "cluster-test-secret",
                "PAYMENT_GATEWAY": "memory", "SEARCH_BACKEND": "embedded",
                "SEARCH_SQLITE_PATH": str(tmp_path / f"search-{port}.sqlite"),
                "UPLOAD_DIR": str(tmp_path / "uploads"), "BACKUP_DIR": str(tmp_path / "backups"),
                "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2",
            })
            argv = shlex.split(exec_start.replace("%i", str(port)).replace(APP_DIR, str(ROOT)))
            assert Path(argv[0]).name == "gunicorn"
            argv[0] = str(Path(sys.executable).with_name("gunicorn"))
            logs[port] = tmp_path / f"node-{port}.log"
            procs.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                          stderr=open(logs[port], "w")))
        cert, key = _certificate(tmp_path)
        site = tmp_path / "site.conf"
        site.write_text(render_site(https, http_port, nodes, cert, key, tmp_path))
        main = tmp_path / "nginx.conf"
        main.write_text(_nginx_main(tmp_path, site))
        check = subprocess.run([nginx_path, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        procs.append(subprocess.Popen([nginx_path, "-p", str(tmp_path), "-c", str(main), "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in nodes:
            _wait(lambda: _node_up(port), what=f"gunicorn on {port}")
        print(f"nodes up in {time.perf_counter() - t0:.1f}s")
        context = ssl.create_default_context(cafile=str(cert))
        _wait(lambda: socket.create_connection(("127.0.0.1", https), timeout=1).close() or True, what="nginx")
        yield {"https": https, "http": http_port, "nodes": nodes, "logs": logs, "ssl": context, "tmp": tmp_path}
    finally:
        for proc in reversed(procs):  # nginx first: its keep-alive connections to the nodes close
            if proc.poll() is None:  # (SIGINT: gunicorn's quick shutdown; TERM waits for idle keep-alives)
                proc.send_signal(signal.SIGTERM if proc is procs[-1] and len(procs) > 2 else signal.SIGINT)
        for proc in reversed(procs):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _through_nginx(cluster, method, path, body=None, headers=None):
    conn = http.client.HTTPSConnection("127.0.0.1", cluster["https"], context=cluster["ssl"], timeout=10,
                                       source_address=(CLIENT_ADDR, 0))
    conn._server_hostname = SERVER_NAME  # noqa: SLF001 - the certificate's name
    try:
        conn.request(method, path, body=body, headers={"Host": SERVER_NAME, **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _request_lines(cluster):
    lines = []
    for log in cluster["logs"].values():
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("logger") == "marketplace.request":
                    lines.append(record)
    return lines


def test_nginx_two_gunicorn_nodes_proxyfix_tls_static_and_metrics(cluster):
    started = time.perf_counter()
    status, headers, _ = _through_nginx(cluster, "GET", "/login", headers={
        "X-Forwarded-For": "6.6.6.6", "X-Request-ID": "smoke-request-0001"})
    assert status == 200 and headers["X-Request-ID"] == "smoke-request-0001"
    assert "max-age" in headers["Strict-Transport-Security"]
    for _ in range(6):
        assert _through_nginx(cluster, "GET", "/healthz")[0] == 200
    status, _, body = _through_nginx(cluster, "GET", "/readyz")
    assert status == 200, body
    assert json.loads(body)["checks"]["database"]["status"] == "ok"

    # Static files come from nginx itself: same bytes, no request reaches a node.
    status, headers, body = _through_nginx(cluster, "GET", "/static/site.css")
    assert status == 200 and body == (ROOT / "marketplace/static/site.css").read_bytes()
    assert "text/css" in headers["Content-Type"]
    assert _through_nginx(cluster, "GET", "/metrics")[0] == 404  # never through the proxy
    status, _, _ = _through_nginx(cluster, "POST", "/login", body=b"x" * (11 * 1024 * 1024),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413  # refused by nginx, the size of MAX_CONTENT_LENGTH

    # Plain HTTP is sent to HTTPS.
    conn = http.client.HTTPConnection("127.0.0.1", cluster["http"], timeout=5)
    conn.request("GET", "/login", headers={"Host": SERVER_NAME})
    response = conn.getresponse()
    assert response.status == 301 and response.getheader("Location") == f"https://{SERVER_NAME}/login"
    conn.close()

    time.sleep(0.3)
    lines = _request_lines(cluster)
    login = next(line for line in lines if line["request_id"] == "smoke-request-0001")
    # ProxyFix (x_for=1, x_proto=1) sees the client nginx saw, not the forged header, and https.
    assert login["remote_addr"] == CLIENT_ADDR and login["scheme"] == "https"
    assert not any(line["route"] == "/static/<path:filename>" for line in lines)
    health = [line for line in lines if line["endpoint"] == "health.healthz" and line["remote_addr"] == CLIENT_ADDR]
    assert len(health) == 6 and all(line["scheme"] == "https" for line in health)
    by_node = {port: sum(1 for line in log.read_text().splitlines() if '"health.healthz"' in line)
               for port, log in cluster["logs"].items()}
    assert all(n > 0 for n in by_node.values()), by_node  # both nodes served

    # Each node's /metrics (loopback, not through nginx) adds up its worker processes.
    total = 0
    for port in cluster["nodes"]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        total += sum(float(m.group(1)) for m in re.finditer(
            r'^marketplace_http_requests_total\{endpoint="health\.healthz",method="GET",status="200"\} (\S+)$',
            text, flags=re.M))
        assert "marketplace_outbox_backlog" in text or "# HELP marketplace_outbox_backlog" in text
    assert total >= 6 + 2  # ours through nginx, plus the readiness polls of the fixture
    print(f"cluster requests checked in {time.perf_counter() - started:.2f}s")
