"""Secrets shared by every process of one installation."""

from __future__ import annotations

from sqlalchemy import Engine, select

from postwarden import settings as settings_mod
from postwarden.errors import DatabaseUnavailable
from postwarden.ledger.models import SECRETS


def token_key(engine: Engine, settings: settings_mod.Settings) -> bytes:
    """The HMAC key of VERP and unsubscribe tokens: the ``token_key`` setting, or the
    key `postwarden init` made and stored in the database."""
    if settings.token_key:
        return str(settings.token_key).encode()
    with engine.connect() as conn:
        value = conn.execute(select(SECRETS.c.value).where(SECRETS.c.name == "token_key")).scalar()
    if value is None:
        raise DatabaseUnavailable("the database has no token key: run `postwarden init`")
    return bytes.fromhex(str(value))
