"""The send-time check: a tenant's ledger held in memory and kept current.

Every change to a suppression writes an audit entry with the next sequence number, so
the audit chain is also the change feed: before answering, the gate reads the tenant's
newest sequence number (one small query) and, if it moved, takes the changed
addresses' current state from the ledger. A change made by any process is therefore
enforced by the next check in every process."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence

from postwarden.gate.index import Active, SuppressionIndex, canonical
from postwarden.ledger import CheckResult, Ledger

# Fold the overlay into the arrays once this many addresses changed since the last fold.
COMPACT_AFTER = 10_000


class Gate:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.index = SuppressionIndex()
        self._lock = threading.Lock()
        # Read the sequence before the rows: a change in between is then applied again
        # by the first refresh, which is harmless (it sets the address's whole state).
        self.seq = ledger.change_sequence()
        self.index.load(ledger.active())
        self._changed = 0

    def refresh(self) -> None:
        if self.ledger.change_sequence() == self.seq:
            return
        with self._lock:
            seq, addresses = self.ledger.changed_since(self.seq)
            state: dict[str, list[Active]] = defaultdict(list)
            for address, scope, expires_at in self.ledger.active(addresses):
                state[address].append(Active(scope, expires_at))
            for address in addresses:
                self.index.update(address, state.get(address, []))
            self.seq = seq
            self._changed += len(addresses)
            if self._changed >= COMPACT_AFTER:
                self.index.compact()
                self._changed = 0

    def check(self, addresses: Sequence[str], scope: str = "*") -> list[CheckResult]:
        """As :meth:`Ledger.check`: one result per input, in order. Only the suppressed
        few go to the database, for the details of why."""
        scope = self.ledger.valid_scope(scope)
        self.refresh()
        with self._lock:
            blocked = self.index.suppressed(addresses, scope)
        details = iter(self.ledger.check([addresses[n] for n in blocked], scope))
        blocked_set = set(blocked)
        results = []
        for n, raw in enumerate(addresses):
            if n in blocked_set:
                results.append(next(details))
            else:
                results.append(CheckResult(canonical(raw) or raw.strip(), "allowed"))
        return results
