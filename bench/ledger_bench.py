"""Ledger benchmark: import N suppressions from a CSV file, then check M addresses
(half of them suppressed), on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.ledger_bench [--rows 1000000] [--checks 100000] \
        [--backend sqlite|postgresql|both]

Targets (issue 2): import >= 50,000 rows/s on PostgreSQL; check >= 200,000 addresses/s.
The import runs the same path as `postwarden import suppressions --from csv`: one
transaction with an audit entry per suppression; into the empty ledger the file is
written as it is read. A second import then adds a tenth as many rows again, half of
them already held, into the full ledger: the path that reads the whole file first and
looks up what is held in one go. Besides wall time it prints this process's CPU time,
which other work on a shared machine stretches less."""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

from bench.common import database
from postwarden import settings as settings_mod
from postwarden.intake import exports
from postwarden.ledger import CheckResult, Ledger
from postwarden.ledger.db import make_engine, migrate

CLASSES = ("hard_bounce", "complaint", "unsubscribe", "invalid", "manual")


def write_csv(path: Path, rows: int, first: int = 0) -> None:
    with path.open("w") as fh:
        fh.write("address,reason,scope,created_at\n")
        for n in range(first, first + rows):
            cls = CLASSES[(n * 2654435761 >> 8) % len(CLASSES)]  # the same class for the same n
            scope = "newsletter" if cls == "unsubscribe" and n % 2 else "*"
            fh.write(f"user{n}@d{n % 5000}.example.com,{cls},{scope},2025-0{1 + n % 9}-15T10:00:00Z\n")


def timed_import(ledger: Ledger, csv_path: Path) -> tuple[float, float, int]:
    """Seconds, CPU seconds and suppressions created."""
    started, cpu = time.perf_counter(), time.process_time()
    with csv_path.open(encoding="utf-8-sig", newline="") as stream:  # as the CLI reads it
        summary = ledger.import_rows(exports.iter_rows("csv", stream), source="bench", actor="bench")
    return time.perf_counter() - started, time.process_time() - cpu, summary.created


def run(url: str, csv_path: Path, more_path: Path, rows: int, checks: int) -> dict[str, float]:
    engine = make_engine(url)
    migrate(engine)
    ledger = Ledger(engine, "default", settings_mod.load(env={}))

    import_s, import_cpu, created = timed_import(ledger, csv_path)
    assert created == rows, created

    rng = random.Random(11)
    addresses = [f"user{n}@d{n % 5000}.example.com" for n in rng.sample(range(rows), checks // 2)]
    addresses += [f"nobody{n}@d{n % 5000}.example.com" for n in range(checks - len(addresses))]
    rng.shuffle(addresses)
    # Twice: the first read of freshly imported rows also marks them known-committed
    # (PostgreSQL's hint bits), which the next check, as every later one, is spared.
    results: list[CheckResult] = []
    for first in (True, False):
        # Freeing the first check's 100,000 results is not the second check's work: it
        # was counted in its time, 5-15% of it, before they were let go here.
        results.clear()
        started, cpu = time.perf_counter(), time.process_time()
        results = ledger.check(addresses)
        check_s, check_cpu = time.perf_counter() - started, time.process_time() - cpu
        if first:
            first_check_s = check_s
        suppressed = sum(r.verdict == "suppressed" for r in results)
        assert suppressed >= checks // 2 * 0.5, suppressed  # unsubscribes on a topic do not block '*'

    more_s, _, more_created = timed_import(ledger, more_path)
    assert more_created == rows // 20, more_created

    started = time.perf_counter()
    problem = ledger.verify_audit()
    verify_s = time.perf_counter() - started
    assert problem is None, problem
    engine.dispose()
    return {"import_s": import_s, "import_rows_per_s": rows / import_s, "import_cpu_s": import_cpu,
            "more_s": more_s, "more_rows_per_s": rows // 10 / more_s,
            "first_check_s": first_check_s, "check_s": check_s, "checks_per_s": checks / check_s,
            "check_cpu_s": check_cpu,
            "verify_s": verify_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, more_path = Path(tmp) / "suppressions.csv", Path(tmp) / "more.csv"
        write_csv(csv_path, args.rows)
        write_csv(more_path, args.rows // 10, first=args.rows - args.rows // 20)
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        for backend in backends:
            with database(backend, tmp) as url:
                result = run(url, csv_path, more_path, args.rows, args.checks)
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            # CPU: this process's own, which a busy machine stretches less than wall time.
            print(f"{backend:10s} import {args.rows:,} rows in {result['import_s']:.1f} s "
                  f"= {result['import_rows_per_s']:,.0f} rows/s (CPU {result['import_cpu_s']:.1f} s) | "
                  f"then {args.rows // 10:,} more, half held: {result['more_rows_per_s']:,.0f} rows/s | "
                  f"check {args.checks:,} in {result['check_s']:.2f} s = {result['checks_per_s']:,.0f}/s "
                  f"(CPU {result['check_cpu_s']:.2f} s; the first after the import "
                  f"{args.checks / result['first_check_s']:,.0f}/s) | audit verify "
                  f"{result['verify_s']:.1f} s | peak RSS so far {peak_mb:,.0f} MB", flush=True)


if __name__ == "__main__":
    main()
