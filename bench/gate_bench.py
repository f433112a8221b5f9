"""Gate benchmark: a batch check of 1,000,000 recipients against 10,000,000
suppressions, with the in-memory index, a PostgreSQL indexed lookup (`= ANY(...)` in
batches) and a Redis set (`SMISMEMBER`, pipelined), in one run on this machine.

    .venv/bin/python -m bench.gate_bench [--suppressed 10000000] [--checks 1000000]
        [--skip-postgresql] [--skip-redis]

Targets (issue 5): >= 1,000,000 checks/s on one core; index memory <= 64 bytes per
suppressed address. Half of the checked addresses are suppressed."""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
import uuid
from datetime import datetime

import psycopg

from bench.common import throwaway_postgresql
from postwarden.gate.index import Active, SuppressionIndex

BATCH = 10_000


def suppressed_address(n: int) -> str:
    return f"s{n}@d{n % 100_000}.example.com"


def addresses_to_check(count: int, suppressed: int) -> list[str]:
    rng = random.Random(3)
    half = [suppressed_address(rng.randrange(suppressed)) for _ in range(count // 2)]
    others = [f"Other{n}@D{n % 100_000}.Example.com" for n in range(count - len(half))]
    mixed = half + others
    rng.shuffle(mixed)
    return mixed


def bench_index(suppressed: int, checks: list[str]) -> tuple[float, float, int]:
    index = SuppressionIndex()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    row = Active("*", "hard_bounce", "userunknown", datetime(2026, 1, 1), None)
    index.load((suppressed_address(n), row) for n in range(suppressed))
    load_s = time.perf_counter() - started
    # The median of three runs: this virtual machine's speed wanders by a fifth.
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        hits = index.suppressed(checks)
        timings.append(time.perf_counter() - started)
    check_s = statistics.median(timings)
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(
        f"index      load {suppressed:,} in {load_s:.1f} s; check {len(checks):,} in {check_s:.2f} s "
        f"(median of 3: {', '.join(f'{t:.2f}' for t in timings)}) "
        f"= {len(checks) / check_s:,.0f}/s; {len(hits):,} suppressed; arrays {index.nbytes / suppressed:.1f} "
        f"bytes per address (peak RSS grew {grew_mb:,.0f} MB "
        "while loading, mostly the generated strings)",
        flush=True,
    )
    return len(checks) / check_s, index.nbytes / suppressed, len(hits)


def bench_postgresql(suppressed: int, checks: list[str]) -> float:
    with throwaway_postgresql() as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE s (address text PRIMARY KEY)")
        started = time.perf_counter()
        with conn.cursor().copy("COPY s (address) FROM STDIN") as copy:
            for n in range(suppressed):
                copy.write_row((suppressed_address(n),))
        conn.execute("ANALYZE s")
        load_s = time.perf_counter() - started
        lowered = [a.lower() for a in checks]
        started = time.perf_counter()
        hits = 0
        with conn.cursor() as cursor:
            for start in range(0, len(lowered), BATCH):
                cursor.execute(
                    "SELECT address FROM s WHERE address = ANY(%s)", [lowered[start : start + BATCH]]
                )
                hits += len(cursor.fetchall())
        check_s = time.perf_counter() - started
    print(
        f"postgresql load {suppressed:,} in {load_s:.1f} s; check {len(checks):,} in {check_s:.2f} s "
        f"= {len(checks) / check_s:,.0f}/s; {hits:,} suppressed",
        flush=True,
    )
    return len(checks) / check_s


def bench_redis(suppressed: int, checks: list[str]) -> float:
    import redis

    client = redis.Redis()
    key = f"postwarden-gate-bench-{uuid.uuid4().hex[:8]}"
    try:
        started = time.perf_counter()
        for start in range(0, suppressed, BATCH):
            client.sadd(key, *(suppressed_address(n) for n in range(start, min(start + BATCH, suppressed))))
        load_s = time.perf_counter() - started
        memory = client.memory_usage(key) or 0
        lowered = [a.lower() for a in checks]
        started = time.perf_counter()
        hits = 0
        pipe = client.pipeline(transaction=False)
        for start in range(0, len(lowered), BATCH):
            pipe.smismember(key, lowered[start : start + BATCH])
        for answer in pipe.execute():
            hits += sum(answer)
        check_s = time.perf_counter() - started
    finally:
        client.delete(key)
    print(
        f"redis      load {suppressed:,} in {load_s:.1f} s ({memory / suppressed:.0f} bytes per address); "
        f"check {len(checks):,} in {check_s:.2f} s = {len(checks) / check_s:,.0f}/s; {hits:,} suppressed",
        flush=True,
    )
    return len(checks) / check_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suppressed", type=int, default=10_000_000)
    parser.add_argument("--checks", type=int, default=1_000_000)
    parser.add_argument("--skip-postgresql", action="store_true")
    parser.add_argument("--skip-redis", action="store_true")
    args = parser.parse_args()
    checks = addresses_to_check(args.checks, args.suppressed)
    index_rate, _, _ = bench_index(args.suppressed, checks)
    if not args.skip_postgresql:
        print(
            f"           index / postgresql = {index_rate / bench_postgresql(args.suppressed, checks):.1f}x"
        )
    if not args.skip_redis:
        print(f"           index / redis = {index_rate / bench_redis(args.suppressed, checks):.1f}x")


if __name__ == "__main__":
    main()
