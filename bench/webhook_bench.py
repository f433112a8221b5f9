"""Webhook benchmark: signed SendGrid batches POSTed over loopback to a real
`postwarden serve` process, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.webhook_bench [--batches 20] [--batch-size 1000] \
        [--backend sqlite|postgresql|both] [--profile]

Each batch mixes deliveries (75 %), bounces (20 %: hard, soft and sender-side blocks)
and spam reports (5 %), each event with its own id, over a pool of 200,000 addresses.
This process only sends (bodies and signatures are made before the clock starts);
the server is a separate process doing what it does for SendGrid: verify the ECDSA
signature, translate, apply the batch in one transaction, answer. Target (issue 4):
>= 5,000 events/s. ``--profile`` instead runs the server side of a few batches in
this process under cProfile and prints where the time goes."""

from __future__ import annotations

import argparse
import base64
import cProfile
import http.client
import json
import pstats
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.common import database
from postwarden import settings as settings_mod
from postwarden.ledger.db import make_engine, migrate
from postwarden.ledger.tenants import create_tenant

POSTWARDEN = str(Path(sys.executable).with_name("postwarden"))
TENANT = "bench"


def make_batches(count: int, size: int, key: ec.EllipticCurvePrivateKey,
                 seed: int = 5) -> list[tuple[bytes, dict[str, str]]]:
    rng = random.Random(seed)
    out = []
    serial = 0
    for _ in range(count):
        events = []
        for _ in range(size):
            serial += 1
            n = rng.randrange(200_000)
            event: dict[str, object] = {
                "email": f"user{n}@d{n % 2000}.example.com", "timestamp": 1767600000 + serial,
                "sg_event_id": f"ev-{seed}-{serial}", "sg_message_id": f"msg-{serial}",
                "smtp-id": f"<{serial}@bench.example.org>"}
            roll = rng.random()
            if roll < 0.75:
                event.update(event="delivered", response="250 2.0.0 OK queued")
            elif roll < 0.85:
                event.update(event="bounce", type="bounce", status="5.1.1",
                             reason="550 5.1.1 <x>: Recipient address rejected: User unknown")
            elif roll < 0.90:
                event.update(event="bounce", type="bounce", status="4.2.2",
                             reason="452 4.2.2 Mailbox full")
            elif roll < 0.95:
                event.update(event="bounce", type="blocked", status="5.7.1",
                             reason="554 5.7.1 Service unavailable; client host blocked by zen.spamhaus.org")
            else:
                event.update(event="spamreport")
            events.append(event)
        body = json.dumps(events).encode()
        timestamp = str(1767600000 + serial)
        signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        out.append((body, {"Content-Type": "application/json",
                           "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                           "X-Twilio-Email-Event-Webhook-Timestamp": timestamp}))
    return out


def public_key_text(key: ec.EllipticCurvePrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def prepare(url: str, key: ec.EllipticCurvePrivateKey) -> None:
    from postwarden.intake.webhooks import store
    from postwarden.ledger import Ledger

    engine = make_engine(url)
    migrate(engine)
    create_tenant(engine, TENANT)
    ledger = Ledger(engine, TENANT, settings_mod.load(env={}))
    store.set_secret(engine, ledger.tenant_id, "sendgrid", public_key_text(key))
    engine.dispose()


@contextmanager
def server(url: str, log: Path) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with log.open("ab") as handle:
        process = subprocess.Popen([POSTWARDEN, "--database", url, "serve", "--port", str(port),
                                    "--smtp-port", "0"], stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postwarden serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


def post_all(port: int, batches: list[tuple[bytes, dict[str, str]]]) -> tuple[float, list[float], int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    latencies = []
    applied = 0
    started = time.perf_counter()
    for body, headers in batches:
        t0 = time.perf_counter()
        conn.request("POST", f"/webhooks/sendgrid/{TENANT}", body=body, headers=headers)
        reply = conn.getresponse()
        text = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"HTTP {reply.status}: {text[:500]!r}")
        applied += int(json.loads(text)["applied"])
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - started, latencies, applied


def run(backend: str, args: argparse.Namespace) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    warm = make_batches(2, args.batch_size, key, seed=1)
    batches = make_batches(args.batches, args.batch_size, key, seed=2)
    events = args.batches * args.batch_size
    with tempfile.TemporaryDirectory() as tmp, database(backend, tmp) as url:
        prepare(url, key)
        with server(url, Path(tmp) / "serve.log") as port:
            post_all(port, warm)
            elapsed, latencies, applied = post_all(port, batches)
            again, _, reapplied = post_all(port, batches[:5])
    assert applied == events and reapplied == 0, (applied, reapplied)
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(f"{backend:10s} {events:,} events in {args.batches} batches of {args.batch_size:,}: "
          f"{elapsed:.1f} s = {events / elapsed:,.0f} events/s | batch p50 "
          f"{statistics.median(latencies) * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms"
          f" | re-sent (all duplicates): {5 * args.batch_size / again:,.0f} events/s", flush=True)


def profile(backend: str, args: argparse.Namespace) -> None:
    """The server's work for a few batches, in this process, under cProfile."""
    from starlette.datastructures import State

    from postwarden.api.webhooks import handle
    from postwarden.intake.webhooks import get

    key = ec.generate_private_key(ec.SECP256R1())
    batches = make_batches(min(args.batches, 5), args.batch_size, key, seed=3)
    with tempfile.TemporaryDirectory() as tmp, database(backend, tmp) as url:
        prepare(url, key)
        state = State()
        state.engine = make_engine(url)
        state.settings = settings_mod.load(env={}, database_url=url)
        state.ledgers = {}
        spec = get("sendgrid")
        lowered = [(body, {k.lower(): v for k, v in headers.items()}) for body, headers in batches]
        handle(state, spec, TENANT, lowered[0][1], lowered[0][0])
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for body, headers in lowered[1:]:
            handle(state, spec, TENANT, headers, body)
        profiler.disable()
        elapsed = time.perf_counter() - started
        state.engine.dispose()
    events = (len(lowered) - 1) * args.batch_size
    print(f"{backend}: {events:,} events in-process in {elapsed:.2f} s = {events / elapsed:,.0f} events/s "
          "(with profiling overhead)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        (profile if args.profile else run)(backend, args)


if __name__ == "__main__":
    main()
