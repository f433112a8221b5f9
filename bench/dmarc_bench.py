"""DMARC benchmark: ingest 1,000 aggregate report files (XML, gzip, zip and emails
carrying them, a quarter each, 20 records a report) the way `postwarden import
dmarc DIR` does — read, unpack and parse each file with defusedxml, store them 200
files to a transaction.

    .venv/bin/python -m bench.dmarc_bench [--files 1000] [--records 20] [--backend sqlite|postgresql|both]

Target (issue 8): 1,000 files in under 10 s."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.reports.dmarc_samples import gzipped, in_email, report_xml, zipped

from bench.common import database
from postwarden import settings as settings_mod
from postwarden.ledger.db import make_engine, migrate
from postwarden.ledger.tenants import create_tenant
from postwarden.reports.service import Reports

WRAPS = ((".xml", lambda x: x), (".xml.gz", gzipped), (".zip", zipped), (".eml", in_email))


def write_files(folder: Path, files: int, records: int) -> None:
    for n in range(files):
        rows = [(f"198.51.{n % 200}.{r}", 1 + (n * r) % 500, "none" if r % 7 else "reject",
                 "pass" if r % 5 else "fail", "pass" if r % 3 else "fail") for r in range(records)]
        xml = report_xml(f"bench-{n}", org=("google.com", "yahoo.com", "outlook.com")[n % 3],
                         domain="news.example.org", rows=rows, begin=1767571200 + 86400 * (n % 60))
        suffix, wrap = WRAPS[n % len(WRAPS)]
        (folder / f"report-{n}{suffix}").write_bytes(wrap(xml))


def run(url: str, folder: Path, files: int) -> float:
    engine = make_engine(url)
    migrate(engine)
    reports = Reports(engine, create_tenant(engine, "bench"), settings_mod.load(env={}, database_url=url))
    paths = sorted(folder.iterdir())
    began = time.perf_counter()
    result, refused = reports.import_dmarc_files((p.name, p.read_bytes()) for p in paths)
    took = time.perf_counter() - began
    assert result.stored == files and not refused, (result, refused)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "reports"
        folder.mkdir()
        write_files(folder, args.files, args.records)
        for backend in backends:
            with database(backend, tmp) as url:
                took = run(url, folder, args.files)
            print(f"{backend}: {args.files} DMARC files ({args.files * args.records:,} records) in "
                  f"{took:.2f} s = {args.files / took:,.0f} files/s (target: 1,000 in < 10 s)")


if __name__ == "__main__":
    main()
