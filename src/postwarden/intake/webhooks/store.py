"""Where each tenant's webhook secrets live: one row per (tenant, provider)."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, select, update

from postwarden.errors import InvalidInput
from postwarden.intake.webhooks import get
from postwarden.ledger.models import WEBHOOK_SECRETS
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
