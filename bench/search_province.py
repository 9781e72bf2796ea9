"""The embedded search at province volume, in two measures the pages phase of bench/scale.py
does not isolate (it warms each worker before it times anything):

* ``queries``: the backend alone on an index of the province database — the snapshot
  build a process pays on its first query, then the /search page's queries (the words of
  bench/scale.py, one or two each, 20 hits, facets), CPU time per query; with ``--cold``
  the term cache is emptied before each, so every word is met for the first time (a
  worker's first query of a common word is the page's p95).
* ``first``: gunicorn as deployed (deploy/gunicorn.conf.py, 2 workers) on the province
  database, and the latency of the first /search requests, that is of each worker's first.

    # an index of the province database (8-10 min): the platform's own reindex
    DATABASE_URL=sqlite:////tmp/p/province.sqlite SEARCH_SQLITE_PATH=/tmp/p/province.search.sqlite \\
        .venv/bin/flask --app wsgi search reindex
    .venv/bin/python bench/search_province.py queries /tmp/p/province.search.sqlite [--cold]
    .venv/bin/python bench/search_province.py first /tmp/p/province.search.sqlite /tmp/p/province.sqlite

Both files are changed (WAL, migrations): give copies, never /work/vol's originals.
"""
from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

# BENCH_ROOT: another checkout whose code to measure (the same bench against old code)
ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
# not bench/ itself on the path: bench/http.py would shadow the standard library's http
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

WORDS = ["检测", "色谱", "专利", "材料", "服务", "仪器", "技术", "轴承", "合成", "分析", "测试", "电镜",
         "新材料", "生物", "医药", "化工", "节能", "环保", "农业", "装备", "咨询", "成果", "转化", "设备"]


def page_queries(count: int) -> list[str]:
    """bench/scale.py's /search queries: each word, then pairs, spread over the words."""
    candidates = WORDS + [f"{a} {b}" for a, b in itertools.product(WORDS, repeat=2) if a != b]
    return (candidates[::3] + candidates[1::3] + candidates[2::3])[:count]


def queries(index: str, count: int, cold: bool = False) -> None:
    from search import SearchQuery
    from search.fts5 import EmbeddedBackend

    qs = page_queries(count)
    emb = EmbeddedBackend(index)
    emb.ensure_index()
    c, t = time.process_time(), time.perf_counter()
    emb.query(SearchQuery(text=qs[0], per_page=20))
    print(f"first query (snapshot build), {emb._snap.n} listings: CPU {(time.process_time() - c) * 1000:.0f} ms, "
          f"wall {(time.perf_counter() - t) * 1000:.0f} ms")
    timed = []
    for text in qs[1:]:
        if cold:  # every term looked up afresh, as a worker meets a word for the first time
            emb._snap.clear_term_cache()
        c = time.thread_time()
        emb.query(SearchQuery(text=text, per_page=20))
        timed.append(((time.thread_time() - c) * 1000, text))
    cpu = sorted(ms for ms, _ in timed)
    p95 = cpu[max(0, round(0.95 * len(cpu) + 0.5) - 1)]
    print(f"{len(cpu)} page queries after it{' (term cache emptied before each)' if cold else ''}: "
          f"CPU p50 {cpu[len(cpu) // 2]:.1f} ms, p95 {p95:.1f} ms, mean {sum(cpu) / len(cpu):.1f} ms; slowest: "
          + "; ".join(f"{text} {ms:.1f}" for ms, text in sorted(timed, reverse=True)[:4]))


def first(index: str, db: str, count: int) -> None:
    spec = importlib.util.spec_from_file_location("bench_http", ROOT / "bench" / "http.py")
    http = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(http)
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-first-"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("TEST_DATABASE_URL", "FLASK_APP", "DATABASE_URL", "MARKETPLACE_CONFIG", "OUTBOX_DRAIN")}
    env.update(DATABASE_URL=f"sqlite:///{db}", MARKETPLACE_CONFIG="production", SESSION_COOKIE_SECURE="0",
               REMEMBER_COOKIE_SECURE="0", STRIPE_API_BASE="http://127.0.0.1:1", SEARCH_SQLITE_PATH=index,
               UPLOAD_DIR=str(tmp / "uploads"), FLASK_DEBUG="0", SECRET_KEY=secrets.token_hex(32),
               STRIPE_SECRET_KEY="sk_test_" + secrets.token_hex(12),
               STRIPE_WEBHOOK_SECRET="whsec_" + secrets.token_hex(16), EXTERNAL_BASE_URL="https://bench.invalid")
    t = time.perf_counter()
    server = http.Gunicorn("wsgi:app", env, ROOT, tmp / "gunicorn.log", deployed=True)
    print(f"server up (and one /listings answered): {time.perf_counter() - t:.1f} s")
    try:
        out = []
        for text in page_queries(count):
            t = time.perf_counter()
            status, _, _ = http.request("GET", server.port, f"/search?q={quote(text)}", timeout=60)
            out.append(f"{text} {status} {(time.perf_counter() - t) * 1000:.0f} ms")
        print("first /search requests, in order:", "; ".join(out))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("queries")
    q.add_argument("index")
    q.add_argument("--count", type=int, default=60)
    q.add_argument("--cold", action="store_true", help="empty the term cache before each query")
    f = sub.add_parser("first")
    f.add_argument("index")
    f.add_argument("db")
    f.add_argument("--count", type=int, default=12)
    args = parser.parse_args()
    if args.what == "queries":
        queries(args.index, args.count, args.cold)
    else:
        first(args.index, args.db, args.count)


if __name__ == "__main__":
    main()
