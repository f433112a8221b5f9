"""The gate's in-memory index of one tenant's active suppressions: cheap enough to ask
on every recipient of every send.

The bulk is fixed-width columns in numpy arrays sorted by a 64-bit hash of the
canonical address: hash, scope, reason class, bounce reason, since and until, 20 bytes
a suppression. A batch check hashes the addresses and probes the sorted keys in key
order (one pass over the array rather than a cache miss per address). Python's own
string hash is used: fast, and its per-process seed does not matter to an index that
lives in one process. A hash match can only err one way: an allowed address that
shares all 64 bits with a suppressed one would be reported suppressed (about one check
in 10^12 against ten million suppressions); a suppressed address is never let through.

Changes (from the ledger's audit log, which orders every change by sequence number)
go to an overlay that holds, for each changed address, its complete current state and
overrides the arrays; :meth:`SuppressionIndex.compact` folds it in."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from postwarden.address import canonical_all
from postwarden.ledger.policy import REASON_CLASSES

NEVER = 0xFFFFFFFF
UNKNOWN = -1  # a suppressed position whose details the index cannot give alone


@dataclass(frozen=True)
class Active:
    """One active suppression of an address, as the gate keeps it."""

    scope: str
    reason_class: str
    reason: str | None
    since: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Found:
    """Why a checked address is suppressed, from the index alone."""

    scope: str
    reason_class: str
    reason: str | None
    since: datetime
    expires_at: datetime | None


def _seconds(value: datetime | None) -> int:
    return NEVER if value is None else int(value.replace(tzinfo=UTC).timestamp())


def _datetime(seconds: int) -> datetime | None:
    return None if seconds == NEVER else datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


class _Names:
    """Small vocabularies (scopes, bounce reasons) stored as numbers."""

    def __init__(self, *first: str | None) -> None:
        self.ids: dict[str | None, int] = {}
        self.names: list[str | None] = []
        for name in first:
            self.id(name)

    def id(self, name: str | None) -> int:
        if name not in self.ids:
            self.ids[name] = len(self.names)
            self.names.append(name)
        return self.ids[name]


class SuppressionIndex:
    def __init__(self) -> None:
        self._scopes = _Names("*")
        self._reasons = _Names(None)
        self._keys: npt.NDArray[np.int64] = np.empty(0, np.int64)
        self._scope: npt.NDArray[np.uint16] = np.empty(0, np.uint16)
        self._class: npt.NDArray[np.uint8] = np.empty(0, np.uint8)
        self._reason: npt.NDArray[np.uint8] = np.empty(0, np.uint8)
        self._since: npt.NDArray[np.uint32] = np.empty(0, np.uint32)
        self._until: npt.NDArray[np.uint32] = np.empty(0, np.uint32)
        self._overlay: dict[str, list[Active]] = {}

    # ---- contents ------------------------------------------------------------------------

    def load(self, rows: Iterable[tuple[str, Active]]) -> None:
        """Replace the contents with ``(canonical address, suppression)`` rows."""
        # Typed buffers: ten million rows take 200 MB here, not gigabytes of Python ints.
        columns = {name: array(code) for name, code in
                   (("keys", "q"), ("scope", "H"), ("class", "B"), ("reason", "B"), ("since", "I"),
                    ("until", "I"))}
        classes = {name: n for n, name in enumerate(REASON_CLASSES)}
        ids: dict[tuple[str, str, str | None], tuple[int, int, int]] = {}
        keys, scope, cls, reason = columns["keys"], columns["scope"], columns["class"], columns["reason"]
        since, until = columns["since"], columns["until"]
        for address, row in rows:
            kind = (row.scope, row.reason_class, row.reason)
            if kind not in ids:
                ids[kind] = (self._scopes.id(row.scope), classes[row.reason_class],
                             min(self._reasons.id(row.reason), 255))
            scope_id, class_id, reason_id = ids[kind]
            keys.append(hash(address))
            scope.append(scope_id)
            cls.append(class_id)
            reason.append(reason_id)
            since.append(_seconds(row.since))
            until.append(_seconds(row.expires_at))
        self._set(*(np.frombuffer(columns[name], dtype) for name, dtype in (
            ("keys", np.int64), ("scope", np.uint16), ("class", np.uint8), ("reason", np.uint8),
            ("since", np.uint32), ("until", np.uint32))))

    def _set(self, *columns: npt.NDArray[np.generic]) -> None:
        order = np.argsort(columns[0], kind="stable")
        (self._keys, self._scope, self._class, self._reason, self._since,
         self._until) = (c[order] for c in columns)  # type: ignore[assignment]
        self._overlay = {}

    def update(self, address: str, active: Sequence[Active]) -> None:
        """The complete current state of one (canonical) address, after a change."""
        self._overlay[address] = list(active)

    def compact(self) -> None:
        """Fold the overlay into the arrays (after many changes)."""
        keep = ~np.isin(self._keys, np.array([hash(a) for a in self._overlay], np.int64))
        kept = [c[keep] for c in (self._keys, self._scope, self._class, self._reason, self._since,
                                  self._until)]
        extra = SuppressionIndex()
        extra._scopes, extra._reasons = self._scopes, self._reasons
        extra.load((a, row) for a, rows in self._overlay.items() for row in rows)
        added = (extra._keys, extra._scope, extra._class, extra._reason, extra._since, extra._until)
        self._set(*(np.concatenate([old, new]) for old, new in zip(kept, added, strict=True)))

    def __len__(self) -> int:
        return len(self._keys) + sum(len(rows) for rows in self._overlay.values())

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in (self._keys, self._scope, self._class, self._reason, self._since,
                                      self._until))

    # ---- asking --------------------------------------------------------------------------

    def suppressed(self, addresses: Sequence[str], scope: str = "*",
                   now: datetime | None = None) -> list[int]:
        """Positions in ``addresses`` that may not be sent to on ``scope``; something
        that is not an address is among them."""
        texts = canonical_all(addresses)
        clock, (hit, _, _) = self._probe(texts, scope, now)
        if not self._overlay and None not in texts:
            positions: list[int] = np.flatnonzero(hit).tolist()
            return positions
        found = dict.fromkeys(np.flatnonzero(hit).tolist(), UNKNOWN)
        return list(self._with_overlay(found, texts, scope, clock))

    def lookup(self, texts: Sequence[str | None], scope: str = "*",
               now: datetime | None = None) -> list[tuple[int, Found | None]]:
        """``(position, why)`` for each address that may not be sent to, given the
        addresses in canonical form (``address.canonical_all``; None for what is not an
        address), which the caller keeps for its answers. ``why`` is None where the
        index cannot say alone: several suppressions of one address, a recent change, or
        not an address at all."""
        clock, (hit, row, alone) = self._probe(texts, scope, now)
        positions = np.flatnonzero(hit)
        rows = np.where(alone[positions], row[positions], UNKNOWN)
        found = dict(zip(positions.tolist(), rows.tolist(), strict=True))
        if self._overlay or None in texts:
            found = self._with_overlay(found, texts, scope, clock)
        return [(n, self._found(r) if r != UNKNOWN else None) for n, r in found.items()]

    def _probe(self, texts: Sequence[str | None], scope: str, now: datetime | None) -> tuple[
            int, tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp], npt.NDArray[np.bool_]]]:
        clock = _seconds(now or datetime.now(UTC).replace(tzinfo=None))
        keys = np.fromiter(map(hash, texts), np.int64, len(texts))
        return clock, self._array_hits(keys, scope, clock)

    def _with_overlay(self, found: dict[int, int], texts: Sequence[str | None], scope: str,
                      clock: int) -> dict[int, int]:
        """``found`` corrected by the overlay and for non-addresses, in position order."""
        for n, text in enumerate(texts):
            if text is None:
                found[n] = UNKNOWN
            elif text in self._overlay:
                found.pop(n, None)
                if any(a.scope in ("*", scope) and _seconds(a.expires_at) > clock
                       for a in self._overlay[text]):
                    found[n] = UNKNOWN
        return dict(sorted(found.items()))

    def _found(self, row: int) -> Found:
        return Found(scope=str(self._scopes.names[int(self._scope[row])]),
                     reason_class=REASON_CLASSES[int(self._class[row])],
                     reason=self._reasons.names[int(self._reason[row])],
                     since=_datetime(int(self._since[row])) or datetime.min,
                     expires_at=_datetime(int(self._until[row])))

    def _array_hits(self, keys: npt.NDArray[np.int64], scope: str, clock: int
                    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
        """Per key: suppressed?, the array row found, and whether that row is the
        address's only one (so its details are the answer)."""
        size = len(keys)
        hit: npt.NDArray[np.bool_] = np.zeros(size, np.bool_)
        row: npt.NDArray[np.intp] = np.zeros(size, np.intp)
        alone: npt.NDArray[np.bool_] = np.zeros(size, np.bool_)
        stored = len(self._keys)
        if not stored:
            return hit, row, alone
        scope_id = self._scopes.ids.get(scope, 0)

        def applies(rows: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
            scopes = self._scope[rows]
            ok: npt.NDArray[np.bool_] = ((scopes == 0) | (scopes == scope_id)) & (self._until[rows] > clock)
            return ok

        # Probing in key order walks the sorted array once instead of jumping about in
        # it: at ten million keys that is four times faster (cache misses).
        order = np.argsort(keys)
        first = np.minimum(np.searchsorted(self._keys, keys[order]), stored - 1)
        same = self._keys[first] == keys[order]
        following = np.minimum(first + 1, stored - 1)
        several = same & (first + 1 < stored) & (self._keys[following] == keys[order])
        row[order] = first
        hit[order] = same & applies(first)
        alone[order] = same & ~several
        several_here = np.empty(size, np.bool_)
        several_here[order] = several
        # An address with several rows (scopes, classes) has them side by side.
        for n in np.flatnonzero(~hit & several_here).tolist():
            at = int(row[n]) + 1
            while at < stored and self._keys[at] == keys[n]:
                if applies(np.array([at], np.intp))[0]:
                    hit[n] = True
                    break
                at += 1
        return hit, row, alone
