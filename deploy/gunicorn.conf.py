"""gunicorn settings for one web node (deploy/systemd/marketplace-web@.service).

The command line gives the address (``--bind 127.0.0.1:8001``); everything else is here.
"""
import glob
import multiprocessing
import os

# Worker processes, each with two threads: one serves while the other waits on the database,
# Elasticsearch or the payment gateway. More threads take the one interpreter lock of their
# process in turns, and a unit of work holding SQLite's write lock (which every other writer
# waits for) then waits longer for its own process's: on 2 cores with 2 workers
# (bench/http.py, 4 series of alternated runs, bench/README.md) 2 threads gave a lower
# checkout p95 and less idle CPU than 4 in every series, and more checkouts a second in three
# of the four (+2 % to +24 %; -5 % in one). Override with GUNICORN_WORKERS / GUNICORN_THREADS.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 2))
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
