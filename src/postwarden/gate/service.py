"""The send-time check: a tenant's ledger held in memory and kept current.

Every change to a suppression writes an audit entry with the next sequence number, so
the audit chain is also the change feed: the gate reads the tenant's newest sequence
number (one small query) and, if it moved, takes the changed addresses' current state
from the ledger. It looks at most every ``MAX_AGE`` seconds, and at once after a write
through its own ledger: a change is enforced by the next check in this process and
within ``MAX_AGE`` in every other."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from postwarden.address import canonical_all
from postwarden.gate.index import Active, SuppressionIndex
from postwarden.ledger import CheckResult, Ledger

log = logging.getLogger(__name__)

# Fold the overlay into the arrays once this many addresses changed since the last fold.
COMPACT_AFTER = 10_000
# How stale the gate may be about changes made by other processes (issue 5 asks for 1 s).
MAX_AGE = 0.2


class Gate:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.index = SuppressionIndex()
        self._lock = threading.Lock()
        # Read the sequence before the rows: a change in between is then applied again
        # by the first refresh, which is harmless (it sets the address's whole state).
        self.seq = ledger.change_sequence()
        self.index.load((row[0], _active(row)) for row in ledger.active())
        self._changed = 0
        self._looked_at = time.monotonic()
        self._writes_seen = ledger.writes
        self._refreshing = threading.Lock()
        self._pending: asyncio.Future[None] | None = None

    def _due(self) -> bool:
        return time.monotonic() - self._looked_at >= MAX_AGE

    def refresh(self) -> None:
        """Look for changes if one is due or this process wrote since the last look."""
        with self._refreshing:
            if self._due() or self.ledger.writes != self._writes_seen:
                self._refresh()

    def _refresh(self) -> None:
        self._looked_at, self._writes_seen = time.monotonic(), self.ledger.writes
        if self.ledger.change_sequence() == self.seq:
            return
        with self._lock:
            seq, addresses = self.ledger.changed_since(self.seq)
            state: dict[str, list[Active]] = defaultdict(list)
            for row in self.ledger.active(addresses):
                state[row[0]].append(_active(row))
            for address in addresses:
                self.index.update(address, state.get(address, []))
            self.seq = seq
            self._changed += len(addresses)
            if self._changed >= COMPACT_AFTER:
                self.index.compact()
                self._changed = 0

    async def check_soon(self, addresses: Sequence[str], scope: str = "*") -> list[CheckResult]:
        """As :meth:`check`, for an event loop, which must never wait on the database
        for a check: a look that is due runs in a thread while this answers from the
        index as it stands (then at most ``MAX_AGE`` and one query behind). A write
        through this process's own ledger is waited for, so it is seen at once."""
        if self.ledger.writes != self._writes_seen:
            await asyncio.to_thread(self.refresh)
        elif self._due() and self._pending is None:
            self._pending = asyncio.ensure_future(asyncio.to_thread(self.refresh))
            self._pending.add_done_callback(self._refreshed)
        return self.check(addresses, scope, refresh=False)

    def _refreshed(self, done: asyncio.Future[None]) -> None:
        self._pending = None
        if not done.cancelled() and (problem := done.exception()) is not None:
            # The next look tries again; a check is not failed for it.
            log.warning("the gate could not look for changes in the ledger: %s", problem)

    def check(self, addresses: Sequence[str], scope: str = "*", *, refresh: bool = True
              ) -> list[CheckResult]:
        """As :meth:`Ledger.check`: one result per input, in order. The database is asked
        only about suppressed addresses the index cannot explain alone (several
        suppressions, a change since the last fold, not an address)."""
        scope = self.ledger.valid_scope(scope)
        if refresh:
            self.refresh()
        texts = canonical_all(addresses)
        with self._lock:
            found = self.index.lookup(texts, scope)
        unexplained = [n for n, why in found if why is None]
        details = dict(zip(unexplained, self.ledger.check([addresses[n] for n in unexplained], scope),
                           strict=True)) if unexplained else {}
        results = [CheckResult(text or raw.strip(), "allowed")
                   for text, raw in zip(texts, addresses, strict=True)]
        for n, why in found:
            if why is None:
                results[n] = details[n]
            else:
                rule, explanation = self.ledger.lift_rule(why.reason_class)
                results[n] = CheckResult(results[n].address, "suppressed", why.reason_class, why.reason,
                                         why.scope, why.since, why.expires_at, rule, explanation)
        return results


def _active(row: tuple[Any, ...]) -> Active:
    _, scope, reason_class, reason, since, expires_at = row
    return Active(scope, reason_class, reason, since, expires_at)
