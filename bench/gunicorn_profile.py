"""gunicorn settings for profiling a node: ``deploy/gunicorn.conf.py`` unchanged, plus cProfile
around each connection a gthread worker's pool thread handles (HTTP parsing, the WSGI app,
writing the answer) while a flag file exists.

    GUNICORN_PROFILE_DIR=/tmp/prof gunicorn --config bench/gunicorn_profile.py ... wsgi:app

Profiling is on while ``$GUNICORN_PROFILE_DIR/on`` exists (``bench/http.py --profile-dir``
creates it for the checkout phase only). Each worker writes ``<pid>.prof`` (pstats, its threads
added up) and ``<pid>.json`` (connections profiled and the pool threads' CPU seconds on them) when it exits. The poller thread (accept, keep-alive) is not
profiled: its share is the process CPU minus the pool threads'.
"""
import json
import os
import threading
import time
from pathlib import Path

_DEPLOYED = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"
exec(compile(_DEPLOYED.read_text(), str(_DEPLOYED), "exec"))  # noqa: S102 - our own settings file

_deployed_post_fork = globals().get("post_fork")
_deployed_worker_exit = globals().get("worker_exit")
_DIR = Path(os.environ["GUNICORN_PROFILE_DIR"])
_FLAG = _DIR / "on"


def post_fork(server, worker):
    import cProfile

    if _deployed_post_fork is not None:
        _deployed_post_fork(server, worker)
    local = threading.local()
    profiles, totals, lock = [], {"connections": 0, "thread_cpu_s": 0.0}, threading.Lock()
    handle = worker.handle

    def profiled(conn):
        if not _FLAG.exists():
            return handle(conn)
        profile = getattr(local, "profile", None)
        if profile is None:
            profile = local.profile = cProfile.Profile(time.thread_time)
            with lock:
                profiles.append(profile)
        t0 = time.thread_time()
        profile.enable()
        try:
            return handle(conn)
        finally:
            profile.disable()
            with lock:
                totals["connections"] += 1
                totals["thread_cpu_s"] += time.thread_time() - t0

    worker.handle = profiled
    worker._gap_profiles, worker._gap_totals, worker._gap_lock = profiles, totals, lock


def worker_exit(server, worker):
    import pstats

    if _deployed_worker_exit is not None:
        _deployed_worker_exit(server, worker)
    profiles = getattr(worker, "_gap_profiles", [])
    if not profiles:
        return
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    stats.dump_stats(str(_DIR / f"{os.getpid()}.prof"))
    (_DIR / f"{os.getpid()}.json").write_text(json.dumps(worker._gap_totals))
