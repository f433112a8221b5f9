"""Tenants (accounts) and their API keys. Keys are random, shown once at creation
and stored only as a SHA-256 digest: they carry 256 bits of entropy, so a slow
password hash would add nothing but latency to every request."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from postwarden.errors import Conflict, InvalidInput, NotFound, Unauthorized
from postwarden.ledger.models import API_KEYS, GENESIS_HASH, TENANTS, ApiKey, Tenant
from postwarden.ledger.service import utcnow

KEY_PREFIX = "pw_"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}\Z")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_tenant(engine: Engine, name: str) -> int:
    if not _NAME.match(name):
        raise InvalidInput(f"tenant name {name!r} is not valid: use lower-case letters, digits, '-' and '_'")
    try:
        with engine.begin() as conn:
            return int(conn.execute(TENANTS.insert().values(
                name=name, created_at=utcnow(), audit_seq=0, audit_head=GENESIS_HASH,
            ).returning(TENANTS.c.id)).scalar_one())
    except IntegrityError as exc:
        raise Conflict(f"a tenant named {name!r} exists already") from exc


def tenant_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(n) for n in conn.execute(select(Tenant.name).order_by(Tenant.name)).scalars()]


def create_api_key(engine: Engine, tenant: str, label: str | None = None) -> str:
    """Create a key for ``tenant`` and return it; it is not stored and cannot be shown again."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        tenant_id = conn.execute(select(Tenant.id).where(Tenant.name == tenant)).scalar()
        if tenant_id is None:
            raise NotFound(f"no tenant named {tenant!r}: create it with `postwarden tenant create {tenant}`")
        conn.execute(API_KEYS.insert().values(
            tenant_id=tenant_id, prefix=key[:10], key_hash=digest(key), label=label,
            created_at=utcnow(), revoked_at=None))
    return key


# API keys recently seen: the HTTP API asks on every request. A revoked key keeps
# working for at most KEY_CACHE_SECONDS in a process that had seen it.
KEY_CACHE_SECONDS = 5.0
_key_cache: dict[tuple[int, str], tuple[float, str]] = {}


def recent_tenant_for_key(engine: Engine, key: str) -> str | None:
    """The tenant of a key seen within KEY_CACHE_SECONDS, without asking the database."""
    cached = _key_cache.get((id(engine), digest(key)))
    if cached is not None and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    return None


def tenant_for_key(engine: Engine, key: str) -> str:
    cached = recent_tenant_for_key(engine, key)
    if cached is not None:
        return cached
    cache_key = (id(engine), digest(key))
    name = _tenant_for_key(engine, key)
    if len(_key_cache) > 10_000:
        _key_cache.clear()
    _key_cache[cache_key] = (time.monotonic(), name)
    return name


def _tenant_for_key(engine: Engine, key: str) -> str:
    with engine.connect() as conn:
        name = conn.execute(
            select(Tenant.name).join(ApiKey, ApiKey.tenant_id == Tenant.id)
            .where(ApiKey.key_hash == digest(key), ApiKey.revoked_at.is_(None))
        ).scalar()
    if name is None:
        raise Unauthorized("the API key is unknown or revoked: send a valid key as "
                           "'Authorization: Bearer <key>' (create one with `postwarden key create`)")
    return str(name)


def tenant_name(engine: Engine, tenant_id: int) -> str:
    with engine.connect() as conn:
        name = conn.execute(select(Tenant.name).where(Tenant.id == tenant_id)).scalar()
    if name is None:
        raise NotFound(f"no tenant with id {tenant_id}")
    return str(name)
