"""A loopback name server with a zone of every kind of domain, verifiers pointed at
it, and real postwarden HTTP servers whose settings name it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.ledger.tenants import create_api_key
from postwarden.verify import Verifier
from tests.dnsserver import Zone, dns_server
from tests.servers import serve_in_thread

ZONE = [
    ("good.net", "MX", "10 mx1.good.net", 600),
    ("good.net", "MX", "20 mx2.good.net", 600),
    ("mx1.good.net", "A", "192.0.2.10"),
    ("nullmx.net", "MX", "0 ."),
    ("only-a.net", "A", "192.0.2.20"),
    ("only-aaaa.net", "AAAA", "2001:db8::20"),
    ("nomail.net", "TXT", "v=spf1 -all"),
    ("short-ttl.net", "MX", "10 mx.short-ttl.net", 5),
    ("gmial.com", "MX", "10 mx.gmial.com"),
    ("gmail.com", "MX", "5 gmail-smtp-in.l.google.com"),
    ("xn--mnchen-3ya.de", "MX", "10 mx.xn--mnchen-3ya.de"),
    ("mailinator.com", "MX", "10 mail.mailinator.com"),
]
SILENT = ["slow.net"]
SERVFAIL = ["broken.net"]
TIMEOUT = 1.0  # short for the silent server, long enough for a loaded machine


@dataclass
class Dns:
    zone: Zone
    server: str

    def settings(self, **values: object) -> settings_mod.Settings:
        return settings_mod.Settings({"dns_servers": [self.server], "dns_timeout": TIMEOUT, **values})


@pytest.fixture
def dns() -> Iterator[Dns]:
    """A fresh server per test, so query counts are the test's own."""
    with dns_server(ZONE, silent=SILENT, servfail=SERVFAIL) as (zone, server):
        yield Dns(zone, server)


@pytest.fixture
def verifier(dns: Dns) -> Verifier:
    return Verifier(dns.settings())


@pytest.fixture(scope="session")
def shared_dns() -> Iterator[Dns]:
    with dns_server(ZONE, silent=SILENT, servfail=SERVFAIL) as (zone, server):
        yield Dns(zone, server)


_servers: dict[tuple[str, bool], str] = {}


def _client(engine: Engine, db_url: str, tenant: str, dns: Dns, screening: bool) -> Iterator[httpx.Client]:
    if (db_url, screening) not in _servers:
        settings = settings_mod.load(env={}, database_url=db_url, dns_servers=[dns.server],
                                     dns_timeout=TIMEOUT, verify_on_check=screening,
                                     verify_on_import=screening)
        _servers[(db_url, screening)] = serve_in_thread(engine, settings).url
    key = create_api_key(engine, tenant, "test")
    with httpx.Client(base_url=_servers[(db_url, screening)], headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as client:
        yield client


@pytest.fixture
def api(engine: Engine, db_url: str, tenant: str, shared_dns: Dns) -> Iterator[httpx.Client]:
    """Verification off at check and import (the default)."""
    yield from _client(engine, db_url, tenant, shared_dns, screening=False)


@pytest.fixture
def screening_api(engine: Engine, db_url: str, tenant: str, shared_dns: Dns) -> Iterator[httpx.Client]:
    """``verify_on_check`` and ``verify_on_import`` on."""
    yield from _client(engine, db_url, tenant, shared_dns, screening=True)
