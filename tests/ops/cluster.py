"""A loopback cluster made of deploy/ as it is: nginx with the site file (TLS, rendered for
loopback ports and a throwaway certificate) in front of gunicorn nodes started with the web
unit's own ExecStart and Environment lines and the env file template's settings.

Used by tests/ops/test_deploy.py and scripts/cluster-smoke.
"""
from __future__ import annotations

import http.client
import json
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
APP_DIR = "/opt/marketplace"
SERVER_NAME = "marketplace.example.gov.cn"
CLIENT_ADDR = "127.0.0.5"  # the "client": loopback, but not the address nginx talks to the nodes from


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unit(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def env_file() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / "marketplace.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out[key] = value
    return out


def wait_for(check, timeout=60, what="it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up within {timeout}s")


def node_get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def certificate(tmp: Path) -> tuple[Path, Path]:
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
        if old not in site:
            raise AssertionError(f"the nginx site no longer has {old!r}: update tests/ops/cluster.py")
        site = site.replace(old, new)
    return site


def nginx_main(tmp: Path, site: Path) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""  # the checkout may be closed to www-data
    temp = "\n".join(f"    {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                           "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"{temp}\n    include {site};\n}}\n")


class Cluster:
    """nginx (TLS) → two gunicorn nodes, and ``job_workers`` background workers, on loopback.
    ``settings`` override the env file's."""

    def __init__(self, nginx: str, tmp: Path, settings: dict[str, str], workers: int = 2, threads: int = 2,
                 job_workers: int = 1):
        self.nginx, self.tmp, self.settings = nginx, Path(tmp), settings
        self.workers, self.threads, self.job_workers = workers, threads, job_workers
        self.worker_procs: list[subprocess.Popen] = []
        self.nodes = [free_port(), free_port()]
        self.https, self.http = free_port(), free_port()
        self.procs: list[subprocess.Popen] = []
        self.logs: dict[int, Path] = {}
        self.ssl: ssl.SSLContext | None = None

    def node_env(self, port: int) -> dict[str, str]:
        web = unit("marketplace-web@.service")
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update(env_file())
        for line in web.get("Environment", []):
            key, value = line.split("=", 1)
            env[key] = value.replace("%i", str(port)).replace("/run/", f"{self.tmp}/run/")
        env.update({"GUNICORN_WORKERS": str(self.workers), "GUNICORN_THREADS": str(self.threads)})
        env.update(self.settings)
        return env

    def worker_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update(env_file())
        env.update(self.settings)
        return env

    def start_worker(self, n: int) -> subprocess.Popen:
        """One background worker, started with the worker unit's own ExecStart line."""
        exec_start = unit("marketplace-worker@.service")["ExecStart"][0]
        argv = shlex.split(exec_start.replace("%i", str(n)).replace("%H", "cluster").replace(APP_DIR, str(ROOT)))
        assert Path(argv[0]).name == "flask" and "worker" in argv, argv
        argv[0] = str(Path(sys.executable).with_name("flask"))
        log = self.tmp / f"worker-{n}.log"
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.worker_env(), stdout=open(log, "w"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.worker_procs.append(proc)
        return proc

    def start(self) -> "Cluster":
        for n in range(1, self.job_workers + 1):
            self.start_worker(n)
        exec_start = unit("marketplace-web@.service")["ExecStart"][0]
        for port in self.nodes:
            argv = shlex.split(exec_start.replace("%i", str(port)).replace(APP_DIR, str(ROOT)))
            assert Path(argv[0]).name == "gunicorn", argv
            argv[0] = str(Path(sys.executable).with_name("gunicorn"))
            self.logs[port] = self.tmp / f"node-{port}.log"
            # Own session: a node's workers are stopped with it even if its master must be killed.
            self.procs.append(subprocess.Popen(argv, cwd=ROOT, env=self.node_env(port), stdout=subprocess.DEVNULL,
                                               stderr=open(self.logs[port], "w"), start_new_session=True))
        cert, key = certificate(self.tmp)
        site = self.tmp / "site.conf"
        site.write_text(render_site(self.https, self.http, self.nodes, cert, key, self.tmp))
        main = self.tmp / "nginx.conf"
        main.write_text(nginx_main(self.tmp, site))
        check = subprocess.run([self.nginx, "-t", "-p", str(self.tmp), "-c", str(main)], capture_output=True,
                               text=True)
        if check.returncode != 0:
            raise AssertionError(f"nginx -t: {check.stderr}")
        self.procs.append(subprocess.Popen([self.nginx, "-p", str(self.tmp), "-c", str(main), "-g", "daemon off;"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in self.nodes:
            wait_for(lambda: node_get(port, "/healthz")[0] == 200, what=f"gunicorn on {port}")
        self.ssl = ssl.create_default_context(cafile=str(cert))
        wait_for(lambda: socket.create_connection(("127.0.0.1", self.https), timeout=1).close() or True,
                 what="nginx")
        return self

    def stop(self) -> None:
        # Workers on TERM (systemd's stop) finish their round and exit.
        for proc in self.worker_procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.worker_procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        # nginx first (its keep-alive connections to the nodes close); gunicorn on SIGINT quits
        # at once, on SIGTERM (systemd's stop) it waits for requests in flight.
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM if proc.args[0] == self.nginx else signal.SIGINT)
        for proc in reversed(self.procs):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            if proc.args[0] != self.nginx:
                try:  # workers left behind by a master that did not stop cleanly
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def request(self, method, path, body=None, headers=None, source=CLIENT_ADDR):
        """A request through nginx over TLS, from ``source``."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.https, context=self.ssl, timeout=30,
                                           source_address=(source, 0))
        conn._server_hostname = SERVER_NAME  # noqa: SLF001 - the certificate's name
        try:
            conn.request(method, path, body=body, headers={"Host": SERVER_NAME, **(headers or {})})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def request_lines(self) -> list[dict]:
        """The nodes' JSON request log lines."""
        lines = []
        for log in self.logs.values():
            for line in log.read_text().splitlines():
                if line.startswith("{"):
                    record = json.loads(line)
                    if record.get("logger") == "marketplace.request":
                        lines.append(record)
        return lines
