"""SMTP intake benchmark: from SMTP to the committed ledger change.

    .venv/bin/python -m bench.intake_bench [--messages 5000] [--connections 4] [--workers 1]
        [--backend postgresql|sqlite]

Starts `postwarden serve` (plus `--workers - 1` extra `postwarden worker` processes) on
a throwaway database, then a load generator in separate processes sends corpus
bounces (../shared/corpus/bounces/maildir/bsd, POSTWARDEN_CORPUS to move it) over
SMTP, several messages per connection. Reported: messages/s from the first
message sent until the spool is drained (every message parsed and applied), and
the latency from the 250 reply to the suppression being visible to `check`,
measured on generated hard bounces with known recipients mixed into the load.

Targets (issue 4): >= 500 messages/s sustained with PostgreSQL; p99 < 1 s."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from tests.intake import mail
from tests.servers import POSTWARDEN, free_port, start

from bench.common import database
from postwarden import settings as settings_mod
from postwarden.intake import spool
from postwarden.ledger import Ledger
from postwarden.ledger.db import make_engine, migrate

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("POSTWARDEN_CORPUS", ROOT.parent / "shared" / "corpus"))


def corpus_messages() -> list[bytes]:
    folder = CORPUS / "bounces" / "maildir" / "bsd"
    if not folder.is_dir():
        sys.exit(f"corpus not found at {folder}: set POSTWARDEN_CORPUS")
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]


def sender(port: int, messages: list[bytes], per_connection: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Send messages; report (recipient marker, time of 250) for the probes."""
    stamps = []
    for start_at in range(0, len(messages), per_connection):
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.ehlo("load.example")
            for raw in messages[start_at:start_at + per_connection]:
                smtp.mail("")
                smtp.rcpt("bounces@bounce.localhost")
                code, _ = smtp.data(raw)
                if code != 250:
                    raise RuntimeError(f"intake answered {code}")
                if raw.startswith(b"X-Probe: "):
                    stamps.append((raw[9:raw.index(b"\r\n")].decode(), time.time()))
    out.put(stamps)


def probe(recipient: str) -> bytes:
    return f"X-Probe: {recipient}\r\n".encode() + mail.dsn(recipient)


def run(url: str, args: argparse.Namespace, workdir: Path) -> None:
    engine = make_engine(url)
    migrate(engine)
    ledger = Ledger(engine, "default", settings_mod.load(env={}))
    corpus = corpus_messages()
    load = [corpus[i % len(corpus)] for i in range(args.messages)]
    probes = [f"probe-{uuid.uuid4().hex[:10]}@example.org" for _ in range(max(1, args.messages // 25))]
    for n, recipient in enumerate(probes):
        load.insert((n * 25) % len(load), probe(recipient))

    load_before = os.getloadavg()[0]
    smtp_port = free_port()
    server = start(url, workdir / "serve.log", smtp_port=smtp_port,
                   extra_env={"POSTWARDEN_INTAKE_WORKERS": str(args.intake_workers)})
    extra = [subprocess.Popen([POSTWARDEN, "--database", url, "worker"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(args.workers - 1)]
    try:
        queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        shares = [load[i::args.connections] for i in range(args.connections)]
        started = time.time()
        procs = [multiprocessing.Process(target=sender, args=(smtp_port, share, 50, queue))
                 for share in shares]
        for p in procs:
            p.start()
        # Poll `check` for the probes as a sender would, from the start, recording when
        # each turns suppressed.
        visible: dict[str, float] = {}
        done_sending = threading.Event()

        def poll() -> None:
            while True:
                pending = [r for r in probes if r not in visible]
                now = time.time()
                for result in ledger.check(pending):
                    if result.verdict == "suppressed":
                        visible[result.address] = now
                if done_sending.is_set():
                    counts = spool.counts(engine)
                    if counts.get("pending", 0) + counts.get("processing", 0) == 0 \
                            or time.time() - started > 300:
                        return
                time.sleep(0.05)

        poller = threading.Thread(target=poll)
        poller.start()
        stamps: dict[str, float] = {}
        for _ in procs:
            stamps.update(dict(queue.get()))
        for p in procs:
            p.join()
        sent = time.time()
        done_sending.set()
        poller.join()
        drained = time.time()
        latencies = sorted(visible[r] - stamps[r] for r in probes if r in visible and r in stamps)
        # The first second includes the service warming up (statement caches, connections);
        # reported apart, never instead.
        settled = sorted(visible[r] - stamps[r] for r in probes
                         if r in visible and r in stamps and stamps[r] - started > 1.0)
        total = len(load)
        print(f"{engine.dialect.name:10s} {total:,} messages over {args.connections} connections, "
              f"{args.workers} worker(s): sent in {sent - started:.1f} s "
              f"({total / (sent - started):,.0f}/s accepted), all applied in {drained - started:.1f} s "
              f"= {total / (drained - started):,.0f} messages/s through to the ledger")
        if latencies:
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            print(f"           250 -> visible to check: median {statistics.median(latencies) * 1000:.0f} ms, "
                  f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms over {len(latencies)} probes "
                  f"({len(probes) - len(latencies)} not seen)")
        if settled:
            print(f"           after the first second: median {statistics.median(settled) * 1000:.0f} ms, "
                  f"p99 {settled[min(len(settled) - 1, int(len(settled) * 0.99))] * 1000:.0f} ms "
                  f"over {len(settled)} probes")
        worst = sorted(((visible[r] - stamps[r], stamps[r] - started) for r in probes
                        if r in visible and r in stamps), reverse=True)[:5]
        print("           slowest probes (latency ms @ s after start): "
              + ", ".join(f"{lat * 1000:.0f} @ {at:.1f}" for lat, at in worst))
        print(f"           spool: {spool.counts(engine)}; load average (1 min) {load_before:.2f} before, "
              f"{os.getloadavg()[0]:.2f} after, on {os.cpu_count()} cores")
    finally:
        for proc in extra:
            proc.terminate()
        server.stop()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1,
                        help="intake processes in all: `serve` plus workers-1 `postwarden worker`")
    parser.add_argument("--intake-workers", type=int, default=1,
                        help="worker processes `serve` starts itself (setting intake_workers)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, tmp) as url:
        run(url, args, Path(tmp))


if __name__ == "__main__":
    main()
