"""What one more suppressing event does to a stored suppression: pure. The ledger
reads the row, asks :func:`plan`, writes the values and logs the action; a batch
plans many events against rows it read at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Stored:
    """The parts of a suppression row a change depends on; ``id`` is None for a row
    not yet written."""

    id: int | None
    state: str
    expires_at: datetime | None
    lifted_at: datetime | None
    times_suppressed: int


@dataclass(frozen=True)
class Change:
    action: str  # the audit action: created or extended
    values: dict[str, Any]  # columns to write (all of them for a new row)
    note: str
    evidence: dict[str, Any]
    after: Stored = field(compare=False)


def plan(stored: Stored | None, *, now: datetime, expires_at: datetime | None, details: dict[str, Any],
         note: str, evidence: dict[str, Any], created_at: datetime | None = None) -> Change:
    if stored is None:
        values = {"state": "active", "created_at": created_at or now, "updated_at": now,
                  "expires_at": expires_at, "lifted_at": None, "times_suppressed": 1, **details}
        return Change("created", values, note, evidence, Stored(None, "active", expires_at, None, 1))
    if stored.state == "active":
        # Extending never shortens: a permanent suppression stays permanent.
        unbounded = stored.expires_at is None or expires_at is None
        until = None if unbounded else max(expires_at, stored.expires_at)  # type: ignore[type-var]
        return Change("extended", {"updated_at": now, "expires_at": until, **details}, note, evidence,
                      Stored(stored.id, "active", until, stored.lifted_at, stored.times_suppressed))
    times = stored.times_suppressed + 1
    lifted = stored.lifted_at.isoformat() if stored.lifted_at else "an unknown time"
    values = {"state": "active", "created_at": now, "updated_at": now, "expires_at": expires_at,
              "lifted_at": None, "times_suppressed": times, **details}
    again = f"{note} — suppressed again: this is time {times}; it was lifted at {lifted}"
    return Change("created", values, again,
                  {**evidence, "previously_lifted_at": stored.lifted_at, "times_suppressed": times},
                  Stored(stored.id, "active", expires_at, None, times))
