"""Where each tenant's webhook secrets live (one row per tenant and provider), and
the one-time tokens seen within the replay window."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from postwarden.errors import InvalidInput
from postwarden.intake.webhooks import get
from postwarden.ledger.models import WEBHOOK_NONCES, WEBHOOK_SECRETS
from postwarden.ledger.service import utcnow


def set_secret(engine: Engine, tenant_id: int, provider: str, value: str | None) -> str:
    """Store (or replace) the tenant's secret for ``provider``; returns what was stored.
    With no value, basic-auth providers get fresh random credentials."""
    spec = get(provider)
    if value is None:
        if spec.secret_kind != "basic":
            raise InvalidInput(f"give the {spec.name} secret with --value: {spec.secret_help}")
        value = f"postwarden:{secrets.token_urlsafe(24)}"
    value = spec.check_secret(value)
    now = utcnow()
    with engine.begin() as conn:
        changed = conn.execute(update(WEBHOOK_SECRETS).where(
            WEBHOOK_SECRETS.c.tenant_id == tenant_id, WEBHOOK_SECRETS.c.provider == spec.name,
        ).values(value=value, updated_at=now)).rowcount
        if not changed:
            conn.execute(WEBHOOK_SECRETS.insert().values(
                tenant_id=tenant_id, provider=spec.name, value=value, created_at=now, updated_at=now))
    return value


def secret_for(engine: Engine, tenant_id: int, provider: str) -> str | None:
    with engine.connect() as conn:
        value = conn.execute(select(WEBHOOK_SECRETS.c.value).where(
            WEBHOOK_SECRETS.c.tenant_id == tenant_id, WEBHOOK_SECRETS.c.provider == provider)).scalar()
    return None if value is None else str(value)


# Expired tokens are deleted now and then, not on every request.
PURGE_SECONDS = 60.0
_purged = {"at": 0.0}
_purge_lock = threading.Lock()


def first_use(engine: Engine, tenant_id: int, provider: str, token: str, body_sha256: str,
              expires_at: datetime, now: datetime) -> bool:
    """Remember ``token`` until ``expires_at`` (past the last moment its signature is
    accepted); False when it was seen before with another body. The same token with
    the same body (the provider sending the same request again, say after our answer
    was lost) passes: applying it again changes nothing."""
    with _purge_lock:
        due = time.monotonic() - _purged["at"] >= PURGE_SECONDS
        if due:
            _purged["at"] = time.monotonic()
    if due:
        with engine.begin() as conn:
            conn.execute(delete(WEBHOOK_NONCES).where(WEBHOOK_NONCES.c.expires_at < now))
    try:
        with engine.begin() as conn:
            conn.execute(WEBHOOK_NONCES.insert().values(
                tenant_id=tenant_id, provider=provider, token=token, body_sha256=body_sha256,
                expires_at=expires_at))
        return True
    except IntegrityError:
        pass
    with engine.connect() as conn:
        seen = conn.execute(select(WEBHOOK_NONCES.c.body_sha256).where(
            WEBHOOK_NONCES.c.tenant_id == tenant_id, WEBHOOK_NONCES.c.provider == provider,
            WEBHOOK_NONCES.c.token == token)).scalar()
    # Rows outlive the window their signatures are accepted in, so a token found
    # here is one still in use; one purged in between was out of its window anyway.
    return seen is None or hmac.compare_digest(str(seen), body_sha256)
