"""The ledger as one small class. Every instance is bound to one tenant, and every
query it runs is scoped by that tenant's id: one tenant can never see another's data.

Writes that touch suppressions or the audit chain take the tenant's row lock first,
so several processes sharing one PostgreSQL apply feedback one at a time per tenant
and the audit chain stays linear."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, bindparam, func, or_, select, update
from sqlalchemy.exc import OperationalError

from postwarden import settings as settings_mod
from postwarden.address import canonical_all, normalize
from postwarden.errors import (
    ImportFileInvalid,
    InvalidAddress,
    InvalidInput,
    NotFound,
    PolicyRefused,
)
from postwarden.ledger import bulk, messages, policy, suppression
from postwarden.ledger.audit import (
    ChainProblem,
    EntryFields,
    StoredEntry,
    canonical_evidence,
    hash_values,
    import_evidence,
    verify_chain,
)
from postwarden.ledger.db import require_schema, unavailable
from postwarden.ledger.feedback import KINDS, Feedback
from postwarden.ledger.models import AUDIT, EVENTS, EVIDENCE, MESSAGES, SUPPRESSIONS, TENANTS

DIAGNOSTIC_IN_AUDIT = 500
STORED_COLUMNS = ("id", "address", "scope", "reason_class", "state", "expires_at", "lifted_at",
                  "times_suppressed")
PROGRESS_STEP = 10_000
# One validated import row: line, address, scope, class, reason, created_at, note.
_ImportKey = tuple[int, str, str, str, str | None, datetime | None, str]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Consent:
    """The recipient's own confirmation, as recorded by the operator who obtained it."""

    confirmed_by: str
    method: str
    evidence: str
    ticket: str | None = None
    confirmed_at: datetime | None = None

    def missing(self) -> list[str]:
        gaps = []
        if not self.confirmed_by.strip():
            gaps.append("who confirmed with the recipient (--consent-by)")
        if self.method not in policy.CONSENT_METHODS:
            gaps.append(f"how: one of {', '.join(policy.CONSENT_METHODS)} (--consent-method)")
        if not self.evidence.strip():
            gaps.append("the evidence text, e.g. the recipient's words (--evidence)")
        return gaps

    def as_evidence(self) -> dict[str, Any]:
        return {
            "consent_by": self.confirmed_by, "consent_method": self.method,
            "consent_evidence": self.evidence, "ticket": self.ticket,
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
        }


@dataclass(frozen=True)
class Outcome:
    """What applying one piece of feedback (or one operator action) did."""

    address: str
    effect: str  # suppress, count, alert, reset, record, duplicate
    reason_class: str | None = None
    scope: str = "*"
    action: str | None = None  # the audit action written, if any
    event_id: int | None = None
    why: str = ""


class CheckResult(NamedTuple):
    """One address's answer. A named tuple: a big check makes one per address, and a
    tuple is made in a quarter of a frozen dataclass's time."""

    address: str
    verdict: str  # allowed / suppressed
    reason_class: str | None = None
    reason: str | None = None
    scope: str | None = None
    since: datetime | None = None
    expires_at: datetime | None = None
    lift: str | None = None
    lift_explanation: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class SuppressionFilter:
    reason_classes: Sequence[str] | None = None
    bounce_reason: str | None = None
    scope: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    match: str | None = None
    state: str | None = "active"


@dataclass(frozen=True)
class ImportRow:
    line: int
    address: str
    reason_class: str
    scope: str = "*"
    created_at: datetime | None = None
    reason: str | None = None
    note: str = ""


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    reactivated: int = 0
    unchanged: int = 0
    by_class: dict[str, int] = field(default_factory=dict)


AUDIT_COLUMNS = ("tenant_id", "seq", "at", "actor", "action", "address", "scope", "reason_class", "note",
                 "evidence", "prev_hash", "entry_hash")
# What an import writes of a new suppression; the other columns stay NULL.
IMPORT_COLUMNS = ("tenant_id", "address", "scope", "reason_class", "reason", "source", "state", "created_at",
                  "updated_at", "times_suppressed")


@dataclass
class _Chain:
    """The tenant's audit head while a transaction holds the tenant lock."""

    tenant_id: int
    seq: int
    head: str
    pending: list[dict[str, Any]] = field(default_factory=list)
    stored_seq: int = -1  # the sequence number the tenant row holds

    def __post_init__(self) -> None:
        if self.stored_seq < 0:
            self.stored_seq = self.seq

    def append(self, at: datetime, actor: str, action: str, address: str, scope: str,
               reason_class: str | None, note: str, evidence: dict[str, Any] | None) -> None:
        entry = self.entry(at, actor, action, address, scope, reason_class, note,
                           canonical_evidence(evidence))
        self.pending.append(dict(zip(AUDIT_COLUMNS, entry, strict=True)))

    def entry(self, at: datetime, actor: str, action: str, address: str, scope: str,
              reason_class: str | None, note: str, evidence_text: str) -> tuple[Any, ...]:
        """The next entry, in ``AUDIT_COLUMNS`` order; the caller writes it."""
        seq = self.seq + 1
        digest = hash_values(self.tenant_id, seq, at, actor, action, address, scope, reason_class,
                             note, evidence_text, self.head)
        row = (self.tenant_id, seq, at, actor, action, address, scope, reason_class, note, evidence_text,
               self.head, digest)
        self.seq, self.head = seq, digest
        return row


def _glob_to_like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


