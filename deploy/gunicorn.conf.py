"""gunicorn settings for one web node (deploy/systemd/marketplace-web@.service).

The command line gives the address (``--bind 127.0.0.1:8001``); everything else is here.
"""
import glob
import multiprocessing
import os

# Worker processes of one thread each, 2 x cores + 1 of them: the processes beyond the cores
# serve while others wait on the payment gateway or Elasticsearch, which is how CPython
# overlaps waits without its threads taking its one interpreter lock in turns. A second
# thread per process cost CPU: on 2 cores with 2 workers (bench/http.py, nine alternated
# pairs, bench/README.md 2026-11-27) one thread gave more checkouts a second in seven pairs,
# and in all nine once each run's rate is scaled by the machine's speed in it (stripe-mock's
# CPU a checkout): +4 % to +16 %, mean +9 %, with 8 % less web CPU a checkout. The thread
# holding SQLite's write lock no longer waits for its own process's lock. Earlier series had
# 2 threads beat 4. (gthread, not sync: connections from nginx are kept alive.) A node whose
# requests mostly wait (a slow gateway) may raise GUNICORN_THREADS.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = 60  # a worker silent this long is killed and replaced
graceful_timeout = 30  # on stop/restart, requests in flight get this long to finish
keepalive = 5  # nginx keeps upstream connections open (keepalive in the upstream block)
# The app is imported once, before the workers fork: faster starts, shared memory. A code
# upgrade therefore needs a restart (deploy/README.md: one node after the other), not a HUP.
preload_app = True
max_requests = 2000  # recycle workers now and then (bounded memory growth)
max_requests_jitter = 200

# The app writes one JSON line per request itself (marketplace/ops/requestlog.py); gunicorn's
# own access log would only duplicate it. Errors and lifecycle messages go to stderr (journald).
# gunicorn's control socket (gunicornc) is one path per user: two nodes would fight over it,
# and the service user has no home. Not used: systemctl is the control.
control_socket_disable = True

accesslog = None
errorlog = "-"
loglevel = "info"

# The X-Forwarded-* headers from nginx are read by werkzeug's ProxyFix in the app
# (PROXY_FIX_X_FOR / PROXY_FIX_X_PROTO), the one place that trusts them; gunicorn is told not
# to interpret the scheme header on its own.
secure_scheme_headers = {}
forwarded_allow_ips = "127.0.0.1,::1"


def _multiproc_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


# Start the node's metrics from zero: files of an earlier run would be added up. (This file is
# read before the app is imported, which with preload_app already writes metric files.)
if _multiproc_dir():
    os.makedirs(_multiproc_dir(), exist_ok=True)
    for _old in glob.glob(os.path.join(_multiproc_dir(), "*.db")):
        os.remove(_old)


def when_ready(server):
    """The app is loaded (preload_app) and no worker is forked yet: build the embedded search
    index's snapshot here, once, so that every worker inherits it instead of building its own
    on its first /search (about 2 s at province volume)."""
    from marketplace.search.indexing import warm

    warm(server.app.wsgi())


def child_exit(server, worker):
    """A worker died or was recycled: its live gauges must not count any more."""
    if _multiproc_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
