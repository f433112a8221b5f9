"""The gate's in-memory index of one tenant's active suppressions: cheap enough to ask
on every recipient of every send.

The bulk is fixed-width columns in numpy arrays sorted by a 64-bit hash of the
canonical address: hash, scope number and expiry, 14 bytes a suppression. A batch
check hashes the addresses and looks them all up with one ``searchsorted``. Python's
own string hash is used: fast, and its per-process seed does not matter to an index
that lives in one process. A hash match can only err one way: an allowed address that
shares all 64 bits with a suppressed one would be refused (about one check in 10^12
against ten million suppressions); a suppressed address is never let through.

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

from postwarden.address import CANONICAL, normalize
from postwarden.errors import InvalidAddress

NEVER = 0xFFFFFFFF


@dataclass(frozen=True)
class Active:
    """One active suppression of an address, as far as the gate needs it."""

    scope: str
    expires_at: datetime | None


def _seconds(value: datetime | None) -> int:
    return NEVER if value is None else int(value.replace(tzinfo=UTC).timestamp())


def canonical(raw: str) -> str | None:
    """The canonical form (the common case inline, the rest by `normalize`), or None
    for something that is not an address."""
    text = raw.strip().lower()
    if CANONICAL.match(text):
        return text
    try:
        return normalize(raw)
    except InvalidAddress:
        return None


class SuppressionIndex:
    def __init__(self) -> None:
        self._scopes: dict[str, int] = {"*": 0}
        self._keys: npt.NDArray[np.int64] = np.empty(0, np.int64)
        self._scope: npt.NDArray[np.uint16] = np.empty(0, np.uint16)
        self._until: npt.NDArray[np.uint32] = np.empty(0, np.uint32)
        self._overlay: dict[str, list[Active]] = {}

    def _scope_id(self, scope: str) -> int:
        return self._scopes.setdefault(scope, len(self._scopes))

    def load(self, rows: Iterable[tuple[str, str, datetime | None]]) -> None:
        """Replace the contents with ``(canonical address, scope, expires_at)`` rows."""
        # Typed buffers: ten million rows take 140 MB here, not gigabytes of Python ints.
        keys, scopes, until = array("q"), array("H"), array("I")
        for address, scope, expires_at in rows:
            keys.append(hash(address))
            scopes.append(self._scope_id(scope))
            until.append(_seconds(expires_at))
        self._set(np.frombuffer(keys, np.int64), np.frombuffer(scopes, np.uint16),
                  np.frombuffer(until, np.uint32))

    def _set(self, keys: npt.NDArray[np.int64], scopes: npt.NDArray[np.uint16],
             until: npt.NDArray[np.uint32]) -> None:
        order = np.argsort(keys, kind="stable")
        self._keys, self._scope, self._until = keys[order], scopes[order], until[order]
        self._overlay = {}

    def update(self, address: str, active: Sequence[Active]) -> None:
        """The complete current state of one (canonical) address, after a change."""
        self._overlay[address] = list(active)

    def compact(self) -> None:
        """Fold the overlay into the arrays (after many changes)."""
        changed = np.array([hash(a) for a in self._overlay], np.int64)
        keep = ~np.isin(self._keys, changed)
        extra = [(a, s) for a, rows in self._overlay.items() for s in rows]
        self._set(np.concatenate([self._keys[keep], np.array([hash(a) for a, _ in extra], np.int64)]),
                  np.concatenate([self._scope[keep],
                                  np.array([self._scope_id(s.scope) for _, s in extra], np.uint16)]),
                  np.concatenate([self._until[keep],
                                  np.array([_seconds(s.expires_at) for _, s in extra], np.uint32)]))

    def __len__(self) -> int:
        return len(self._keys) + sum(len(rows) for rows in self._overlay.values())

    @property
    def nbytes(self) -> int:
        return self._keys.nbytes + self._scope.nbytes + self._until.nbytes

    def suppressed(self, addresses: Sequence[str], scope: str = "*",
                   now: datetime | None = None) -> list[int]:
        """Positions in ``addresses`` that may not be sent to on ``scope``; something
        that is not an address is among them."""
        clock = _seconds(now or datetime.now(UTC).replace(tzinfo=None))
        match = CANONICAL.match
        lowered = [raw.strip().lower() for raw in addresses]
        # The common case inline: this is the gate's hot path.
        texts = [low if match(low) else canonical(raw)
                 for low, raw in zip(lowered, addresses, strict=True)]
        hit = self._array_hits(np.fromiter(map(hash, texts), np.int64, len(texts)), scope, clock)
        if self._overlay or None in texts:
            for n, text in enumerate(texts):
                if text is None:
                    hit[n] = True
                elif text in self._overlay:
                    hit[n] = any(a.scope in ("*", scope) and _seconds(a.expires_at) > clock
                                 for a in self._overlay[text])
        positions: list[int] = np.flatnonzero(hit).tolist()
        return positions

    def _array_hits(self, keys: npt.NDArray[np.int64], scope: str, clock: int) -> npt.NDArray[np.bool_]:
        size = len(self._keys)
        if not size:
            return np.zeros(len(keys), np.bool_)
        scope_id = self._scopes.get(scope, 0)

        def applies(rows: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
            scopes = self._scope[rows]
            ok: npt.NDArray[np.bool_] = ((scopes == 0) | (scopes == scope_id)) & (self._until[rows] > clock)
            return ok

        # Probing in key order walks the sorted array once instead of jumping about in
        # it: at ten million keys that is four times faster (cache misses).
        order = np.argsort(keys)
        in_order = np.minimum(np.searchsorted(self._keys, keys[order]), size - 1)
        position = np.empty(len(keys), np.intp)
        position[order] = in_order
        same: npt.NDArray[np.bool_] = np.empty(len(keys), np.bool_)
        same[order] = self._keys[in_order] == keys[order]
        hit: npt.NDArray[np.bool_] = np.empty(len(keys), np.bool_)
        hit[order] = same[order] & applies(in_order)
        # An address with several rows (scopes) has them side by side: look past the first.
        following = same & ~hit & (position + 1 < size)
        for n in np.flatnonzero(following).tolist():
            row = int(position[n]) + 1
            while row < size and self._keys[row] == keys[n]:
                if applies(np.array([row], np.intp))[0]:
                    hit[n] = True
                    break
                row += 1
        return hit
