"""The tamper-evident audit chain: each entry's hash covers its own fields and the
previous entry's hash, and the tenant row keeps the head, so an altered, removed or
inserted row breaks verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring as _string

from postwarden.ledger.models import GENESIS_HASH


@dataclass(frozen=True)
class EntryFields:
    tenant_id: int
    seq: int
    at: datetime
    actor: str
    action: str
    address: str
    scope: str
    reason_class: str | None
    note: str
    evidence: str
    prev_hash: str


def entry_hash(fields: EntryFields) -> str:
    return hash_values(fields.tenant_id, fields.seq, fields.at, fields.actor, fields.action,
                       fields.address, fields.scope, fields.reason_class, fields.note,
                       fields.evidence, fields.prev_hash)


def hash_values(tenant_id: int, seq: int, at: datetime, actor: str, action: str, address: str,
                scope: str, reason_class: str | None, note: str, evidence: str, prev_hash: str) -> str:
    """The hash of one entry, over its fields in :class:`EntryFields` order: SHA-256 of
    ``json.dumps([...], ensure_ascii=False, separators=(",", ":"))``. The same text is
    written out here string by string, because every import writes one entry per row
    and ``verify`` recomputes every entry, and json.dumps' set-up per call costs more
    than the hash."""
    cls = "null" if reason_class is None else _repeated(reason_class)
    canonical = (f"[{tenant_id:d},{seq:d},{_time(at)},{_repeated(actor)},{_repeated(action)},"
                 f"{_string(address)},{_repeated(scope)},{cls},{_repeated(note)},{_string(evidence)},"
                 f"{_string(prev_hash)}]")
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# The fields that repeat from entry to entry (an import's entries share all but the
# address, evidence and hashes), each turned into JSON text once.
_repeated = lru_cache(maxsize=1024)(_string)


@lru_cache(maxsize=64)
def _time(at: datetime) -> str:
    return str(_string(at.isoformat(timespec="microseconds")))


def canonical_evidence(evidence: dict[str, object] | None) -> str:
    return json.dumps(evidence or {}, sort_keys=True, ensure_ascii=False, default=str)


def import_evidence(source: str, line: int, reason: str | None) -> str:
    """``canonical_evidence({"source": source, "line": line, "reason": reason})``, written
    out directly: an import computes it for every row."""
    shown = "null" if reason is None else _string(reason)
    return f'{{"line": {line:d}, "reason": {shown}, "source": {_string(source)}}}'


@dataclass(frozen=True)
class StoredEntry:
    id: int
    fields: EntryFields
    entry_hash: str


@dataclass(frozen=True)
class ChainProblem:
    entry_id: int | None
    seq: int
    problem: str


def verify_chain(
    entries: Iterable[StoredEntry], head_seq: int, head_hash: str
) -> ChainProblem | None:
    """The first problem in a tenant's chain (entries in ``seq`` order), or None."""
    expected_seq, prev = 1, GENESIS_HASH
    for entry in entries:
        f = entry.fields
        if f.seq != expected_seq:
            return ChainProblem(entry.id, f.seq, f"sequence jumps from {expected_seq - 1} to {f.seq}: "
                                "an entry was removed or inserted")
        if f.prev_hash != prev:
            return ChainProblem(entry.id, f.seq, "does not link to the previous entry")
        if entry_hash(f) != entry.entry_hash:
            return ChainProblem(entry.id, f.seq, "its contents do not match its hash: altered")
        prev, expected_seq = entry.entry_hash, expected_seq + 1
    if expected_seq - 1 != head_seq or prev != head_hash:
        return ChainProblem(None, expected_seq, f"the chain ends at entry {expected_seq - 1} but the "
                            f"head says {head_seq}: newest entries were removed or the head altered")
    return None
