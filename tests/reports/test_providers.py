from __future__ import annotations

import pytest

from postwarden.reports.providers import (
    MAILBOX_PROVIDERS,
    MailboxProvider,
    provider_for_domain,
    provider_for_mx,
    provider_label,
    resolve_provider,
)
from postwarden.resolver import make_resolver
from postwarden.settings import load
from tests.dnsserver import dns_server


@pytest.mark.parametrize("row", MAILBOX_PROVIDERS, ids=lambda row: row.name)
def test_every_row_recognises_its_sample(row: MailboxProvider) -> None:
    domain, host = row.sample
    if row.domains:
        assert provider_for_domain(domain) == row.name
    assert provider_for_mx([host]) == row.name


@pytest.mark.parametrize(("domain", "provider"), [
    ("GMAIL.COM.", "google"),
    ("hotmail.fr", "microsoft"),
    ("outlook.com.br", "microsoft"),
    ("yahoo.co.jp", "yahoo"),
    ("yahoo.com.tw", "yahoo"),
    ("aol.de", "yahoo"),
    ("gmx.at", "gmx"),
    ("example.com", None),
    ("live.example.com", None),   # a stem followed by a real domain is not a country
    ("yahoo.", None),
    ("mail.yahoo.com", None),     # only the listed names, not their subdomains
])
def test_domains_and_country_variants(domain: str, provider: str | None) -> None:
    assert provider_for_domain(domain) == provider


def test_mx_suffix_matches_on_label_boundary() -> None:
    assert provider_for_mx(["mx.notgoogle.com"]) is None
    assert provider_for_mx(["mx.example.net", "alt1.aspmx.l.google.com."]) == "google"
    assert provider_for_mx([]) is None


def test_labels() -> None:
    assert provider_label("microsoft").startswith("Microsoft")
    assert provider_label(None) == provider_label("other") == "Other providers"


def test_company_domain_found_by_its_mx_over_real_dns() -> None:
    records = [
        ("contoso.example.", "MX", "10 contoso-example.mail.protection.outlook.com."),
        ("startup.example.", "MX", "1 aspmx.l.google.com."),
        ("startup.example.", "MX", "10 alt1.aspmx.l.google.com."),
        ("selfhosted.example.", "MX", "10 mx.selfhosted.example."),
    ]
    with dns_server(records, silent=["slow.example."]) as (zone, address):
        settings = load(env={}, dns_servers=[address], dns_timeout=0.3)
        resolver = make_resolver(settings)
        assert resolve_provider("contoso.example", resolver) == "microsoft"
        assert resolve_provider("Startup.Example", resolver) == "google"
        assert resolve_provider("selfhosted.example", resolver) is None
        assert resolve_provider("nowhere.example", resolver) is None
        assert resolve_provider("gmail.com", resolver) == "google"   # no lookup needed
        assert resolve_provider("slow.example", resolver) is None
        before = zone.queries[("contoso.example", "MX")]
        resolve_provider("contoso.example", resolver)
        assert zone.queries[("contoso.example", "MX")] == before   # remembered
        resolve_provider("slow.example", resolver)
        # A timeout is not remembered: the next message asks again.
        assert zone.queries[("slow.example", "MX")] >= 2
