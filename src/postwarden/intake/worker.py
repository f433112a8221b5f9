"""The intake worker: takes spooled input, parses it, and applies it to the ledger.
Each entry is processed in one transaction together with its spool state, so an
entry is either wholly applied and marked done, or not at all."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, bindparam, select, update

from postwarden import settings as settings_mod
from postwarden.errors import NotFound, PostwardenError
from postwarden.intake import spool
from postwarden.intake.routing import Route, route
from postwarden.intake.translate import feedback_from
from postwarden.ledger import Feedback, Ledger
from postwarden.ledger.models import SPOOL
from postwarden.ledger.secrets import token_key
from postwarden.ledger.service import FeedbackBatch, Outcome, utcnow
from postwarden.ledger.tenants import tenant_name, tenant_names
from postwarden.parse import parse_message
from postwarden.reports import dmarc
from postwarden.reports.service import ReportsTicker
from postwarden.tokens import (
    BadToken,
    VerpRef,
    unsubscribe_decode,
    verp_decode,
)

log = logging.getLogger("postwarden.intake")

MAX_ATTEMPTS = 5
# Entries applied per transaction: fewer commits, and one tenant lock for the lot.
TRANSACTION_SIZE = 50


@dataclass
class EntryResult:
    state: str  # done / unrecognised
    queued: int = 0  # feedback handed to the ledger, applied when the transaction ends
    notes: list[str] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    kind: str | None = None

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "notes": self.notes, "outcomes": self.outcomes})


class Wakeable(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class IntakeWorker:
    def __init__(self, engine: Engine, settings: settings_mod.Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.key = token_key(engine, settings)
        self._ledgers: dict[int | str, Ledger] = {}
        self.wake = threading.Event()
        self.reports = ReportsTicker(engine, settings)
        # Load the decoders and compile their tables now, not while the first message waits.
        parse_message(b"")

    def warm_up(self) -> None:
        """Open the database connection, prepare the claim and take the intake
        tenant's ledger now, not while the first message waits; nothing is claimed."""
        spool.claim(self.engine, 0, timedelta(seconds=float(self.settings.worker_lease_seconds)))
        with contextlib.suppress(NotFound):  # a tenant made later is taken when first needed
            self.ledger(str(self.settings.intake_tenant))

    def ledger(self, tenant: int | str) -> Ledger:
        if tenant not in self._ledgers:
            name = tenant if isinstance(tenant, str) else tenant_name(self.engine, tenant)
            self._ledgers[tenant] = Ledger(self.engine, name, self.settings)
        return self._ledgers[tenant]

    # ---- running ------------------------------------------------------------------------

    def run_once(self, batch: int = 100) -> int:
        """Process what is ready now; the number of entries taken."""
        ids = spool.claim(self.engine, batch, timedelta(seconds=float(self.settings.worker_lease_seconds)))
        for start in range(0, len(ids), TRANSACTION_SIZE):
            self.process_many(ids[start:start + TRANSACTION_SIZE])
        return len(ids)

    def run_forever(self, stop: threading.Event, on_idle: Callable[[], None] | None = None,
                    wake: Wakeable | None = None) -> None:
        """Work until ``stop`` is set; when idle, wait for ``wake`` (set by whoever
        spools new input) or the poll interval, whichever comes first."""
        wake = wake or self.wake
        poll = float(self.settings.worker_poll_seconds)
        sweep_every = float(self.settings.expiry_sweep_seconds)
        swept = time.monotonic()
        while not stop.is_set():
            wake.clear()
            if time.monotonic() - swept >= sweep_every:
                swept = time.monotonic()
                self.sweep_expired()
            self.reports.tick()
            try:
                taken = self.run_once()
            except Exception:  # the worker outlives a database hiccup; the spool keeps the input
                log.exception("intake worker: claiming spool entries failed; retrying")
                taken = 0
            if taken == 0:
                if on_idle:
                    on_idle()
                wake.wait(poll)

    def sweep_expired(self) -> int:
        """Lift every tenant's suppressions whose expiry has passed, each logged."""
        lifted = 0
        try:
            for name in tenant_names(self.engine):
                lifted += self.ledger(name).expire_due()
        except Exception:  # the sweep is tidying, not enforcement: checks ignore expired rows
            log.exception("intake worker: sweeping expired suppressions failed; trying again later")
        return lifted

    def process_many(self, ids: list[int]) -> None:
        """Process claimed entries in one transaction; if that fails, one by one, so a
        single bad entry holds up nobody else."""
        try:
            self._transaction(ids)
        except Exception:
            if len(ids) == 1:
                log.exception("intake worker: entry %s failed", ids[0])
                self._failed(ids[0], sys.exc_info()[1])
                return
            for entry_id in ids:
                self.process_many([entry_id])

    def process(self, entry_id: int) -> None:
        self.process_many([entry_id])

    def _transaction(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            tx = _Tx(conn, self)
            rows = conn.execute(select(SPOOL).where(SPOOL.c.id.in_(ids), SPOOL.c.state == "processing")
                                .order_by(SPOOL.c.id)).all()
            done = []
            results = [(row.id, self._process(tx, row)) for row in rows]
            tx.apply()
            for entry_id, result in results:
                if result.queued and not result.outcomes:
                    result.state = "unrecognised"
                done.append({"entry_id": entry_id, "state": result.state, "result": result.to_json()})
            if done:
                conn.execute(update(SPOOL).where(SPOOL.c.id == bindparam("entry_id")).values(
                    state=bindparam("state"), result=bindparam("result"), processed_at=utcnow(),
                    lease_until=None), done)

    def _failed(self, entry_id: int, exc: BaseException | None) -> None:
        """Retry later; after MAX_ATTEMPTS keep it as unrecognised, never drop it."""
        with self.engine.begin() as conn:
            attempts = conn.execute(select(SPOOL.c.attempts).where(SPOOL.c.id == entry_id)).scalar_one()
            final = attempts >= MAX_ATTEMPTS
            conn.execute(update(SPOOL).where(SPOOL.c.id == entry_id).values(
                state="unrecognised" if final else "pending", lease_until=None,
                result=json.dumps({"kind": None, "outcomes": [],
                                   "notes": [f"processing failed (attempt {attempts}): {exc}"]})))

    # ---- one entry ----------------------------------------------------------------------

    def _process(self, tx: _Tx, row: Any) -> EntryResult:
        result = EntryResult("done")
        if row.channel == "smtp":
            self._process_mail(tx, json.loads(row.envelope), bytes(row.body), result)
        elif row.channel == "import":
            envelope = json.loads(row.envelope)
            self._process_parsed(tx, bytes(row.body), None, envelope.get("tenant_id"),
                                 f"import:{envelope.get('source', '')}"[:200], result)
        else:
            result.notes.append(f"no processor for channel {row.channel!r}")
        if not result.queued:
            result.state = "unrecognised"
        return result

    def _process_mail(self, tx: _Tx, envelope: dict[str, Any], raw: bytes, result: EntryResult) -> None:
        routes = [r for r in (route(a, self.settings.intake_domain) for a in envelope.get("rcpt_tos", []))
                  if r is not None]
        verp: VerpRef | None = None
        for r in routes:
            if r.role == "unsubscribe":
                self._unsubscribe_by_mail(tx, r, raw, result)
            elif r.role == "dmarc":
                self._dmarc_report(tx, raw, result)
            elif r.role == "verp" and verp is None:
                try:
                    verp = verp_decode(self.key, r.address, local="bounces")
                except BadToken as exc:
                    log.warning("intake: ignoring VERP token of %s: %s", r.address, exc.message)
                    result.notes.append(f"VERP token ignored: {exc.message}")
        if any(r.role in ("bounce", "verp", "fbl") for r in routes):
            role = "fbl" if any(r.role == "fbl" for r in routes) else "bounce"
            self._process_parsed(tx, raw, verp, verp.tenant_id if verp else None, f"smtp:{role}", result)

    def _process_parsed(self, tx: _Tx, raw: bytes, verp: VerpRef | None, tenant_id: int | None,
                        source: str, result: EntryResult) -> None:
        parsed = parse_message(raw)
        result.kind = parsed.kind
        if verp is None and parsed.original is not None and parsed.original.envelope_sender:
            # A redacted complaint (RFC 6590) names no recipient; the reported message's
            # return path does, when it is one of our VERP addresses.
            r = route(parsed.original.envelope_sender, self.settings.intake_domain)
            if r is not None and r.role == "verp":
                try:
                    verp = verp_decode(self.key, r.address, local="bounces")
                    tenant_id = verp.tenant_id if tenant_id is None else tenant_id
                except BadToken as exc:
                    result.notes.append(f"VERP token of the reported message ignored: {exc.message}")
        if parsed.error:
            result.notes.append(f"parser: {parsed.error}")
        feedbacks = feedback_from(parsed, raw, verp, source)
        if not feedbacks:
            result.notes.append(f"no delivery-status records (kind {parsed.kind})")
        tenant: int | str = tenant_id if tenant_id is not None else str(self.settings.intake_tenant)
        for feedback in feedbacks:
            self._apply(tx, tenant, feedback, result)

    def _dmarc_report(self, tx: _Tx, raw: bytes, result: EntryResult) -> None:
        """A DMARC aggregate report mailed to dmarc@, stored for the intake tenant in
        this entry's transaction; one that cannot be read stays as unrecognised."""
        tenant_id = self.ledger(str(self.settings.intake_tenant)).tenant_id
        try:
            found = dmarc.ingest(tx.conn, tenant_id, raw, "smtp:dmarc", utcnow(),
                                 int(self.settings.dmarc_max_bytes))
        except dmarc.DmarcRefused as exc:
            result.notes.append(f"DMARC report refused: {exc.message}")
            return
        result.kind = "dmarc"
        result.queued += 1
        result.outcomes.append({"dmarc": {"stored": found.stored, "duplicates": found.duplicates,
                                          "records": found.records}})

    def _unsubscribe_by_mail(self, tx: _Tx, r: Route, raw: bytes, result: EntryResult) -> None:
        assert r.token is not None
        try:
            ref = unsubscribe_decode(self.key, r.token)
        except BadToken as exc:
            log.warning("intake: ignoring unsubscribe mail to %s: %s", r.address, exc.message)
            result.notes.append(f"unsubscribe token ignored: {exc.message}")
            return
        feedback = Feedback(address=ref.recipient, kind="unsubscribe", source="mailto", scope=ref.scope,
                            raw=raw, details={"list_unsubscribe": "mailto"})
        self._apply(tx, ref.tenant_id, feedback, result)

    @staticmethod
    def _apply(tx: _Tx, tenant: int | str, feedback: Feedback, result: EntryResult) -> None:
        tx.pending.setdefault(tenant, []).append((feedback, result))
        result.queued += 1

class _Tx:
    """One worker transaction. Feedback from all its entries is applied per tenant in
    one batch at the end, so the ledger sees a few large statements, not many small."""

    def __init__(self, conn: Connection, worker: IntakeWorker) -> None:
        self.conn = conn
        self.worker = worker
        self.pending: dict[int | str, list[tuple[Feedback, EntryResult]]] = {}

    def apply(self) -> None:
        for tenant, items in self.pending.items():
            ledger = self.worker.ledger(tenant)
            with ledger.batch(self.conn) as batch:
                outcomes: list[Outcome | None]
                try:
                    outcomes = list(batch.apply_all([feedback for feedback, _ in items]))
                except PostwardenError:
                    # A piece the ledger refuses (say an address it cannot read) must not
                    # hold up the rest: apply one by one and note the refusals.
                    outcomes = [self._one(batch, feedback, result) for feedback, result in items]
            for (feedback, result), outcome in zip(items, outcomes, strict=True):
                if outcome is not None:
                    result.outcomes.append({
                        "tenant": ledger.tenant_name, "address": outcome.address, "kind": feedback.kind,
                        "effect": outcome.effect, "reason": feedback.reason,
                        "reason_class": outcome.reason_class})

    @staticmethod
    def _one(batch: FeedbackBatch, feedback: Feedback, result: EntryResult) -> Outcome | None:
        try:
            return batch.apply(feedback)
        except PostwardenError as exc:
            result.notes.append(f"{feedback.address}: {exc.message}")
            return None
