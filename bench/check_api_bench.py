"""`POST /v1/check` with one address, at a fixed rate, against a running server.

    .venv/bin/python -m bench.check_api_bench [--rate 500] [--seconds 10] [--suppressed 100000]
        [--backend postgresql|sqlite] [--client raw|httpx]

Starts `postwarden serve` on a throwaway database holding `--suppressed` suppressions,
then a load generator in separate processes sends requests open-loop: each request has
a scheduled time and its latency counts from then, so a slow server cannot hide its
queue by slowing the sender. Target (issue 5): p99 < 5 ms at 500 requests/s."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from tests.servers import start

from bench.common import database
from postwarden import settings as settings_mod
from postwarden.ledger import Ledger
from postwarden.ledger.db import make_engine, migrate
from postwarden.ledger.service import ImportRow
from postwarden.ledger.tenants import create_api_key

SENDERS = 4


class RawClient:
    """POST over one kept HTTP/1.1 connection; the response read by its Content-Length."""

    def __init__(self, url: str, key: str) -> None:
        host, port = url.split("//", 1)[1].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host, self.key = host, key

    def post(self, path: str, body: bytes) -> int:
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        self.sock.sendall(head.encode() + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        header, _, rest = data.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        length = next(int(v) for k, _, v in (line.partition(":") for line in lines[1:])
                      if k.strip().lower() == "content-length")
        while len(rest) < length:
            rest += self._recv()
        return int(lines[0].split()[1])

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


class HttpxClient:
    def __init__(self, url: str, key: str) -> None:
        self.client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}",
                                                          "Content-Type": "application/json"}, timeout=10)

    def post(self, path: str, body: bytes) -> int:
        return self.client.post(path, content=body).status_code

    def close(self) -> None:
        self.client.close()


CLIENTS = {"raw": RawClient, "httpx": HttpxClient}


def sender(url: str, key: str, kind: str, rate: float, seconds: float, offset: int,
           out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    latencies = []
    errors = 0
    interval = 1.0 / rate
    client = CLIENTS[kind](url, key)
    try:
        client.post("/v1/check", b'{"addresses": []}')
        start_at = time.perf_counter() + 0.5
        n = 0
        while True:
            due = start_at + n * interval
            if due - start_at > seconds:
                break
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            address = f"u{(offset + n * SENDERS) % 200_000}@d{n % 1000}.example.com"
            status = client.post("/v1/check", json.dumps({"addresses": [address]}).encode())
            latencies.append(time.perf_counter() - due)
            errors += status != 200
            n += 1
    finally:
        client.close()
    out.put((latencies, errors))


def run(url: str, args: argparse.Namespace, workdir: Path) -> None:
    engine = make_engine(url)
    migrate(engine)
    ledger = Ledger(engine, "default", settings_mod.load(env={}))
    ledger.import_rows(
        [
            ImportRow(n + 2, f"u{n}@d{n % 1000}.example.com", "hard_bounce")
            for n in range(0, 2 * args.suppressed, 2)
        ],
        source="bench",
        actor="bench",
    )
    key = create_api_key(engine, "default", "bench")
    server = start(url, workdir / "serve.log")
    try:
        # The first check builds the tenant's in-memory index; time the steady state.
        httpx.post(f"{server.http}/v1/check", json={"addresses": ["warm@example.com"]},
                   headers={"Authorization": f"Bearer {key}"}, timeout=60).raise_for_status()
        queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        procs = [
            multiprocessing.Process(
                target=sender,
                args=(server.http, key, args.client, args.rate / SENDERS, args.seconds, n, queue),
            )
            for n in range(SENDERS)
        ]
        for p in procs:
            p.start()
        latencies: list[float] = []
        errors = 0
        for _ in procs:
            got, failed = queue.get()
            latencies += got
            errors += failed
        for p in procs:
            p.join()
    finally:
        server.stop()
        engine.dispose()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000

    median = statistics.median(latencies) * 1000
    print(f"{engine.dialect.name:10s} {len(latencies):,} requests at {args.rate:.0f}/s over "
          f"{args.seconds:.0f} s from {SENDERS} processes ({args.client} client), "
          f"{args.suppressed:,} suppressions: "
          f"median {median:.2f} ms, p99 {pct(0.99):.2f} ms, p99.9 {pct(0.999):.2f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms, errors {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--suppressed", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--client", choices=tuple(CLIENTS), default="raw")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.backend, tmp) as url:
        run(url, args, Path(tmp))


if __name__ == "__main__":
    main()
