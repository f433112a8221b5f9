"""Report tests: a loopback name server with the sending domain's records and test
blocklists, and a postwarden HTTP server per backend whose settings point at it."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.ledger.tenants import create_api_key
from tests.dnsserver import Record, dns_server
from tests.servers import serve_in_thread

SENDING_DOMAIN = "news.example.org"
SENDING_IP = "192.0.2.25"


def _key() -> str:
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = base64.b64encode(public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()
    text = f"v=DKIM1; k=rsa; p={der}"
    return " ".join(f'"{text[i:i + 200]}"' for i in range(0, len(text), 200))


ZONE: list[Record] = [
    (f"{SENDING_DOMAIN}.", "TXT", '"v=spf1 ip4:192.0.2.0/24 -all"'),
    (f"s1._domainkey.{SENDING_DOMAIN}.", "TXT", _key()),
    (f"_dmarc.{SENDING_DOMAIN}.", "TXT", '"v=DMARC1; p=quarantine; rua=mailto:dmarc@bounce.localhost"'),
    (f"{SENDING_DOMAIN}.", "MX", "10 mx.example.org."),
    # The sending IP is listed on the first test blocklist.
    ("25.2.0.192.ip.bl.test.", "A", "127.0.0.2"),
]


@pytest.fixture(scope="session")
def report_dns() -> Iterator[str]:
    with dns_server(ZONE) as (_, address):
        yield address


def report_settings(db_url: str, dns: str, **values: object) -> settings_mod.Settings:
    return settings_mod.load(env={}, database_url=db_url, dns_servers=[dns], dns_timeout=1.0,
                             dkim_selectors=["s1"], dnsbl_ip_zones=["ip.bl.test", "other.bl.test"],
                             dnsbl_domain_zones=["dom.bl.test"], sending_ips=[SENDING_IP], **values)


_servers: dict[str, str] = {}


@pytest.fixture
def report_api(engine: Engine, db_url: str, tenant: str, report_dns: str) -> Iterator[httpx.Client]:
    if db_url not in _servers:
        _servers[db_url] = serve_in_thread(engine, report_settings(db_url, report_dns)).url
    key = create_api_key(engine, tenant, "test")
    with httpx.Client(base_url=_servers[db_url], headers={"Authorization": f"Bearer {key}"},
                      timeout=60) as client:
        yield client
