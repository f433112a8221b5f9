"""The mailbox side's rows in the database, for one tenant: the learned model's state,
users' sender rules, their data-sharing consent, senders' feedback addresses, and the
log of complaint reports sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from postwarden.errors import NotFound
from postwarden.ledger.models import Tenant
from postwarden.ledger.service import utcnow
from postwarden.mailbox.features import registered_domain
from postwarden.mailbox.rules import SenderRule, normalise
from postwarden.mailbox.tables import FEEDBACK_ADDRESSES, FILTER_STATE, RULES, SENT_REPORTS, USERS
from postwarden.mailbox.verdict import Action

CONSENT_STATES = ("accepted", "declined")


@dataclass(frozen=True)
class SavedState:
    revision: int
    state: bytes


class MailboxDatabase:
    def __init__(self, engine: Engine, tenant: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        with engine.connect() as conn:
            tenant_id = conn.execute(select(Tenant.id).where(Tenant.name == tenant)).scalar()
        if tenant_id is None:
            raise NotFound(f"no tenant named {tenant!r}")
        self.tenant_id: int = tenant_id

    # --- the learned model -------------------------------------------------------------

    def revision(self, name: str) -> int:
        """The saved state's revision (0 when nothing was saved): a cheap freshness check."""
        with self.engine.connect() as conn:
            found = conn.execute(select(FILTER_STATE.c.revision).where(
                FILTER_STATE.c.tenant_id == self.tenant_id, FILTER_STATE.c.name == name)).scalar()
        return int(found or 0)

    def load_state(self, name: str) -> SavedState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(FILTER_STATE.c.revision, FILTER_STATE.c.state).where(
                FILTER_STATE.c.tenant_id == self.tenant_id, FILTER_STATE.c.name == name)).first()
        return SavedState(int(row.revision), bytes(row.state)) if row else None

    def save_state(self, name: str, state: bytes, expected: int) -> bool:
        """Store ``state`` as revision ``expected + 1`` if the stored revision is still
        ``expected``; ``False`` when another process saved in between."""
        now = self.clock()
        with self.engine.begin() as conn:
            if expected == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(FILTER_STATE).values(
                            tenant_id=self.tenant_id, name=name, revision=1, state=state, updated_at=now))
                    return True
                except IntegrityError:
                    return False
            done = conn.execute(update(FILTER_STATE).where(
                FILTER_STATE.c.tenant_id == self.tenant_id, FILTER_STATE.c.name == name,
                FILTER_STATE.c.revision == expected,
            ).values(revision=expected + 1, state=state, updated_at=now))
            return done.rowcount == 1

    # --- sender rules --------------------------------------------------------------------

    def rules(self, mailbox: str) -> list[SenderRule]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(RULES.c.kind, RULES.c.match, RULES.c.value, RULES.c.action).where(
                RULES.c.tenant_id == self.tenant_id, RULES.c.mailbox == mailbox).order_by(RULES.c.id)).all()
        return [SenderRule(r.kind, r.match, r.value, Action(r.action)) for r in rows]

    def add_rule(self, mailbox: str, rule: SenderRule) -> bool:
        """Add (or change the action of) a rule; returns whether anything changed."""
        keys = (RULES.c.tenant_id == self.tenant_id, RULES.c.mailbox == mailbox, RULES.c.kind == rule.kind,
                RULES.c.match == rule.match, RULES.c.value == rule.value)
        with self.engine.begin() as conn:
            current = conn.execute(select(RULES.c.action).where(*keys)).scalar()
            if current == rule.action.value:
                return False
            if current is not None:
                conn.execute(update(RULES).where(*keys).values(action=rule.action.value))
                return True
            try:
                with conn.begin_nested():
                    conn.execute(insert(RULES).values(
                        tenant_id=self.tenant_id, mailbox=mailbox, kind=rule.kind, match=rule.match,
                        value=rule.value, action=rule.action.value, created_at=self.clock()))
            except IntegrityError:  # the same rule added at the same moment elsewhere
                return False
        return True

    def remove_rule(self, mailbox: str, kind: str, match: str, value: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(delete(RULES).where(
                RULES.c.tenant_id == self.tenant_id, RULES.c.mailbox == mailbox, RULES.c.kind == kind,
                RULES.c.match == match, RULES.c.value == normalise(match, value)))
        return done.rowcount > 0

    # --- consent -------------------------------------------------------------------------------

    def consent(self, mailbox: str) -> str | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(USERS.c.share_consent).where(
                USERS.c.tenant_id == self.tenant_id, USERS.c.mailbox == mailbox)).scalar()
        return str(found) if found else None

    def set_consent(self, mailbox: str, state: str) -> None:
        assert state in CONSENT_STATES
        keys = (USERS.c.tenant_id == self.tenant_id, USERS.c.mailbox == mailbox)
        now = self.clock()
        with self.engine.begin() as conn:
            done = conn.execute(update(USERS).where(*keys).values(share_consent=state, consent_at=now))
            if done.rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(USERS).values(tenant_id=self.tenant_id, mailbox=mailbox,
                                                          share_consent=state, consent_at=now))
                except IntegrityError:
                    conn.execute(update(USERS).where(*keys).values(share_consent=state, consent_at=now))

    # --- senders' feedback addresses --------------------------------------------------------

    def set_feedback_address(self, domain: str, address: str) -> None:
        domain = normalise("domain", domain)
        address = normalise("address", address)
        keys = (FEEDBACK_ADDRESSES.c.tenant_id == self.tenant_id, FEEDBACK_ADDRESSES.c.domain == domain)
        with self.engine.begin() as conn:
            done = conn.execute(update(FEEDBACK_ADDRESSES).where(*keys).values(address=address))
            if done.rowcount == 0:
                conn.execute(insert(FEEDBACK_ADDRESSES).values(
                    tenant_id=self.tenant_id, domain=domain, address=address))

    def feedback_address(self, domain: str) -> tuple[str, str] | None:
        """``(domain, address)`` registered for ``domain`` or, failing that, for its
        registered domain."""
        candidates = list(dict.fromkeys([domain.lower(), registered_domain(domain.lower())]))
        with self.engine.connect() as conn:
            rows = dict(conn.execute(select(FEEDBACK_ADDRESSES.c.domain, FEEDBACK_ADDRESSES.c.address).where(
                FEEDBACK_ADDRESSES.c.tenant_id == self.tenant_id,
                FEEDBACK_ADDRESSES.c.domain.in_(candidates))).tuples().all())
        for candidate in candidates:
            if candidate in rows:
                return candidate, rows[candidate]
        return None

    # --- reports sent ---------------------------------------------------------------------------

    def log_report(self, mailbox: str, domain: str, address: str, message_id: str | None,
                   outcome: str, detail: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(SENT_REPORTS).values(
                tenant_id=self.tenant_id, mailbox=mailbox, reported_domain=domain[:255],
                feedback_address=address, message_id=message_id[:998] if message_id else None,
                outcome=outcome, detail=detail, sent_at=self.clock()))

    def reports(self, mailbox: str | None = None, limit: int = 100) -> list[dict[str, object]]:
        query = select(SENT_REPORTS).where(SENT_REPORTS.c.tenant_id == self.tenant_id)
        if mailbox is not None:
            query = query.where(SENT_REPORTS.c.mailbox == mailbox)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(SENT_REPORTS.c.id.desc()).limit(limit)).mappings().all()
        return [{k: (v.isoformat() + "Z" if k == "sent_at" else v) for k, v in r.items() if k != "tenant_id"}
                for r in rows]