class Ledger:
    def __init__(
        self,
        engine: Engine,
        tenant: str = "default",
        settings: settings_mod.Settings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings or settings_mod.load()
        self.policy: dict[str, dict[str, Any]] = self.settings.policy
        self.clock = clock
        self.tenant_name = tenant
        self.tenant_id = self._tenant_id(tenant)
        self.writes = 0
        self._lift_rules = {cls: (rule, policy.LIFT_EXPLANATIONS.get(rule)) for cls in policy.REASON_CLASSES
                            for rule in [policy.lift_rule(self.policy, cls)]}

    # ---- set-up ---------------------------------------------------------------------

    def _tenant_id(self, name: str) -> int:
        try:
            require_schema(self.engine)
            with self.engine.connect() as conn:
                found = conn.execute(select(TENANTS.c.id).where(TENANTS.c.name == name)).scalar()
        except OperationalError as exc:
            raise unavailable(self.engine, exc) from exc
        if found is None:
            raise NotFound(f"no tenant named {name!r}: create it with `postwarden tenant create {name}`")
        return int(found)

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A write transaction; ``writes`` counts the committed ones, so an in-memory copy
        in this process (the gate's index) knows at once that it must look again."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise unavailable(self.engine, exc) from exc
        self.writes += 1

    def _lock(self, conn: Connection) -> _Chain:
        """Take the tenant's write lock and read its audit head."""
        if conn.dialect.name == "postgresql":
            row = conn.execute(
                select(TENANTS.c.audit_seq, TENANTS.c.audit_head)
                .where(TENANTS.c.id == self.tenant_id).with_for_update()
            ).one()
        else:
            # SQLite: a write as the first statement takes the database's write lock now
            # rather than upgrading a read lock later (which can fail under contention).
            conn.execute(update(TENANTS).where(TENANTS.c.id == self.tenant_id)
                         .values(audit_seq=TENANTS.c.audit_seq))
            row = conn.execute(select(TENANTS.c.audit_seq, TENANTS.c.audit_head)
                               .where(TENANTS.c.id == self.tenant_id)).one()
        return _Chain(self.tenant_id, int(row.audit_seq), str(row.audit_head))

    def _flush_chain(self, conn: Connection, chain: _Chain) -> None:
        if chain.pending:
            bulk.insert_many(conn, AUDIT, chain.pending)
            chain.pending.clear()
        if chain.seq != chain.stored_seq:
            conn.execute(update(TENANTS).where(TENANTS.c.id == self.tenant_id)
                         .values(audit_seq=chain.seq, audit_head=chain.head))
            chain.stored_seq = chain.seq

    # ---- feedback -------------------------------------------------------------------

    @contextmanager
    def batch(self, conn: Connection, actor: str = "system") -> Iterator[FeedbackBatch]:
        """Apply feedback inside the caller's transaction: what the caller records about
        its input commits together with the ledger change. The audit entries are
        written when the block ends."""
        batch = FeedbackBatch(self, conn, actor)
        yield batch
        batch.flush()

    def apply(self, feedback: Feedback, actor: str = "system") -> Outcome:
        """Record one piece of feedback and apply the policy to it. Applying the same
        feedback again changes nothing and reports ``duplicate``."""
        with self._begin() as conn, self.batch(conn, actor) as batch:
            return batch.apply(feedback)

    def apply_many(self, feedbacks: Iterable[Feedback], actor: str = "system") -> list[Outcome]:
        """Apply a batch in one transaction: all of it, or (on an error) none of it."""
        with self._begin() as conn, self.batch(conn, actor) as batch:
            return batch.apply_all(list(feedbacks))

    def _suppress_row(
        self, conn: Connection, chain: _Chain, now: datetime, address: str, scope: str,
        reason_class: str, *, reason: str | None, status: str | None, reply_code: str | None,
        diagnostic: str | None, source: str, event_id: int | None, expires_at: datetime | None,
        actor: str, note: str, evidence: dict[str, Any], created_at: datetime | None = None,
    ) -> str:
        """Create, extend or re-activate one suppression and log it; the audit action."""
        row = conn.execute(select(SUPPRESSIONS).where(
            SUPPRESSIONS.c.tenant_id == self.tenant_id, SUPPRESSIONS.c.address == address,
            SUPPRESSIONS.c.scope == scope, SUPPRESSIONS.c.reason_class == reason_class)).first()
        stored = None if row is None else suppression.Stored(
            row.id, row.state, row.expires_at, row.lifted_at, row.times_suppressed)
        change = suppression.plan(stored, now=now, expires_at=expires_at, note=note, evidence=evidence,
                                  created_at=created_at, details={
                                      "reason": reason, "status": status, "reply_code": reply_code,
                                      "diagnostic": diagnostic, "source": source[:200],
                                      "event_id": event_id})
        if stored is None:
            conn.execute(SUPPRESSIONS.insert(), {"tenant_id": self.tenant_id, "address": address,
                                                 "scope": scope, "reason_class": reason_class,
                                                 **change.values})
        else:
            conn.execute(update(SUPPRESSIONS).where(SUPPRESSIONS.c.id == stored.id).values(**change.values))
        chain.append(now, actor, change.action, address, scope, reason_class, change.note, change.evidence)
        return change.action

    def valid_scope(self, scope: str | None) -> str:
        scope = (scope or "*").strip()
        if scope == "*":
            return scope
        known = set(self.settings.scopes)
        well_formed = 0 < len(scope) <= 100 and all(c.isalnum() or c in "-_.:" for c in scope)
        if not well_formed:
            raise InvalidInput(f"scope {scope!r} is not a valid topic name: use letters, digits, "
                               "'-', '_', '.' or ':' (or '*' for all mail)")
        if scope not in known and not self.settings.allow_any_scope:
            raise InvalidInput(f"unknown scope {scope!r}: known scopes are {', '.join(sorted(known))}")
        return scope

    # ---- operator actions -----------------------------------------------------------

    def suppress(self, address: str, reason_class: str, *, scope: str = "*", note: str = "",
                 actor: str = "system", expires_at: datetime | None = None,
                 reason: str | None = None, source: str | None = None) -> Outcome:
        if reason_class not in policy.REASON_CLASSES:
            raise InvalidInput(f"unknown reason class {reason_class!r}: one of "
                               f"{', '.join(policy.REASON_CLASSES)}")
        address = normalize(address)
        scope = self.valid_scope(scope)
        now = self.clock()
        with self._begin() as conn:
            chain = self._lock(conn)
            action = self._suppress_row(
                conn, chain, now, address, scope, reason_class, reason=reason, status=None,
                reply_code=None, diagnostic=None, source=source or actor, event_id=None,
                expires_at=expires_at, actor=actor, note=note or f"suppressed by {actor}",
                evidence={"note": note} if note else {},
            )
            self._flush_chain(conn, chain)
        return Outcome(address, "suppress", reason_class, scope, action, why=note)

    def lift(self, address: str, *, note: str, actor: str, scope: str | None = None,
             consent: Consent | None = None) -> list[Outcome]:
        """Lift the address's active suppressions (on ``scope``, or all) that the policy
        lets this call lift. If the policy refuses any of them, nothing is lifted, the
        refusal is logged, and :class:`PolicyRefused` says what would be needed."""
        address = normalize(address)
        if not note.strip():
            raise InvalidInput("a lift needs a note saying why (--note)")
        now = self.clock()
        refused: list[str] = []
        outcomes: list[Outcome] = []
        with self._begin() as conn:
            chain = self._lock(conn)
            rows = self._active_rows(conn, address, scope, now)
            if not rows:
                where = f" on scope {scope!r}" if scope else ""
                raise NotFound(f"{address} has no active suppression{where}: nothing to lift")
            for row in rows:
                problem = self._lift_refusal(row.reason_class, consent)
                if problem:
                    refused.append(f"{row.reason_class} on {row.scope!r}: {problem}")
                    chain.append(now, actor, "lift_refused", address, row.scope, row.reason_class,
                                 f"{note} — refused: {problem}",
                                 consent.as_evidence() if consent else {})
            if not refused:
                evidence = consent.as_evidence() if consent else {}
                for row in rows:
                    conn.execute(update(SUPPRESSIONS).where(SUPPRESSIONS.c.id == row.id)
                                 .values(state="lifted", lifted_at=now, updated_at=now))
                    chain.append(now, actor, "lifted", address, row.scope, row.reason_class, note,
                                 evidence)
                    outcomes.append(Outcome(address, "lift", row.reason_class, row.scope, "lifted",
                                            why=note))
            self._flush_chain(conn, chain)
        if refused:
            raise PolicyRefused(f"cannot lift {address}: " + "; ".join(refused),
                                details={"refused": refused})
        return outcomes

    def _lift_refusal(self, reason_class: str, consent: Consent | None) -> str | None:
        rule = policy.lift_rule(self.policy, reason_class)
        if rule == "consent":
            if consent is None:
                return policy.LIFT_EXPLANATIONS["consent"]
            gaps = consent.missing()
            if gaps:
                return "the recipient's consent must be recorded; missing: " + ", ".join(gaps)
        if rule == "resubscribe":
            return policy.LIFT_EXPLANATIONS["resubscribe"]
        return None

    def resubscribe(self, address: str, *, scope: str = "*", evidence: str, actor: str) -> list[Outcome]:
        """The recipient's own re-subscription: lifts their unsubscribe on ``scope``."""
        address = normalize(address)
        scope = self.valid_scope(scope)
        if not evidence.strip():
            raise InvalidInput("a re-subscription needs evidence of the recipient's request (--evidence)")
        now = self.clock()
        with self._begin() as conn:
            chain = self._lock(conn)
            rows = [r for r in self._active_rows(conn, address, scope, now)
                    if r.reason_class == "unsubscribe" and r.scope == scope]
            if not rows:
                raise NotFound(f"{address} has no active unsubscribe on scope {scope!r}")
            for row in rows:
                conn.execute(update(SUPPRESSIONS).where(SUPPRESSIONS.c.id == row.id)
                             .values(state="lifted", lifted_at=now, updated_at=now))
                chain.append(now, actor, "resubscribed", address, scope, "unsubscribe",
                             "re-subscribed by the recipient", {"evidence": evidence})
            self._flush_chain(conn, chain)
        return [Outcome(address, "lift", "unsubscribe", scope, "resubscribed")]

    def settle_recheck(self, address: str, *, passed: bool, note: str, evidence: dict[str, Any],
                       actor: str) -> list[Outcome]:
        """Write what a re-check found, one outcome per active suppression of the address.
        Those a re-check lifts (policy rule ``recheck``) are lifted if it ``passed``
        (``rechecked``) and otherwise stay (``recheck_failed``); the others stay whatever
        it found (``recheck_refused``, saying what lifts them)."""
        address = normalize(address)
        now = self.clock()
        outcomes: list[Outcome] = []
        with self._begin() as conn:
            chain = self._lock(conn)
            for row in self._active_rows(conn, address, None, now):
                rule, explanation = self._lift_rules[row.reason_class]
                if rule != "recheck":
                    action, effect, why = "recheck_refused", "record", explanation or rule
                elif passed:
                    action, effect, why = "rechecked", "lift", note
                    conn.execute(update(SUPPRESSIONS).where(SUPPRESSIONS.c.id == row.id)
                                 .values(state="lifted", lifted_at=now, updated_at=now))
                else:
                    action, effect, why = "recheck_failed", "record", note
                chain.append(now, actor, action, address, row.scope, row.reason_class, why, evidence)
                outcomes.append(Outcome(address, effect, row.reason_class, row.scope, action, why=why))
            self._flush_chain(conn, chain)
        return outcomes

    def expire_due(self) -> int:
        """Lift suppressions whose expiry has passed (soft bounces), logging each."""
        now = self.clock()
        with self._begin() as conn:
            chain = self._lock(conn)
            rows = conn.execute(select(SUPPRESSIONS).where(
                SUPPRESSIONS.c.tenant_id == self.tenant_id, SUPPRESSIONS.c.state == "active",
                SUPPRESSIONS.c.expires_at.is_not(None), SUPPRESSIONS.c.expires_at <= now)).all()
            for row in rows:
                conn.execute(update(SUPPRESSIONS).where(SUPPRESSIONS.c.id == row.id)
                             .values(state="lifted", lifted_at=now, updated_at=now))
                chain.append(now, "system", "expired", row.address, row.scope, row.reason_class,
                             f"expired at {row.expires_at.isoformat()}", {})
            self._flush_chain(conn, chain)
        return len(rows)

    def _active_rows(self, conn: Connection, address: str, scope: str | None,
                     now: datetime) -> list[Any]:
        query = select(SUPPRESSIONS).where(
            SUPPRESSIONS.c.tenant_id == self.tenant_id, SUPPRESSIONS.c.address == address,
            SUPPRESSIONS.c.state == "active",
            or_(SUPPRESSIONS.c.expires_at.is_(None), SUPPRESSIONS.c.expires_at > now))
        if scope is not None:
            query = query.where(SUPPRESSIONS.c.scope == scope)
        return list(conn.execute(query.order_by(SUPPRESSIONS.c.id)).all())

    # ---- reads ----------------------------------------------------------------------

    def check(self, addresses: Iterable[str], scope: str = "*") -> list[CheckResult]:
        """May I send to these? One result per input, in order. Suppressions on ``*``
        apply to every send; a topic's apply to sends on that topic."""
        scope = self.valid_scope(scope)
        scopes = ["*"] if scope == "*" else ["*", scope]
        with bulk.paused_gc():
            return self._check(list(addresses), scopes)

    def _check(self, items: list[str], scopes: list[str]) -> list[CheckResult]:
        canonical = canonical_all(items)
        now = self.clock()
        found: dict[str, list[Any]] = {}
        unique = [a for a in dict.fromkeys(canonical) if a is not None]
        for row in self._lookup(unique, scopes) if unique else ():
            if row[5] is None or row[5] > now:
                found.setdefault(row[0], []).append(row)
        # Most addresses are allowed: only suppressed ones need a verdict worked out.
        verdicts = {address: self._verdict(address, rows) for address, rows in found.items()}
        return [(verdicts.get(address) or CheckResult(address, "allowed")) if address is not None
                else CheckResult(raw.strip(), "suppressed", "invalid", error=_invalid(raw))
                for raw, address in zip(items, canonical, strict=True)]

    def lift_rule(self, reason_class: str) -> tuple[str, str | None]:
        """What lifts a class, and the words that explain it."""
        return self._lift_rules[reason_class]

    def _lookup(self, addresses: list[str], scopes: list[str]) -> list[tuple[Any, ...]]:
        try:
            return bulk.lookup_shared(self.engine, self.tenant_id, addresses, scopes)
        except OperationalError as exc:
            raise unavailable(self.engine, exc) from exc

    def _verdict(self, address: str, rows: list[tuple[Any, ...]]) -> CheckResult:
        """``rows`` are ``bulk.LOOKUP_COLUMNS`` tuples of the address's active suppressions."""
        if len(rows) == 1:
            row = rows[0]
        else:
            cls = policy.strongest([r[2] for r in rows])
            row = min((r for r in rows if r[2] == cls), key=lambda r: r[4])
        _, scope, cls, reason, since, expires_at, _ = row
        rule, explanation = self._lift_rules[cls]
        return CheckResult(address, "suppressed", cls, reason, scope, since, expires_at, rule, explanation)

    def _filtered(self, flt: SuppressionFilter) -> Any:
        query = select(SUPPRESSIONS).where(SUPPRESSIONS.c.tenant_id == self.tenant_id)
        if flt.state:
            query = query.where(SUPPRESSIONS.c.state == flt.state)
        if flt.reason_classes:
            unknown = set(flt.reason_classes) - set(policy.REASON_CLASSES)
            if unknown:
                raise InvalidInput(f"unknown reason class {sorted(unknown)[0]!r}: one of "
                                   f"{', '.join(policy.REASON_CLASSES)}")
            query = query.where(SUPPRESSIONS.c.reason_class.in_(list(flt.reason_classes)))
        if flt.bounce_reason:
            query = query.where(SUPPRESSIONS.c.reason == flt.bounce_reason)
        if flt.scope:
            query = query.where(SUPPRESSIONS.c.scope == flt.scope)
        if flt.since:
            query = query.where(SUPPRESSIONS.c.created_at >= flt.since)
        if flt.until:
            query = query.where(SUPPRESSIONS.c.created_at < flt.until)
        if flt.match:
            pattern = _glob_to_like(flt.match.lower())
            if "%" not in pattern and "_" not in pattern.replace("\\_", ""):
                pattern = f"%{pattern}%"
            query = query.where(SUPPRESSIONS.c.address.like(pattern, escape="\\"))
        return query

    def find(self, flt: SuppressionFilter = SuppressionFilter(), *, limit: int = 100,
             after_id: int | None = None) -> list[Any]:
        query = self._filtered(flt)
        if after_id is not None:
            query = query.where(SUPPRESSIONS.c.id > after_id)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(SUPPRESSIONS.c.id).limit(limit)).all())

    def count_by_class(self, flt: SuppressionFilter = SuppressionFilter()) -> dict[str, int]:
        sub = self._filtered(flt).subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(select(sub.c.reason_class, func.count()).group_by(sub.c.reason_class))
            return {str(cls): int(n) for cls, n in rows}

    def iter_export(self, flt: SuppressionFilter = SuppressionFilter(), batch: int = 5000) -> Iterator[Any]:
        after: int | None = None
        while True:
            rows = self.find(flt, limit=batch, after_id=after)
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].id

    def suppressions_for(self, address: str) -> list[Any]:
        address = normalize(address)
        with self.engine.connect() as conn:
            return list(conn.execute(select(SUPPRESSIONS).where(
                SUPPRESSIONS.c.tenant_id == self.tenant_id, SUPPRESSIONS.c.address == address)
                .order_by(SUPPRESSIONS.c.id)).all())

    def events_for(self, address: str, limit: int = 500) -> list[Any]:
        address = normalize(address)
        with self.engine.connect() as conn:
            return list(conn.execute(select(EVENTS).where(
                EVENTS.c.tenant_id == self.tenant_id, EVENTS.c.address == address)
                .order_by(EVENTS.c.occurred_at.desc(), EVENTS.c.id.desc()).limit(limit)).all())

    def record_messages(self, sent: Sequence[messages.SentMessage]) -> int:
        """Add messages handed on to the history with status ``sent``; how many were new
        (recording the same message again changes nothing)."""
        for m in sent:
            if m.stream not in messages.STREAMS:
                raise InvalidInput(f"unknown stream {m.stream!r}: one of {', '.join(messages.STREAMS)}")
            if not m.message_id.strip().strip("<>"):
                raise InvalidInput("a message needs its Message-ID")
        sent = [replace(m, recipient=normalize(m.recipient), scope=self.valid_scope(m.scope))
                for m in sent]
        with self._begin() as conn:
            return messages.record_sent(conn, self.tenant_id, sent, self.clock())

    def messages_for(self, address: str, limit: int = 500) -> list[Any]:
        address = normalize(address)
        with self.engine.connect() as conn:
            return list(conn.execute(select(MESSAGES).where(
                MESSAGES.c.tenant_id == self.tenant_id, MESSAGES.c.recipient == address)
                .order_by(MESSAGES.c.sent_at.desc(), MESSAGES.c.id.desc()).limit(limit)).all())

    def alerts(self, since: datetime | None = None, limit: int = 500) -> list[Any]:
        """Sender-side failures: recorded, never a reason to suppress the recipient."""
        query = select(EVENTS).where(EVENTS.c.tenant_id == self.tenant_id,
                                     EVENTS.c.disposition == "alert")
        if since is not None:
            query = query.where(EVENTS.c.occurred_at >= since)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(EVENTS.c.occurred_at.desc()).limit(limit)).all())

    def evidence(self, evidence_id: int) -> tuple[str, bytes]:
        with self.engine.connect() as conn:
            row = conn.execute(select(EVIDENCE.c.content_type, EVIDENCE.c.body).where(
                EVIDENCE.c.tenant_id == self.tenant_id, EVIDENCE.c.id == evidence_id)).first()
        if row is None:
            raise NotFound(f"no evidence with id {evidence_id}")
        return str(row.content_type), bytes(row.body)

    # ---- change feed (for in-memory copies such as the gate's index) -------------------

    def change_sequence(self) -> int:
        """The audit chain's newest sequence number: it moves on every suppression change.
        Without a transaction around it: the gate asks this several times a second, and
        BEGIN and ROLLBACK were two of its four round trips (with the pool's ping)."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return int(conn.execute(select(TENANTS.c.audit_seq)
                                    .where(TENANTS.c.id == self.tenant_id)).scalar_one())

    def changed_since(self, seq: int) -> tuple[int, set[str]]:
        """The newest sequence number and the addresses whose suppressions changed after ``seq``."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(AUDIT.c.seq, AUDIT.c.address).where(
                AUDIT.c.tenant_id == self.tenant_id, AUDIT.c.seq > seq)).all()
        return max((int(r.seq) for r in rows), default=seq), {str(r.address) for r in rows}

    def active(self, addresses: Iterable[str] | None = None) -> Iterator[tuple[Any, ...]]:
        """``(address, scope, reason_class, reason, created_at, expires_at)`` of active
        suppressions, of all or of ``addresses``."""
        columns = (SUPPRESSIONS.c.address, SUPPRESSIONS.c.scope, SUPPRESSIONS.c.reason_class,
                   SUPPRESSIONS.c.reason, SUPPRESSIONS.c.created_at, SUPPRESSIONS.c.expires_at)
        query = select(*columns).where(SUPPRESSIONS.c.tenant_id == self.tenant_id,
                                       SUPPRESSIONS.c.state == "active")
        with self.engine.connect() as conn:
            if addresses is None:
                yield from conn.execution_options(yield_per=50_000).execute(query).tuples()
                return
            ordered = sorted(addresses)
            for start in range(0, len(ordered), bulk.SQLITE_BATCH):
                yield from conn.execute(query.where(
                    SUPPRESSIONS.c.address.in_(ordered[start:start + bulk.SQLITE_BATCH]))).tuples()

    # ---- audit ----------------------------------------------------------------------

    def audit_for(self, address: str | None = None, limit: int | None = None) -> list[Any]:
        query = select(AUDIT).where(AUDIT.c.tenant_id == self.tenant_id)
        if address is not None:
            query = query.where(AUDIT.c.address == normalize(address))
        query = query.order_by(AUDIT.c.seq.desc() if limit else AUDIT.c.seq)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())

    def verify_audit(self) -> ChainProblem | None:
        with self.engine.connect() as conn:
            head = conn.execute(select(TENANTS.c.audit_seq, TENANTS.c.audit_head)
                                .where(TENANTS.c.id == self.tenant_id)).one()
            rows = conn.execution_options(yield_per=10000).execute(
                select(AUDIT).where(AUDIT.c.tenant_id == self.tenant_id).order_by(AUDIT.c.seq))
            entries = (
                StoredEntry(r.id, EntryFields(
                    tenant_id=r.tenant_id, seq=r.seq, at=r.at, actor=r.actor, action=r.action,
                    address=r.address, scope=r.scope, reason_class=r.reason_class, note=r.note,
                    evidence=r.evidence, prev_hash=r.prev_hash), r.entry_hash)
                for r in rows
            )
            return verify_chain(entries, int(head.audit_seq), str(head.audit_head))

    # ---- bulk import ----------------------------------------------------------------

    def import_rows(self, rows: Iterable[ImportRow], *, source: str, actor: str,
                    progress: Callable[[int], None] | None = None) -> ImportSummary:
        """Apply a whole file or nothing, in one transaction: a bad line anywhere rolls it
        back, and the error names every bad line. ``rows`` is read once, lazily; a reader
        raising :class:`ImportFileInvalid` for lines it could not parse (after its last
        row) has those lines named too. New suppressions, then their audit entries, are
        streamed to the database (COPY on PostgreSQL). Into a ledger holding no
        suppressions for the tenant, nothing can be held already: the suppressions are
        written as the file is read, so reading and the database's work overlap.
        Otherwise every row is read first and what is held looked up in one go."""
        summary = ImportSummary()
        problems: list[tuple[int, str]] = []
        seen: set[tuple[str, str, str]] = set()
        now = self.clock()
        with self._begin() as conn:
            chain = self._lock(conn)
            valid = self._validated(rows, summary, problems, seen)
            kept: list[_ImportKey] = []
            stored: dict[tuple[str, str, str], suppression.Stored] = {}
            if conn.execute(select(SUPPRESSIONS.c.id).where(
                    SUPPRESSIONS.c.tenant_id == self.tenant_id).limit(1)).first() is None:
                self._insert_imported(conn, _kept_until_problem(valid, kept, problems), now, source)
            else:
                kept.extend(valid)
                if not problems:
                    stored = self._stored_for_import(conn, kept)
                    self._insert_imported(conn, (row for row in kept if row[1:4] not in stored), now, source)
            if problems:
                problems.sort()
                shown = "; ".join(f"line {n}: {p}" for n, p in problems[:10])
                more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
                raise ImportFileInvalid(
                    f"{len(problems)} bad line(s), nothing imported: {shown}{more}. "
                    "Fix these lines and import the file again.", problems)
            again = self._reactivate(conn, kept, stored, now, source)
            bulk.insert_tuples(conn, AUDIT, AUDIT_COLUMNS,
                               self._import_entries(chain, kept, stored, again, now, source, actor,
                                                    summary, progress))
            self._flush_chain(conn, chain)
            if summary.created > 10000:
                bulk.analyze(conn, SUPPRESSIONS)
        if progress:  # the repeats and bad lines the file held
            progress(summary.rows - len(seen))
        return summary

    def _insert_imported(self, conn: Connection, kept: Iterable[_ImportKey], now: datetime,
                         source: str) -> None:
        """New suppressions for import rows, streamed to the database."""
        tenant_id, source_text = self.tenant_id, source[:200]
        bulk.insert_tuples(conn, SUPPRESSIONS, IMPORT_COLUMNS, (
            (tenant_id, address, scope, cls, reason, source_text, "active", created_at or now, now, 1)
            for _, address, scope, cls, reason, created_at, _ in kept))

    def _validated(self, rows: Iterable[ImportRow], summary: ImportSummary,
                   problems: list[tuple[int, str]], seen: set[tuple[str, str, str]]) -> Iterator[_ImportKey]:
        """The rows to apply, validated and in canonical form, each (address, scope,
        class) once: later repeats count as unchanged. Bad lines go to ``problems``."""
        scopes: dict[str, str] = {}
        try:
            for row in rows:
                summary.rows += 1
                try:
                    cls = row.reason_class
                    if cls not in policy.REASON_CLASSES:
                        raise InvalidInput(f"unknown reason {cls!r}: "
                                           f"one of {', '.join(policy.REASON_CLASSES)}")
                    address = normalize(row.address)
                    scope = scopes.get(row.scope) or scopes.setdefault(row.scope, self.valid_scope(row.scope))
                except InvalidInput as exc:
                    problems.append((row.line, exc.message))
                    continue
                key = (address, scope, cls)
                if key in seen:
                    summary.unchanged += 1
                    continue
                seen.add(key)
                yield row.line, address, scope, cls, row.reason, row.created_at, row.note
        except ImportFileInvalid as exc:
            problems.extend(exc.problems)

    def _stored_for_import(self, conn: Connection, kept: list[_ImportKey]
                           ) -> dict[tuple[str, str, str], suppression.Stored]:
        """The suppressions already held for the addresses of ``kept``, by key."""
        addresses = list(dict.fromkeys(row[1] for row in kept))
        return {(address, scope, cls): suppression.Stored(row_id, state, expires_at, lifted_at, times)
                for row_id, address, scope, cls, state, expires_at, lifted_at, times in bulk.lookup(
                    conn, self.tenant_id, addresses, None, active_only=False, columns=STORED_COLUMNS)}

    def _reactivate(self, conn: Connection, kept: list[_ImportKey],
                    stored: dict[tuple[str, str, str], suppression.Stored], now: datetime,
                    source: str) -> dict[int, suppression.Change]:
        """Suppress again what the file names and was lifted; the changes by row."""
        changes = {}
        for n, (line, address, scope, cls, reason, _, note) in enumerate(kept):
            held = stored.get((address, scope, cls))
            if held is None or held.state != "lifted":
                continue
            changes[n] = suppression.plan(
                held, now=now, expires_at=None, note=note or f"imported from {source}",
                evidence={"source": source, "line": line, "reason": reason}, details={
                    "reason": reason, "status": None, "reply_code": None, "diagnostic": None,
                    "source": source[:200], "event_id": None})
        by_id = [{"row_id": stored[kept[n][1:4]].id, **change.values} for n, change in changes.items()]
        if by_id:
            conn.execute(update(SUPPRESSIONS).where(SUPPRESSIONS.c.id == bindparam("row_id"))
                         .values({c: bindparam(c) for c in by_id[0] if c != "row_id"}), by_id)
        return changes

    def _import_entries(self, chain: _Chain, kept: list[_ImportKey],
                        stored: dict[tuple[str, str, str], suppression.Stored],
                        again: dict[int, suppression.Change], now: datetime, source: str, actor: str,
                        summary: ImportSummary, progress: Callable[[int], None] | None
                        ) -> Iterator[tuple[Any, ...]]:
        """The audit entries of an import in file order, counted into ``summary``, each
        row counted to ``progress`` (in steps of ``PROGRESS_STEP``)."""
        imported = f"imported from {source}"
        by_class = summary.by_class
        for n, (line, address, scope, cls, reason, _, note) in enumerate(kept):
            if progress and n and n % PROGRESS_STEP == 0:
                progress(PROGRESS_STEP)
            change = again.get(n)
            if change is not None:
                summary.reactivated += 1
                entry = chain.entry(now, actor, change.action, address, scope, cls, change.note,
                                    canonical_evidence(change.evidence))
            elif (address, scope, cls) in stored:
                summary.unchanged += 1
                continue
            else:
                summary.created += 1
                entry = chain.entry(now, actor, "created", address, scope, cls, note or imported,
                                    import_evidence(source, line, reason))
            by_class[cls] = by_class.get(cls, 0) + 1
            yield entry
        if progress and kept:
            progress(len(kept) - (len(kept) - 1) // PROGRESS_STEP * PROGRESS_STEP)


class FeedbackBatch:
    """Feedback applied to one tenant's ledger inside one transaction. The tenant lock
    is taken at most once, statements are shaped to be compiled once, and the audit
    entries are written together at the end."""

    def __init__(self, ledger: Ledger, conn: Connection, actor: str) -> None:
        self.ledger = ledger
        self.conn = conn
        self.actor = actor
        self.chain: _Chain | None = None
        self.evidence_ids: dict[str, int] = {}

    def _prepare(self, feedback: Feedback) -> tuple[Feedback, str, str | None]:
        """Validated feedback, its canonical address and its reason class."""
        if feedback.kind not in KINDS:
            raise InvalidInput(f"unknown feedback kind {feedback.kind!r}: one of {', '.join(KINDS)}")
        address = normalize(feedback.address)
        scope = self.ledger.valid_scope(feedback.scope)
        if scope != feedback.scope:
            feedback = replace(feedback, scope=scope)
        return feedback, address, policy.reason_class_of(feedback)

    def apply(self, feedback: Feedback) -> Outcome:
        return self.apply_all([feedback])[0]

    def apply_all(self, feedbacks: Sequence[Feedback]) -> list[Outcome]:
        """Apply a batch. Feedback whose effect does not depend on the ledger's state
        (deliveries, sender-side alerts, records) is written first, in one statement;
        then what may suppress, decided in input order against counts read at once."""
        prepared = [self._prepare(f) for f in feedbacks]
        outcomes: list[Outcome | None] = [None] * len(prepared)
        stateless: list[tuple[int, Feedback, str, str | None, policy.Decision, datetime]] = []
        for n, (feedback, address, cls) in enumerate(prepared):
            if cls not in policy.REASON_CLASSES:
                now = self.ledger.clock()
                stateless.append((n, feedback, address, cls, policy.decide(feedback, self.ledger.policy, now),
                                  now))
        evidence = self._evidence_ids_for([f for _, f, *_ in stateless])
        rows = [self._event_row(f, address, cls, d.effect, now, evidence_id)
                for (_, f, address, cls, d, now), evidence_id in zip(stateless, evidence, strict=True)]
        ids = bulk.insert_ignoring_many(self.conn, EVENTS, EVENT_KEYS, rows)
        for (n, _, address, _, decision, _), event_id in zip(stateless, ids, strict=True):
            outcomes[n] = (_duplicate(address) if event_id is None else
                           Outcome(address, decision.effect, event_id=event_id, why=decision.why))
        stateful = [(n, f, address, cls) for n, (f, address, cls) in enumerate(prepared)
                    if cls in policy.REASON_CLASSES]
        if stateful:
            for n, outcome in self._apply_stateful(stateful):
                outcomes[n] = outcome
        done = [o for o in outcomes if o is not None]
        messages.follow(self.conn, self.ledger.tenant_id, [
            messages.StatusChange(address, f.kind, f.message_id, f.reply_code, f.diagnostic,
                                  f.occurred_at or self.ledger.clock(), o.event_id)
            for (f, address, _), o in zip(prepared, done, strict=True)
            if o.event_id is not None and f.kind in messages.STATUS_OF_KIND])
        return done

    def _apply_stateful(self, items: Sequence[tuple[int, Feedback, str, str | None]]
                        ) -> list[tuple[int, Outcome]]:
        """Feedback that may suppress. Duplicates are found first, so they count for
        nothing; soft-bounce counts are read for every address at once and advanced in
        input order; events are written in one statement; the affected suppressions are
        read at once, each change planned in order in memory, then written together."""
        ledger, conn = self.ledger, self.conn
        if self.chain is None:
            self.chain = ledger._lock(conn)
        seen = self._known_fingerprints([f.fingerprint(address) for _, f, address, _ in items])
        soft = self._soft_bounce_counts({address for _, _, address, cls in items if cls == "soft_bounce"})
        results: list[tuple[int, Outcome]] = []
        fresh: list[_Decided] = []
        for n, feedback, address, cls in items:
            fingerprint = feedback.fingerprint(address)
            if fingerprint in seen:
                results.append((n, _duplicate(address)))
                continue
            seen.add(fingerprint)
            now = ledger.clock()
            fresh.append(_Decided(n, feedback, address, cls, now,
                                  policy.decide(feedback, ledger.policy, now, soft.get(address, 0))))
            if cls == "soft_bounce":
                soft[address] = soft.get(address, 0) + 1
        evidence = self._evidence_ids_for([d.feedback for d in fresh])
        ids = bulk.insert_ignoring_many(conn, EVENTS, EVENT_KEYS, [
            self._event_row(d.feedback, d.address, d.cls, d.decision.effect, d.now, evidence_id)
            for d, evidence_id in zip(fresh, evidence, strict=True)])
        stored = self._stored_suppressions({d.address for d in fresh})
        inserts: dict[tuple[str, str, str], dict[str, Any]] = {}
        updates: dict[int, dict[str, Any]] = {}
        for d, event_id in zip(fresh, ids, strict=True):
            decision, feedback = d.decision, d.feedback
            if event_id is None:  # another process applied it meanwhile
                results.append((d.n, _duplicate(d.address)))
                continue
            if decision.effect != "suppress" or decision.reason_class is None:
                results.append((d.n, Outcome(d.address, decision.effect, decision.reason_class,
                                             decision.scope, None, event_id, decision.why)))
                continue
            key = (d.address, decision.scope, decision.reason_class)
            change = suppression.plan(
                stored.get(key), now=d.now, expires_at=decision.expires_at, note=decision.why,
                evidence=_suppression_evidence(feedback, event_id),
                details={"reason": feedback.reason, "status": feedback.status,
                         "reply_code": feedback.reply_code, "diagnostic": feedback.diagnostic,
                         "source": feedback.source[:200], "event_id": event_id})
            stored[key] = change.after
            if key in inserts:
                inserts[key].update(change.values)
            elif change.after.id is None:
                inserts[key] = {"tenant_id": ledger.tenant_id, "address": d.address, "scope": key[1],
                                "reason_class": key[2], **change.values}
            else:
                updates.setdefault(change.after.id, {}).update(change.values)
            self.chain.append(d.now, self.actor, change.action, d.address, key[1], key[2], change.note,
                              change.evidence)
            results.append((d.n, Outcome(d.address, "suppress", key[2], key[1], change.action, event_id,
                                         decision.why)))
        self._write_suppressions(list(inserts.values()), updates)
        return results

    def _write_suppressions(self, inserts: list[dict[str, Any]], updates: dict[int, dict[str, Any]]) -> None:
        if inserts:
            self.conn.execute(SUPPRESSIONS.insert(), inserts)
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row_id, values in updates.items():
            by_columns.setdefault(tuple(sorted(values)), []).append({"row_id": row_id, **values})
        for columns, rows in by_columns.items():
            self.conn.execute(update(SUPPRESSIONS).where(SUPPRESSIONS.c.id == bindparam("row_id"))
                              .values({c: bindparam(c) for c in columns}), rows)

    def flush(self) -> None:
        if self.chain is not None:
            self.ledger._flush_chain(self.conn, self.chain)

    def _stored_suppressions(self, addresses: set[str]) -> dict[tuple[str, str, str], suppression.Stored]:
        found = {}
        ordered = sorted(addresses)
        for start in range(0, len(ordered), bulk.SQLITE_BATCH):
            for row in self.conn.execute(select(
                    SUPPRESSIONS.c.id, SUPPRESSIONS.c.address, SUPPRESSIONS.c.scope,
                    SUPPRESSIONS.c.reason_class, SUPPRESSIONS.c.state, SUPPRESSIONS.c.expires_at,
                    SUPPRESSIONS.c.lifted_at,
                    SUPPRESSIONS.c.times_suppressed).where(
                    SUPPRESSIONS.c.tenant_id == self.ledger.tenant_id,
                    SUPPRESSIONS.c.address.in_(ordered[start:start + bulk.SQLITE_BATCH]))):
                found[(row.address, row.scope, row.reason_class)] = suppression.Stored(
                    row.id, row.state, row.expires_at, row.lifted_at, row.times_suppressed)
        return found

    def _event_row(self, feedback: Feedback, address: str, cls: str | None, disposition: str,
                   now: datetime, evidence_id: int | None) -> dict[str, Any]:
        return {
            "tenant_id": self.ledger.tenant_id, "fingerprint": feedback.fingerprint(address),
            "kind": feedback.kind, "address": address, "scope": feedback.scope, "reason": feedback.reason,
            "reason_class": cls, "hard_bounce": feedback.hard_bounce, "status": feedback.status,
            "reply_code": feedback.reply_code, "diagnostic": feedback.diagnostic,
            "remote_mta": feedback.remote_mta, "message_id": feedback.message_id,
            "feedback_type": feedback.feedback_type, "source": feedback.source[:200],
            "disposition": disposition,
            "details": json.dumps(feedback.details, default=str) if feedback.details else None,
            "evidence_id": evidence_id,
            "occurred_at": feedback.occurred_at or now, "received_at": now,
        }

    def _evidence_ids_for(self, feedbacks: Sequence[Feedback]) -> list[int | None]:
        """Store the raw evidence of ``feedbacks`` (each body once) and return its ids."""
        digests = [hashlib.sha256(f.raw).hexdigest() if f.raw is not None else None for f in feedbacks]
        fresh: dict[str, Feedback] = {}
        for digest, feedback in zip(digests, feedbacks, strict=True):
            if digest is not None and digest not in self.evidence_ids:
                fresh.setdefault(digest, feedback)
        if fresh:
            tenant_id, now = self.ledger.tenant_id, self.ledger.clock()
            rows = [{"tenant_id": tenant_id, "sha256": d, "content_type": f.raw_content_type,
                     "body": f.raw, "created_at": now} for d, f in fresh.items()]
            ids = bulk.insert_ignoring_many(self.conn, EVIDENCE, EVIDENCE_KEYS, rows)
            missing = []
            for digest, new_id in zip(fresh, ids, strict=True):
                if new_id is None:
                    missing.append(digest)
                else:
                    self.evidence_ids[digest] = new_id
            if missing:
                for digest, old_id in self.conn.execute(select(EVIDENCE.c.sha256, EVIDENCE.c.id).where(
                        EVIDENCE.c.tenant_id == tenant_id, EVIDENCE.c.sha256.in_(missing))):
                    self.evidence_ids[str(digest)] = int(old_id)
        return [self.evidence_ids[d] if d is not None else None for d in digests]

    def _known_fingerprints(self, fingerprints: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(fingerprints), bulk.SQLITE_BATCH):
            known.update(str(f) for f in self.conn.execute(select(EVENTS.c.fingerprint).where(
                EVENTS.c.tenant_id == self.ledger.tenant_id,
                EVENTS.c.fingerprint.in_(fingerprints[start:start + bulk.SQLITE_BATCH]))).scalars())
        return known

    def _soft_bounce_counts(self, addresses: set[str]) -> dict[str, int]:
        """Per address, the soft bounces inside the window and since its last delivery."""
        if not addresses:
            return {}
        tenant_id = self.ledger.tenant_id
        since = policy.soft_window_start(self.ledger.policy, self.ledger.clock())
        delivered = EVENTS.alias("delivered")
        last_delivery = (select(func.max(delivered.c.occurred_at))
                         .where(delivered.c.tenant_id == EVENTS.c.tenant_id,
                                delivered.c.address == EVENTS.c.address, delivered.c.kind == "delivered")
                         .scalar_subquery())
        counts: dict[str, int] = {}
        ordered = sorted(addresses)
        for start in range(0, len(ordered), bulk.SQLITE_BATCH):
            counts.update((str(a), int(n)) for a, n in self.conn.execute(
                select(EVENTS.c.address, func.count()).where(
                    EVENTS.c.tenant_id == tenant_id,
                    EVENTS.c.address.in_(ordered[start:start + bulk.SQLITE_BATCH]),
                    EVENTS.c.reason_class == "soft_bounce", EVENTS.c.occurred_at >= since,
                    EVENTS.c.occurred_at >= func.coalesce(last_delivery, since))
                .group_by(EVENTS.c.address)))
        return counts


@dataclass(frozen=True)
class _Decided:
    """One piece of feedback in a batch, with what the policy decided for it."""

    n: int
    feedback: Feedback
    address: str
    cls: str | None
    now: datetime
    decision: policy.Decision


def _kept_until_problem(valid: Iterable[_ImportKey], kept: list[_ImportKey],
                        problems: list[tuple[int, str]]) -> Iterator[_ImportKey]:
    """``valid``'s rows, each also appended to ``kept``, until the first bad line; after
    it ``valid`` is only read on, so that every bad line is named."""
    for row in valid:
        if not problems:
            kept.append(row)
            yield row


def _invalid(raw: str) -> str:
    """Why ``raw`` is not an address."""
    try:
        normalize(raw)
    except InvalidAddress as exc:
        return exc.message
    raise AssertionError(f"{raw!r} was found not to be an address, and then to be one")


def _duplicate(address: str) -> Outcome:
    return Outcome(address, "duplicate", why="this feedback was applied before")


def _suppression_evidence(feedback: Feedback, event_id: int) -> dict[str, Any]:
    """What the audit entry of a suppression caused by feedback keeps as evidence."""
    return {"event_id": event_id, "source": feedback.source, "message_id": feedback.message_id,
            "feedback_type": feedback.feedback_type, "status": feedback.status,
            "reply_code": feedback.reply_code, "reason": feedback.reason,
            "diagnostic": (feedback.diagnostic or "")[:DIAGNOSTIC_IN_AUDIT] or None}


EVENT_KEYS = ("tenant_id", "fingerprint")
EVIDENCE_KEYS = ("tenant_id", "sha256")
