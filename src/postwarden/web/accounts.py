"""Operator accounts and their browser sessions.

Passwords are kept only as argon2 hashes. A session cookie carries 256 random bits;
the database keeps their SHA-256, as with API keys. Each session has its own CSRF
token, which every form posts back (the synchroniser-token pattern): a page on
another site can make the browser send the cookie, but cannot read the token."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from postwarden.errors import Conflict, InvalidInput, NotFound
from postwarden.ledger.models import OPERATORS, TENANTS, WEB_SESSIONS
from postwarden.ledger.service import utcnow

MIN_PASSWORD = 10
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}\Z")
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked against when the account does not exist, so that a wrong name takes as
    long to refuse as a wrong password and does not reveal which names exist. Made on
    first use: an argon2 hash takes a tenth of a second by design, which every
    process importing this module (every CLI command) paid before."""
    return _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Session:
    token_hash: str
    operator_id: int
    operator: str
    tenant_id: int
    tenant: str
    csrf_token: str
    expires_at: datetime
    flash: str | None

    def flash_parts(self) -> tuple[str, str] | None:
        """The flash as (tone, message)."""
        if self.flash is None:
            return None
        tone, _, message = self.flash.partition(":")
        return tone, message

    def csrf_ok(self, offered: str) -> bool:
        return same(self.csrf_token, offered)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _tenant_id(engine: Engine, tenant: str) -> int | None:
    with engine.connect() as conn:
        found = conn.execute(select(TENANTS.c.id).where(TENANTS.c.name == tenant)).scalar()
    return None if found is None else int(found)


def create_operator(engine: Engine, tenant: str, name: str, password: str) -> int:
    if not _NAME.match(name):
        raise InvalidInput(f"operator name {name!r} is not valid: use letters, digits, '.', '_', '@' "
                           "and '-' (up to 100)")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD} characters")
    tenant_id = _tenant_id(engine, tenant)
    if tenant_id is None:
        raise NotFound(f"no tenant named {tenant!r}: create it with `postwarden tenant create {tenant}`")
    try:
        with engine.begin() as conn:
            return int(conn.execute(OPERATORS.insert().values(
                tenant_id=tenant_id, name=name, password_hash=_hasher.hash(password), created_at=utcnow(),
                disabled_at=None, last_sign_in_at=None).returning(OPERATORS.c.id)).scalar_one())
    except IntegrityError as exc:
        raise Conflict(f"tenant {tenant!r} has an operator named {name!r} already") from exc


def set_password(engine: Engine, tenant: str, name: str, password: str) -> None:
    """A new password; the operator's open sessions end."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD} characters")
    operator_id = _operator_id(engine, tenant, name)
    with engine.begin() as conn:
        conn.execute(update(OPERATORS).where(OPERATORS.c.id == operator_id)
                     .values(password_hash=_hasher.hash(password), disabled_at=None))
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.operator_id == operator_id))


def disable_operator(engine: Engine, tenant: str, name: str) -> None:
    """The operator can no longer sign in; their open sessions end at once."""
    operator_id = _operator_id(engine, tenant, name)
    with engine.begin() as conn:
        conn.execute(update(OPERATORS).where(OPERATORS.c.id == operator_id).values(disabled_at=utcnow()))
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.operator_id == operator_id))


def operators(engine: Engine, tenant: str) -> list[tuple[str, datetime, datetime | None, datetime | None]]:
    """(name, created, last sign-in, disabled) of the tenant's operators."""
    tenant_id = _tenant_id(engine, tenant)
    if tenant_id is None:
        raise NotFound(f"no tenant named {tenant!r}")
    with engine.connect() as conn:
        rows = conn.execute(select(OPERATORS.c.name, OPERATORS.c.created_at, OPERATORS.c.last_sign_in_at,
                                   OPERATORS.c.disabled_at)
                            .where(OPERATORS.c.tenant_id == tenant_id).order_by(OPERATORS.c.name))
        return [(str(r.name), r.created_at, r.last_sign_in_at, r.disabled_at) for r in rows]


def _operator_id(engine: Engine, tenant: str, name: str) -> int:
    with engine.connect() as conn:
        found = conn.execute(select(OPERATORS.c.id).join(TENANTS, TENANTS.c.id == OPERATORS.c.tenant_id)
                             .where(TENANTS.c.name == tenant, OPERATORS.c.name == name)).scalar()
    if found is None:
        raise NotFound(f"tenant {tenant!r} has no operator named {name!r}")
    return int(found)


