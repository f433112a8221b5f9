"""Address verification benchmark.

    .venv/bin/python -m bench.verify_bench [--addresses 10000] [--domains 1000]

Starts the tests' loopback name server with ``--domains`` domains of every kind (most
with MX records, some with a null MX, only an A record, none at all, a failing or a
silent name server), verifies ``--addresses`` addresses spread over them from a cold
cache, then again warm, and reports the time, the DNS questions asked and the
verdicts. Then measures typo suggestions on the test lists (tests/verify/data).
Targets (issue 6): 10,000 addresses over 1,000 domains in under 10 s; at least 95%
of 200 typos corrected; no suggestion for at least 99% of 200 real domains."""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from collections import Counter

from tests.dnsserver import Record, dns_server
from tests.verify.test_typo import real_domains, typos

from postwarden.settings import Settings
from postwarden.verify import Verifier
from postwarden.verify.typo import suggest

KINDS = (("mx", 0.85), ("null_mx", 0.04), ("a_only", 0.04), ("nxdomain", 0.04), ("servfail", 0.02),
         ("silent", 0.01))


def _name(rng: random.Random) -> str:
    word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 12)))
    return f"{word}.{rng.choice(['com', 'net', 'org', 'de', 'fr', 'co.uk', 'io'])}"


def zone_for(domains: int, rng: random.Random) -> tuple[list[str], list[Record], list[str], list[str]]:
    names: list[str] = []
    records: list[Record] = []
    silent: list[str] = []
    servfail: list[str] = []
    while len(names) < domains:
        name = _name(rng)
        if name in names:
            continue
        names.append(name)
        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        if kind == "mx":
            records += [(name, "MX", f"10 mx1.{name}", 3600), (name, "MX", f"20 mx2.{name}", 3600)]
        elif kind == "null_mx":
            records.append((name, "MX", "0 .", 3600))
        elif kind == "a_only":
            records.append((name, "A", "192.0.2.1", 3600))
        elif kind == "servfail":
            servfail.append(name)
        elif kind == "silent":
            silent.append(name)
    return names, records, silent, servfail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=1_000)
    parser.add_argument("--dns-timeout", type=float, default=1.0)
    args = parser.parse_args()
    rng = random.Random(6)
    names, records, silent, servfail = zone_for(args.domains, rng)
    locals_ = ["ann", "bob", "info", "postmaster", "j.smith", "maria+news", "noreply", "zoë"]
    roles = {"info", "postmaster", "noreply"}
    addresses = []
    for n in range(args.addresses):
        local = rng.choice(locals_)
        addresses.append(f"{local if local in roles else f'{local}{n}'}@{names[n % len(names)]}")
    with dns_server(records, silent=silent, servfail=servfail) as (zone, server):
        verifier = Verifier(Settings({"dns_servers": [server], "dns_timeout": args.dns_timeout}))
        started = time.perf_counter()
        results = verifier.verify_sync(addresses)
        cold = time.perf_counter() - started
        asked = zone.total()
        started = time.perf_counter()
        verifier.verify_sync(addresses)
        warm = time.perf_counter() - started
    verdicts = Counter(r.verdict for r in results)
    reasons = Counter(code for r in results for code in r.reasons)
    print(f"{args.addresses:,} addresses over {len(names):,} domains ({len(silent)} silent name servers, "
          f"dns_timeout {args.dns_timeout:g} s)")
    print(f"  cold cache: {cold:.2f} s = {args.addresses / cold:,.0f} addresses/s; "
          f"{asked:,} DNS questions")
    print(f"  warm cache: {warm:.2f} s = {args.addresses / warm:,.0f} addresses/s; "
          f"{zone.total() - asked} more questions")
    print("  verdicts: " + ", ".join(f"{v} {n:,}" for v, n in sorted(verdicts.items())))
    print("  reasons: " + ", ".join(f"{c} {n:,}" for c, n in sorted(reasons.items())))

    pairs, real = typos(), real_domains()
    corrected = sum(suggest(typo) == meant for typo, meant in pairs)
    quiet = sum(suggest(domain) is None for domain in real)
    print(f"typos corrected: {corrected} of {len(pairs)} = {100 * corrected / len(pairs):.1f}% (target 95%)")
    print(f"real domains without a suggestion: {quiet} of {len(real)} = {100 * quiet / len(real):.1f}% "
          "(target 99%)")
    met = cold < 10 and corrected >= 0.95 * len(pairs) and quiet >= 0.99 * len(real)
    print("targets met" if met else "TARGETS NOT MET")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
