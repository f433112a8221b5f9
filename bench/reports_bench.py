"""Reports benchmark: a 90-day per-provider daily series over millions of recorded
messages and their feedback events, on PostgreSQL.

    .venv/bin/python -m bench.reports_bench [--messages 10000000] [--events 0.2]

Messages and events are written with COPY straight into the tables the relay and
the ledger fill, spread over 90 days and the usual providers. The rollup then
catches up once (timed, reported); the target is the series query as an operator
or the API runs it — rollup of whatever is new, then the read — with a few
thousand new messages and events arriving before each run.

Target (issue 8): the 90-day per-provider daily series in under 1 s."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine, text

from bench.common import throwaway_postgresql
from postwarden import settings as settings_mod
from postwarden.ledger.db import make_engine, migrate
from postwarden.ledger.models import EVENTS, MESSAGES
from postwarden.ledger.tenants import create_tenant
from postwarden.reports.service import Reports

DAYS = 90
# (recipient domain, share, provider the relay recorded or None)
DOMAINS = (("gmail.com", 38, None), ("outlook.com", 9, None), ("hotmail.com", 9, None),
           ("yahoo.com", 12, None), ("aol.com", 3, None), ("icloud.com", 6, None), ("gmx.de", 3, None),
           ("web.de", 2, None), ("comcast.net", 2, None), ("company.example", 8, "microsoft"),
           ("startup.example", 5, "google"), ("small.example", 3, None))
KINDS = (("delivered", 40), ("bounce", 25), ("delay", 15), ("complaint", 5), ("unsubscribe", 15))
CHUNK = 200_000
NULL = "\\N"
BLOCKED = "550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org"
MESSAGE_COLUMNS = ("tenant_id", "message_id", "message_ref", "recipient", "sender", "subject", "stream",
                   "scope", "provider", "status", "sent_at", "status_at")
EVENT_COLUMNS = ("tenant_id", "fingerprint", "kind", "address", "scope", "reason", "reason_class",
                 "hard_bounce", "status", "reply_code", "diagnostic", "source", "disposition",
                 "occurred_at", "received_at")


def _rows(tenant_id: int, messages: int, event_share: float, start: datetime, seed: int,
          ) -> Iterator[tuple[list[str], list[str]]]:
    """Chunks of COPY text lines: (messages, events). The random choices are drawn
    by numpy a chunk at a time; the loop only joins strings."""
    rng = np.random.default_rng(seed)
    domain_p = np.array([share for _, share, _ in DOMAINS], dtype=float)
    kind_p = np.array([share for _, share in KINDS], dtype=float)
    base = np.datetime64(start.replace(microsecond=0), "s")
    for first in range(0, messages, CHUNK):
        size = min(CHUNK, messages - first)
        domains = rng.choice(len(DOMAINS), size, p=domain_p / domain_p.sum())
        sent = base + rng.integers(0, DAYS * 86400, size).astype("timedelta64[s]")
        sent_text = np.datetime_as_string(sent, unit="s")
        has_event = rng.random(size) < event_share
        kinds = rng.choice(len(KINDS), size, p=kind_p / kind_p.sum())
        rolls = rng.random(size)
        later = rng.integers(60, 36000, size).astype("timedelta64[s]")
        at_text = np.datetime_as_string(sent + later, unit="s")
        message_lines, event_lines = [], []
        for i in range(size):
            n = first + i
            domain, _, provider = DOMAINS[domains[i]]
            recipient = f"u{n % 2_000_000}@{domain}"
            message_lines.append(f"{tenant_id}\tm{seed}-{n}@bench\t{seed:04x}{n:012x}\t{recipient}\t"
                                 f"news@news.example.org\tnews\tmarketing\t*\t{provider or NULL}\tsent\t"
                                 f"{sent_text[i]}\t{sent_text[i]}")
            if not has_event[i]:
                continue
            kind = KINDS[kinds[i]][0]
            if kind == "bounce":
                # 60% hard, 12% sender-side (blocked), the rest soft.
                roll = rolls[i]
                fields = (("userunknown", "hard_bounce", "t", "5.1.1", "550", NULL, "suppress") if roll < 0.6
                          else ("blocked", NULL, "f", "5.7.1", "550", BLOCKED, "alert") if roll < 0.72
                          else ("mailboxfull", NULL, "f", "4.2.2", "452", NULL, "count"))
            else:
                fields = (NULL, NULL, NULL, NULL, NULL, NULL, "record")
            reason, reason_class, hard, status, code, diagnostic, disposition = fields
            event_lines.append(f"{tenant_id}\t{seed:04d}{n:028d}\t{kind}\t{recipient}\t*\t{reason}\t"
                               f"{reason_class}\t{hard}\t{status}\t{code}\t{diagnostic}\tbench\t"
                               f"{disposition}\t{at_text[i]}\t{at_text[i]}")
        yield message_lines, event_lines


def load(url: str, tenant_id: int, messages: int, event_share: float, start: datetime, seed: int) -> int:
    import psycopg

    events = 0
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn, conn.cursor() as cur:
        for message_lines, event_lines in _rows(tenant_id, messages, event_share, start, seed):
            with cur.copy(f"COPY messages ({', '.join(MESSAGE_COLUMNS)}) FROM STDIN") as copy:
                copy.write("\n".join(message_lines) + "\n")
            if event_lines:
                with cur.copy(f"COPY feedback_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                    copy.write("\n".join(event_lines) + "\n")
            events += len(event_lines)
            conn.commit()
    return events


def run(url: str, messages: int, event_share: float, repeats: int) -> None:
    engine: Engine = make_engine(url)
    migrate(engine)
    tenant_id = create_tenant(engine, "bench")
    now = datetime.now().replace(microsecond=0)
    start = now - timedelta(days=DAYS - 1)

    began = time.perf_counter()
    # The usual bulk load: secondary indexes dropped first and built once afterwards.
    secondary = [i for table in (MESSAGES, EVENTS) for i in table.indexes if not i.unique]
    with engine.begin() as conn:
        for index in secondary:
            index.drop(conn)
    events = load(url, tenant_id, messages, event_share, start, seed=1)
    with engine.begin() as conn:
        for index in secondary:
            index.create(conn)
        conn.execute(text("ANALYZE messages"))
        conn.execute(text("ANALYZE feedback_events"))
    took = time.perf_counter() - began
    print(f"loaded {messages:,} messages and {events:,} events by COPY in {took:.1f} s")

    settings = settings_mod.load(env={}, database_url=url)
    reports = Reports(engine, tenant_id, settings)
    began = time.perf_counter()
    caught = reports.refresh()
    print(f"rollup caught up with {caught.messages:,} messages and {caught.events:,} events "
          f"in {time.perf_counter() - began:.1f} s")

    timings = []
    for n in range(repeats):
        # New mail keeps arriving between queries: the query rolls it up first.
        load(url, tenant_id, 5_000, event_share, now - timedelta(hours=1), seed=100 + n)
        began = time.perf_counter()
        series = reports.stats(start.date(), now.date())
        timings.append(time.perf_counter() - began)
    days = sum(len(s.days) for s in series)
    sent = sum(s.total.sent for s in series)
    print(f"90-day series: {len(series)} providers x {DAYS} days ({days} rows, {sent:,} messages): "
          f"median {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms "
          f"over {repeats} runs, each after 5,000 new messages (target < 1000 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--events", type=float, default=0.2, help="share of messages with a feedback event")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with throwaway_postgresql() as url:
        run(url, args.messages, args.events, args.repeats)


if __name__ == "__main__":
    main()
