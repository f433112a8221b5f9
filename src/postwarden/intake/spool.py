"""The durable spool: raw input is committed here before it is acknowledged (SMTP
250, HTTP 2xx), and workers in any number of processes take it from here.

A worker claims a batch by setting a lease; entries whose lease ran out (their
worker died) are claimed again, so nothing acknowledged is lost, and the ledger's
fingerprints make processing an entry twice change nothing."""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update

from postwarden.errors import NotFound
from postwarden.ledger.models import SPOOL
from postwarden.ledger.service import utcnow


def enqueue(engine: Engine, channel: str, envelope: dict[str, Any], body: bytes,
            tenant_id: int | None = None, state: str = "pending", result: str | None = None) -> int:
    """Store one input durably; returns its id once committed."""
    with engine.begin() as conn:
        return int(conn.execute(SPOOL.insert().values(
            tenant_id=tenant_id, channel=channel, envelope=json.dumps(envelope), body=body,
            state=state, attempts=0, lease_until=None, received_at=utcnow(), processed_at=None,
            result=result,
        ).returning(SPOOL.c.id)).scalar_one())


class SpoolWriter:
    """Group commit: inputs that arrive together are committed in one transaction, and
    each caller's future resolves (so its 250 or 2xx is sent) only after that commit.
    Under load this turns many small commits into few larger ones.

    Admission: while more than ``backlog_limit`` entries wait for a worker to take
    them, the next commit is held (at most ``MAX_HOLD`` seconds), so senders wait for
    their 250 rather than the spool growing without bound. Acknowledged input then
    reaches the ledger within about ``backlog_limit`` entries' work (plus the batch a
    worker is at), however far the workers are behind; if they make no progress at
    all, input is stored anyway after the hold."""

    MAX_BATCH = 200
    MAX_HOLD = 2.0
    HOLD_STEP = 0.01
    # The unclaimed count is asked for again at least this often, for entries other
    # processes spooled (imports).
    RECOUNT_SECONDS = 1.0

    def __init__(self, engine: Engine, backlog_limit: int = 0) -> None:
        self.engine = engine
        self.backlog_limit = backlog_limit
        # At most this many entries are unclaimed: the last count plus what this writer
        # committed since. While it stays within the limit, no count is needed, so
        # the commit path has no extra round trip when the workers keep up.
        self._unclaimed_bound = 0
        self._counted_at = -math.inf
        self._queue: queue.SimpleQueue[tuple[dict[str, Any], Future[int]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._thread.start()

    def submit(self, channel: str, envelope: dict[str, Any], body: bytes,
               tenant_id: int | None = None) -> Future[int]:
        future: Future[int] = Future()
        self._queue.put(({"tenant_id": tenant_id, "channel": channel, "envelope": json.dumps(envelope),
                          "body": body, "state": "pending", "attempts": 0, "lease_until": None,
                          "processed_at": None, "result": None}, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            try:
                self._admit(len(batch))
                received = utcnow()
                with self.engine.begin() as conn:
                    ids = conn.execute(
                        SPOOL.insert().returning(SPOOL.c.id, sort_by_parameter_order=True),
                        [{**row, "received_at": received} for row, _ in batch]).scalars().all()
            except Exception as exc:  # each caller answers "try again later"; nothing was stored
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), entry_id in zip(batch, ids, strict=True):
                future.set_result(int(entry_id))


    def _admit(self, incoming: int) -> None:
        if self.backlog_limit <= 0:
            return
        now = time.monotonic()
        if (self._unclaimed_bound + incoming > self.backlog_limit
                or now - self._counted_at >= self.RECOUNT_SECONDS):
            deadline = now + self.MAX_HOLD
            while True:
                self._unclaimed_bound = unclaimed(self.engine)
                self._counted_at = time.monotonic()
                if self._unclaimed_bound <= self.backlog_limit or self._counted_at >= deadline:
                    break
                time.sleep(self.HOLD_STEP)
        self._unclaimed_bound += incoming


def unclaimed(engine: Engine) -> int:
    """Entries no worker has taken yet. Those being processed are left out: holding
    senders while a worker is at its batch would leave it only a few for the next."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SPOOL)
                                .where(SPOOL.c.state == "pending")).scalar_one())


def claim(engine: Engine, limit: int, lease: timedelta, now: datetime | None = None) -> list[int]:
    """Take up to ``limit`` entries that are pending or whose worker's lease ran out."""
    now = now or utcnow()
    # Written so the (state, id) index finds the claimable entries without reading
    # past the processed ones, which stay in the spool.
    ready = (SPOOL.c.state.in_(("pending", "processing"))
             & ((SPOOL.c.state == "pending") | (SPOOL.c.lease_until < now)))
    with engine.begin() as conn:
        query = select(SPOOL.c.id).where(ready).order_by(SPOOL.c.id).limit(limit)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        else:
            # SQLite has one writer at a time; writing first takes that lock for the claim.
            conn.execute(update(SPOOL).where(SPOOL.c.id == -1).values(state="pending"))
        ids = [int(i) for i in conn.execute(query).scalars()]
        if ids:
            conn.execute(update(SPOOL).where(SPOOL.c.id.in_(ids)).values(
                state="processing", lease_until=now + lease, attempts=SPOOL.c.attempts + 1))
    return ids


def requeue(engine: Engine, ids: Sequence[int]) -> int:
    """Put entries back to be processed again (after the parser improved, say)."""
    with engine.begin() as conn:
        return int(conn.execute(update(SPOOL).where(SPOOL.c.id.in_(list(ids)),
                                                    SPOOL.c.state.in_(("unrecognised", "done")))
                                .values(state="pending", lease_until=None, attempts=0)).rowcount)


def entries(engine: Engine, state: str, tenant_id: int | None = None, limit: int = 100,
            after_id: int | None = None) -> list[Any]:
    query = select(SPOOL.c.id, SPOOL.c.tenant_id, SPOOL.c.channel, SPOOL.c.envelope, SPOOL.c.state,
                   SPOOL.c.attempts, SPOOL.c.received_at, SPOOL.c.processed_at, SPOOL.c.result,
                   func.length(SPOOL.c.body).label("size")).where(SPOOL.c.state == state)
    if tenant_id is not None:
        query = query.where((SPOOL.c.tenant_id == tenant_id) | SPOOL.c.tenant_id.is_(None))
    if after_id is not None:
        query = query.where(SPOOL.c.id > after_id)
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(SPOOL.c.id).limit(limit)).all())


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(SPOOL.c.state, func.count()).group_by(SPOOL.c.state))
        return {str(state): int(n) for state, n in rows}


def result_of(engine: Engine, entry_id: int) -> str | None:
    with engine.connect() as conn:
        value = conn.execute(select(SPOOL.c.result).where(SPOOL.c.id == entry_id)).scalar()
    return None if value is None else str(value)


def raw_of(engine: Engine, entry_id: int, tenant_id: int) -> bytes:
    """The raw input of an entry of this tenant (or of no tenant yet)."""
    with engine.connect() as conn:
        body = conn.execute(select(SPOOL.c.body).where(
            SPOOL.c.id == entry_id,
            (SPOOL.c.tenant_id == tenant_id) | SPOOL.c.tenant_id.is_(None))).scalar()
    if body is None:
        raise NotFound(f"no spool entry {entry_id}")
    return bytes(body)
