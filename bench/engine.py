"""Benchmark: the streaming subsidy engine over a synthetic city-year, against SQLite.

    .venv/bin/python bench/engine.py [--transactions 1000000] [--seed 42] [--checkpoint 250000]

Generates a deterministic city-year of transactions (a generator; nothing is held),
evaluates it with ``evaluate_stream`` (the same clause code as ``evaluate``), then
loads the same stream into an SQLite table in a temp file and computes the same
totals with one GROUP BY. The goal compares the engine with the GROUP BY alone (the
load is what any reader of the ledger pays). ``--platform-db`` also times the
platform's real path, ledger → claims, on a volume database (see ``platform_path``).
Prints JSON: the times and their ratios, the transaction
count, memory at the checkpoint and at the end, and whether the totals agree
(per-beneficiary A1 turnover by group, A2.city brokered turnover, A4 voucher sums,
A5 lease and external-service sums, and the A3 province+city total).

The synthetic ledger keeps every organisation in the city and every voucher buyer
eligible, registration numbers unique and projects unrepeated, so that a plain
GROUP BY is a correct baseline; refunds, cancellations, unregistered contracts and
self-use bookings are present (a WHERE clause handles them).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marketplace.subsidies import evaluate_stream  # noqa: E402

YEAR = 2024
DAYS = [(date(YEAR, 1, 1) + timedelta(days=d)).isoformat() for d in range(366)]


def organizations(seed: int):
    rnd = random.Random(seed)
    orgs = []
    for i in range(300):
        orgs.append({"id": f"U{i}", "kind": rnd.choice(["university", "institute"]), "in_city": True})
    for i in range(1500):
        orgs.append({"id": f"E{i}", "kind": "enterprise", "size": rnd.choice(["medium", "small", "micro"]),
                     "in_city": True})
    for i in range(200):
        orgs.append({"id": f"M{i}", "kind": "maker_team", "host_level": "provincial", "in_city": True})
    for i in range(120):
        orgs.append({"id": f"A{i}", "kind": "agency", "in_city": True, "service_agency": True,
                     "transfer_agency_level": "city" if i % 2 == 0 else None,
                     "provincial_service_reward": "20000.00" if i % 10 == 0 else "0"})
    return orgs


def transactions(n: int, seed: int):
    """A deterministic, roughly chronological city-year of ``n`` transactions."""
    rnd = random.Random(seed)
    r = rnd.random
    sellers = [f"U{i}" for i in range(300)] + [f"E{i}" for i in range(0, 1500, 5)]
    buyers = [f"E{i}" for i in range(1500)] + [f"M{i}" for i in range(200)]
    agencies = [f"A{i}" for i in range(120)]
    brokers = [f"A{i}" for i in range(0, 120, 2)]
    instruments = [(f"I{i}", rnd.choice(agencies + sellers[:100])) for i in range(600)]
    ctypes = ["development", "transfer", "consulting", "service"]
    nb, na, ns, ni = len(buyers), len(agencies), len(sellers), len(instruments)
    # the instruments' first lease payments open the year
    first = min(n, ni)
    for i in range(first):
        inst, lessee = instruments[i]
        yield {"id": f"L{i}", "type": "instrument_lease", "lessee": lessee, "instrument": inst,
               "amount": f"{rnd.randint(10_000, 400_000)}.00", "date": DAYS[0],
               "financing_lease": True, "on_sharing_platform": True, "status": "paid"}
    for i in range(first, n):
        day = DAYS[i * 365 // n]
        x = r()
        status = "paid" if r() > 0.02 else ("refunded" if r() > 0.5 else "cancelled")
        fen = int(r() * 5_000_000) + 100
        amount = f"{fen // 100}.{fen % 100:02d}"
        if x < 0.05:
            t = {"id": f"T{i}", "type": "tech_contract", "contract_type": ctypes[int(r() * 4)],
                 "seller": sellers[int(r() * ns)], "buyer": buyers[int(r() * nb)],
                 "amount": f"{fen * 10 // 100}.{fen * 10 % 100:02d}", "status": status}
            if r() > 0.03:
                t["registration_no"] = f"2024370{i:09d}"
                t["registered_on"] = day
            if r() < 0.4:
                t["broker"] = brokers[int(r() * len(brokers))]
                t["transformed_in_city"] = r() < 0.8
            yield t
        elif x < 0.40:
            yield {"id": f"V{i}", "type": "voucher_service", "buyer": buyers[int(r() * nb)],
                   "provider": agencies[int(r() * na)], "amount": amount, "date": day, "status": status}
        elif x < 0.42:
            inst, lessee = instruments[int(r() * ni)]
            yield {"id": f"L{i}", "type": "instrument_lease", "lessee": lessee, "instrument": inst,
                   "amount": amount, "date": day, "financing_lease": True, "on_sharing_platform": True,
                   "status": status}
        else:
            inst, provider = instruments[int(r() * ni)]
            customer = provider if r() < 0.05 else buyers[int(r() * nb)]
            yield {"id": f"S{i}", "type": "instrument_service", "provider": provider, "customer": customer,
                   "instrument": inst, "amount": amount, "date": day, "status": status}


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def checkpointed(items, at: int, memory: dict):
    for i, item in enumerate(items, 1):
        yield item
        if i == at:
            gc.collect()
            memory["rss_mb_at_checkpoint"] = round(rss_mb(), 1)
    gc.collect()
    memory["rss_mb_end_of_stream"] = round(rss_mb(), 1)


def run_engine(n, seed, checkpoint):
    orgs = organizations(seed)
    memory = {"rss_mb_before": round(rss_mb(), 1)}
    totals: dict = defaultdict(int)
    counts = {"awards": 0, "excluded": 0}
    yearly = []  # one per clause and beneficiary: bounded by the organisations, not the year

    def on_award(a):
        counts["awards"] += 1
        if a.clause == "A3":
            totals[("A3", "*")] += int(a.amount * 100)
        else:
            yearly.append(a)

    def on_excluded(e):
        counts["excluded"] += 1

    start = time.perf_counter()
    result = evaluate_stream(YEAR, orgs, checkpointed(transactions(n, seed), checkpoint, memory),
                             collect_ids=False, on_award=on_award, on_excluded=on_excluded)
    seconds = time.perf_counter() - start
    gc.collect()
    memory["rss_mb_after_closing_the_year"] = round(rss_mb(), 1)
    memory["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # read the exact bases of the yearly awards (paid and nil) back from their structured traces
    yearly_bases(yearly + result.nil_awards, totals)
    return seconds, memory, counts, totals


def yearly_bases(awards, totals):
    for a in awards:
        for step in a.trace:
            v = step.values
            if step.key in ("a1.turnover", "a1.base"):
                totals[(v["group"], a.beneficiary)] += int(v["turnover"] * 100)
            elif step.key == "a2.turnover":
                totals[("B", a.beneficiary)] += int(v["turnover"] * 100)
            elif step.key == "a4.base":
                totals[("V", a.beneficiary)] += int(v["total"] * 100)
            elif step.key == "a5.instrument":  # A5 is per instrument: add the instruments up
                totals[("L", a.beneficiary)] += int(v["lease"] * 100)
                totals[("S", a.beneficiary)] += int(v["service"] * 100)


GROUP = {"development": "DT", "transfer": "DT", "consulting": "CS", "service": "CS"}


def run_sql(n, seed):
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "ledger.sqlite")
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE tx (id TEXT, measure TEXT, bkey TEXT, other TEXT, status TEXT, reg TEXT,"
                   " broker TEXT, transformed INT, fen INT)")

        def rows():
            for t in transactions(n, seed):
                whole, _, frac = t["amount"].partition(".")
                fen = int(whole) * 100 + int(frac or 0)
                typ = t["type"]
                if typ == "tech_contract":
                    yield (t["id"], GROUP[t["contract_type"]], t["seller"], None, t["status"],
                           t.get("registration_no"), t.get("broker"), int(t.get("transformed_in_city", False)), fen)
                elif typ == "voucher_service":
                    yield (t["id"], "V", t["provider"], t["buyer"], t["status"], None, None, 0, fen)
                elif typ == "instrument_lease":
                    yield (t["id"], "L", t["lessee"], None, t["status"], None, None, 0, fen)
                else:
                    yield (t["id"], "S", t["provider"], t["customer"], t["status"], None, None, 0, fen)

        db.executemany("INSERT INTO tx VALUES (?,?,?,?,?,?,?,?,?)", rows())
        db.commit()
        loaded = time.perf_counter()
        query = """
            SELECT m, k, SUM(f), SUM(sub) FROM (
              SELECT measure AS m, bkey AS k, fen AS f,
                     CASE WHEN measure = 'V' THEN (6 * fen + 5) / 10 + (3 * fen + 5) / 10 ELSE 0 END AS sub
                FROM tx
               WHERE status = 'paid'
                 AND (measure NOT IN ('DT', 'CS') OR reg IS NOT NULL)
                 AND (measure != 'S' OR other != bkey)
              UNION ALL
              SELECT 'B', broker, fen, 0 FROM tx
               WHERE measure IN ('DT', 'CS') AND status = 'paid' AND reg IS NOT NULL
                 AND broker IS NOT NULL AND transformed = 1
            ) GROUP BY m, k"""
        totals: dict = defaultdict(int)
        for m, k, f, sub in db.execute(query):
            totals[(m, k)] = f
            if m == "V":
                totals[("A3", "*")] += sub
        db.close()
        done = time.perf_counter()
    return done - start, loaded - start, done - loaded, totals


def platform_path(db_file: str, year: int) -> dict:
    """The platform's own path for ``year`` on a copy of ``db_file``, step by step: the ledger
    exported as the scenario, the engine on it, the awards grouped with their traces encoded,
    the claims filed (``recompute_year``, what ``flask claims draft`` runs, all of it again);
    and the engine alone on the scenario read back from JSON."""
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "platform.sqlite"
        shutil.copy(db_file, copy)
        os.environ["DATABASE_URL"] = f"sqlite:///{copy}"
        os.environ.setdefault("MARKETPLACE_CONFIG", "development")
        from marketplace import create_app
        from marketplace.claims import drafting
        from marketplace.extensions import db
        from marketplace.ledger.scenario import build_scenario
        from marketplace.subsidies import evaluate

        app = create_app({"OUTBOX_DRAIN": "worker"})
        with app.app_context():
            t = time.perf_counter()
            scenario = build_scenario(db.session, year)
            export_s = time.perf_counter() - t
            text = json.dumps(scenario, ensure_ascii=False)
            t = time.perf_counter()
            result = evaluate(json.loads(text))
            engine_s = time.perf_counter() - t
            t = time.perf_counter()
            drafting.group_awards(result)
            encode_s = time.perf_counter() - t
            t = time.perf_counter()
            counts = drafting.recompute_year(year)
            full_s = time.perf_counter() - t
    return {"year": year, "transactions": len(scenario["transactions"]), "scenario_export_s": round(export_s, 3),
            "engine_alone_s": round(engine_s, 3), "group_and_encode_s": round(encode_s, 3),
            "recompute_year_s": round(full_s, 3), "claims": counts,
            "ratio_full_to_engine": round(full_s / engine_s, 2) if engine_s else None}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--checkpoint", type=int, default=250_000, help="report memory after this many transactions")
    ap.add_argument("--platform-db", help="also time the platform's real path (ledger → scenario → engine → "
                    "trace encoding → claims) on this SQLite database (e.g. one made by flask demo volume); "
                    "it is copied, not changed")
    ap.add_argument("--year", type=int, default=2025, help="the year of --platform-db to recompute")
    args = ap.parse_args(argv)
    n = args.transactions

    t0 = time.perf_counter()
    for _ in transactions(n, args.seed):
        pass
    generate_s = time.perf_counter() - t0

    engine_s, memory, counts, engine_totals = run_engine(n, args.seed, min(args.checkpoint, n))
    sql_s, sql_load_s, sql_query_s, sql_totals = run_sql(n, args.seed)
    sql_nonzero = {k: v for k, v in sql_totals.items() if v}
    engine_nonzero = {k: v for k, v in engine_totals.items() if v}
    agree = sql_nonzero == engine_nonzero
    out = {
        "transactions": n,
        "engine_seconds": round(engine_s, 3),
        "sql_seconds": round(sql_s, 3),
        "sql_load_seconds": round(sql_load_s, 3),
        "sql_group_by_seconds": round(sql_query_s, 3),
        "ratio_engine_to_sql": round(engine_s / sql_s, 3),
        "ratio_engine_to_sql_group_by_only": round(engine_s / sql_query_s, 1),
        "generate_only_seconds": round(generate_s, 3),
        "engine_seconds_net_of_generation": round(engine_s - generate_s, 3),
        "transactions_per_second": int(n / engine_s),
        "memory": {**memory, "checkpoint_transactions": min(args.checkpoint, n)},
        "awards": counts["awards"], "excluded": counts["excluded"],
        "totals_compared": len(sql_nonzero),
        "totals_agree": agree,
        # The baseline is the GROUP BY alone: loading the table is the ledger's cost, not the rules'.
        "goal": {"engine_seconds_le_10": engine_s <= 10, "ratio_to_group_by_le_3": engine_s / sql_query_s <= 3},
    }
    if args.platform_db:
        out["platform_path"] = platform_path(args.platform_db, args.year)
    if not agree:
        diff = {f"{k[0]}:{k[1]}": (engine_nonzero.get(k), sql_nonzero.get(k))
                for k in set(sql_nonzero) | set(engine_nonzero) if engine_nonzero.get(k) != sql_nonzero.get(k)}
        out["differences"] = dict(list(diff.items())[:10])
    print(json.dumps(out, indent=2))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