def sign_in(engine: Engine, tenant: str, name: str, password: str, lifetime: timedelta) -> str | None:
    """A new session's token, or None if the tenant, name or password is wrong (which
    of them is not said)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(OPERATORS.c.id, OPERATORS.c.tenant_id, OPERATORS.c.password_hash, OPERATORS.c.disabled_at)
            .join(TENANTS, TENANTS.c.id == OPERATORS.c.tenant_id)
            .where(TENANTS.c.name == tenant, OPERATORS.c.name == name)).first()
    try:
        _hasher.verify(row.password_hash if row else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled_at is not None:
        return None
    token = new_token()
    now = utcnow()
    with engine.begin() as conn:
        # Sessions past their time are removed here rather than by a job of their own.
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.expires_at < now))
        conn.execute(WEB_SESSIONS.insert().values(
            token_hash=_digest(token), operator_id=row.id, tenant_id=row.tenant_id,
            csrf_token=new_token(), created_at=now, expires_at=now + lifetime, flash=None))
        values: dict[str, object] = {"last_sign_in_at": now}
        if _hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = _hasher.hash(password)
        conn.execute(update(OPERATORS).where(OPERATORS.c.id == row.id).values(**values))
    return token


def session_for(engine: Engine, token: str) -> Session | None:
    """The live session a cookie names, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(WEB_SESSIONS, OPERATORS.c.name.label("operator"), TENANTS.c.name.label("tenant"))
            .join(OPERATORS, OPERATORS.c.id == WEB_SESSIONS.c.operator_id)
            .join(TENANTS, TENANTS.c.id == WEB_SESSIONS.c.tenant_id)
            .where(WEB_SESSIONS.c.token_hash == _digest(token), WEB_SESSIONS.c.expires_at > utcnow(),
                   OPERATORS.c.disabled_at.is_(None))).first()
    if row is None:
        return None
    return Session(row.token_hash, row.operator_id, row.operator, row.tenant_id, row.tenant, row.csrf_token,
                   row.expires_at, row.flash)


def sign_out(engine: Engine, session: Session) -> None:
    with engine.begin() as conn:
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.token_hash == session.token_hash))


def set_flash(engine: Engine, session: Session, message: str, tone: str = "ok") -> None:
    """``tone`` is ``ok`` (it worked) or ``warn`` (it ran, but did not get what was asked);
    it is kept before the message, as ``tone:message``."""
    with engine.begin() as conn:
        conn.execute(update(WEB_SESSIONS).where(WEB_SESSIONS.c.token_hash == session.token_hash)
                     .values(flash=f"{tone}:{message}"[:2000]))


def clear_flash(engine: Engine, session: Session) -> None:
    """The flash has been shown: it is not shown again."""
    with engine.begin() as conn:
        conn.execute(update(WEB_SESSIONS).where(WEB_SESSIONS.c.token_hash == session.token_hash)
                     .values(flash=None))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str, b: str) -> bool:
    """Compare secrets in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


class SignInThrottle:
    """Failed sign-ins per account (tenant and operator name) seen by this process:
    after ``limit`` of them within ``window`` seconds, that account's sign-in is
    refused until the oldest falls out of the window. Argon2 makes each guess slow;
    this caps how many one account can take."""

    def __init__(self, limit: int = 5, window: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[tuple[str, str], list[float]] = {}

    def wait(self, tenant: str, name: str) -> float:
        """Seconds until the account may try again; 0 when it may now."""
        now = self.clock()
        recent = [t for t in self._failures.get((tenant, name), []) if now - t < self.window]
        if recent:
            self._failures[(tenant, name)] = recent
        else:
            self._failures.pop((tenant, name), None)
        return recent[0] + self.window - now if len(recent) >= self.limit else 0.0

    def failed(self, tenant: str, name: str) -> None:
        if len(self._failures) > 100_000:  # bounded memory whatever is tried
            self._failures.clear()
        self._failures.setdefault((tenant, name), []).append(self.clock())

    def succeeded(self, tenant: str, name: str) -> None:
        self._failures.pop((tenant, name), None)
