"""Messages per second through `postwarden relay` to an upstream sink.

    .venv/bin/python -m bench.relay_bench [--messages 3000] [--connections 4]
        [--backend sqlite|postgresql] [--dkim] [--suppressed 100000]

Starts an aiosmtpd sink (a process of its own) as the upstream and `postwarden relay`
on a fresh database holding `--suppressed` suppressions; client processes send
one-recipient messages over `--connections` SMTP connections, authenticated, each
message checked at RCPT, scored, given its VERP return path (and with --dkim, signed),
handed to the sink and recorded in the message history before its 250. The peer in the
same run: the same clients sending straight to the sink, which is the ceiling the
relay's own work comes off. Target (issue 5): >= 200 messages/s."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import smtplib
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.servers import POSTWARDEN, free_port

from bench.common import database
from postwarden import settings as settings_mod
from postwarden.ledger import Ledger
from postwarden.ledger.db import make_engine, migrate
from postwarden.ledger.service import ImportRow
from postwarden.ledger.tenants import create_api_key

MESSAGE = """From: Shop <shop@sender.example>
To: {to}
Subject: Your order {n} has shipped
Message-ID: <bench-{n}@sender.example>
X-Postwarden-Stream: {stream}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Your parcel leaves the warehouse today. Track it at https://sender.example/track/{n}
{filler}
"""


def sink_process(port: int, ready: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            return "250 2.0.0 queued"

    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def client(port: int, login: tuple[str, str] | None, count: int, offset: int, stream: str,
           out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    filler = ("Thank you for shopping with us. " * 2 + "\n") * 15
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.ehlo("bench.sender.example")
            if login:
                smtp.login(*login)
            for n in range(offset, offset + count):
                to = f"reader{n}@example.com"
                smtp.sendmail("shop@sender.example", [to],
                              MESSAGE.format(to=to, n=n, stream=stream, filler=filler)
                              .replace("\n", "\r\n").encode())
    except smtplib.SMTPException as exc:
        out.put(exc)
        return
    out.put(count)


def run_clients(port: int, login: tuple[str, str] | None, messages: int, connections: int,
                stream: str) -> float:
    out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    per = messages // connections
    procs = [multiprocessing.Process(target=client, args=(port, login, per, i * per, stream, out))
             for i in range(connections)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    failures = [r for r in results if isinstance(r, Exception)]
    if failures:
        raise SystemExit(f"a client failed: {failures[0]!r}")
    sent = sum(results)
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    return sent / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--dkim", action="store_true")
    parser.add_argument("--stream", default="marketing", choices=["marketing", "transactional"])
    parser.add_argument("--suppressed", type=int, default=100_000)
    args = parser.parse_args()

    sink_port = free_port()
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=sink_process, args=(sink_port, ready), daemon=True)
    sink.start()
    ready.wait(30)
    with tempfile.TemporaryDirectory() as folder, database(args.backend, folder) as url:
        engine = make_engine(url)
        migrate(engine)
        ledger = Ledger(engine, "default", settings_mod.load(env={}))
        rows = (ImportRow(n + 2, f"gone{n}@example.org", "hard_bounce") for n in range(args.suppressed))
        ledger.import_rows(rows, source="bench", actor="bench")
        key = create_api_key(engine, "default", "bench")
        env = {**os.environ, "POSTWARDEN_RELAY_UPSTREAM": f"127.0.0.1:{sink_port}",
               "POSTWARDEN_RELAY_RATE_PER_MINUTE": "1000000"}
        if args.dkim:
            pem = Path(folder) / "dkim.pem"
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
            env.update(POSTWARDEN_DKIM_DOMAIN="sender.example", POSTWARDEN_DKIM_PRIVATE_KEY=str(pem))
        port = free_port()
        log = (Path(folder) / "relay.log").open("ab")
        relay = subprocess.Popen([POSTWARDEN, "--database", url, "relay", "--port", str(port)],
                                 stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                        probe.noop()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            direct = run_clients(sink_port, None, args.messages, args.connections, args.stream)
            through = run_clients(port, ("default", key), args.messages, args.connections, args.stream)
            recorded = len(ledger.messages_for("reader0@example.com"))
        finally:
            relay.terminate()
            relay.wait(timeout=10)
    sink.terminate()
    print(f"backend={args.backend} messages={args.messages} connections={args.connections} "
          f"stream={args.stream} dkim={args.dkim} suppressed={args.suppressed}")
    print(f"through the relay: {through:,.0f} messages/s (target 200); recorded in history: {recorded > 0}")
    print(f"straight to the sink (peer ceiling): {direct:,.0f} messages/s; relay/direct = "
          f"{through / direct:.2f}")


if __name__ == "__main__":
    main()
