"""Domain health against a real name server on loopback with its own zone."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from postwarden.reports.health import (
    check_domain,
    dkim_key,
    dmarc_policy,
    dnsbl_name,
    judge_listing,
    organizational_domain,
    spf_terms,
)
from postwarden.resolver import make_resolver
from postwarden.settings import load
from tests.dnsserver import Record, dns_server


def _rsa(bits: int) -> str:
    # Keys under 1024 bits cannot be generated any more; a modulus of the size will do.
    key = (rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key() if bits >= 1024
           else rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) | 0xB5).public_key())
    return base64.b64encode(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).decode()


def _txt(text: str) -> str:
    # TXT strings are at most 255 bytes each: split long keys the way zone files do.
    return " ".join(f'"{text[i:i + 200]}"' for i in range(0, len(text), 200))


def test_a_healthy_domain() -> None:
    records: list[Record] = [
        ("good.example.", "TXT", '"v=spf1 ip4:192.0.2.0/24 include:_spf.esp.example -all"'),
        ("good.example.", "TXT", '"some-site-verification=abc"'),
        ("_spf.esp.example.", "TXT", '"v=spf1 ip4:198.51.100.0/24 ~all"'),
        ("s1._domainkey.good.example.", "TXT", _txt(f"v=DKIM1; k=rsa; p={_rsa(2048)}")),
        ("_dmarc.good.example.", "TXT",
         '"v=DMARC1; p=reject; adkim=s; rua=mailto:dmarc@good.example; ruf=mailto:f@good.example"'),
        ("good.example.", "MX", "10 mx1.good.example."),
        # 192.0.2.1 is listed on the first blocklist only.
        ("1.2.0.192.zen.test.", "A", "127.0.0.2"),
    ]
    with dns_server(records) as (_, address):
        resolver = make_resolver(load(env={}, dns_servers=[address], dns_timeout=1.0))
        report = check_domain(resolver, "Good.Example.", selectors=["s1", "s2"], ips=["192.0.2.1"],
                              ip_zones=["zen.test", "bl.test"], domain_zones=["dbl.test"])
    assert report.spf.status == "ok", report.spf.problems
    assert report.spf.lookups == 1
    assert [n.domain for n in report.spf.tree.includes] == ["_spf.esp.example"]
    assert {k.selector: k.status for k in report.dkim} == {"s1": "ok", "s2": "missing"}
    assert report.dkim[0].bits == 2048
    assert (report.dmarc.policy, report.dmarc.adkim, report.dmarc.status) == ("reject", "s", "ok")
    assert report.dmarc.rua == ["mailto:dmarc@good.example"]
    assert report.mx.hosts == [(10, "mx1.good.example")]
    listed = {(x.subject, x.zone): x.listed for x in report.blocklists}
    assert listed == {("192.0.2.1", "zen.test"): True, ("192.0.2.1", "bl.test"): False,
                      ("good.example", "dbl.test"): False}
    body = report.as_json()
    assert body["dkim_status"] == "ok" and body["spf"]["status"] == "ok"


def test_spf_over_ten_lookups_loops_and_missing_records() -> None:
    includes = " ".join(f"include:i{n}.example" for n in range(6))
    records: list[Record] = [
        ("heavy.example.", "TXT", f'"v=spf1 a mx {includes} include:loop.example ?all"'),
        *[(f"i{n}.example.", "TXT", '"v=spf1 a ~all"') for n in range(5)],
        ("loop.example.", "TXT", '"v=spf1 include:heavy.example -all"'),
        ("_dmarc.heavy.example.", "TXT", '"v=DMARC1; p=none"'),
    ]
    with dns_server(records, servfail=["k1._domainkey.heavy.example."]) as (_, address):
        resolver = make_resolver(load(env={}, dns_servers=[address], dns_timeout=1.0))
        report = check_domain(resolver, "heavy.example", selectors=["k1"])
    spf = report.spf
    # a, mx, 6 includes, loop include, and in the includes: 5 × a, 1 include back = 15.
    assert spf.lookups == 15
    assert spf.status == "error"
    text = " ".join(spf.problems)
    assert "over the limit of 10" in text
    assert "i5.example: no SPF record" in text
    assert "loops" in text
    assert any("?all" in w for w in spf.warnings)
    assert report.dkim[0].status == "missing" and report.dkim[0].problems   # SERVFAIL said so
    assert report.dmarc.status == "warning"
    assert any("p=none" in w for w in report.dmarc.warnings)
    assert any("no rua" in w for w in report.dmarc.warnings)
    assert report.mx.status == "error"


def test_no_records_at_all_and_a_subdomain_using_the_parent_policy() -> None:
    records: list[Record] = [
        ("_dmarc.example.co.uk.", "TXT", '"v=DMARC1; p=quarantine; rua=mailto:r@example.co.uk"')]
    with dns_server(records, silent=["nothing.example."]) as (_, address):
        resolver = make_resolver(load(env={}, dns_servers=[address], dns_timeout=0.3))
        sub = check_domain(resolver, "mail.example.co.uk", selectors=[])
        empty = check_domain(resolver, "nothing.example", selectors=[])
    assert sub.dmarc.found_at == "example.co.uk" and sub.dmarc.policy == "quarantine"
    assert sub.spf.status == "error" and "no SPF record" in sub.spf.problems[0]
    assert "lookup failed" in empty.spf.problems[0]


def test_pure_judgements() -> None:
    assert spf_terms("v=spf1 -ip4:1.2.3.4 a/24 redirect=x.example") == [
        ("-", "ip4", "1.2.3.4"), ("+", "a", "/24"), ("", "redirect", "x.example")]
    weak = dkim_key("old", f"v=DKIM1; p={_rsa(512)}")
    assert weak.bits == 512 and "under 1024" in weak.problems[0]
    assert dkim_key("gone", "v=DKIM1; p=").problems == ["p= is empty: the key is revoked"]
    assert "not a well-formed" in dkim_key("bad", "v=DKIM1; p=AAAA").problems[0]
    ed = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert dkim_key("ed", f"v=DKIM1; k=ed25519; p={base64.b64encode(ed).decode()}").status == "ok"
    bad = dmarc_policy("x.example", "x.example", "v=DMARC1; p=block; adkim=x; pct=abc; rua=http://x")
    assert len(bad.problems) == 4
    assert organizational_domain("a.b.example.com") == "example.com"
    assert dnsbl_name("192.0.2.1", "zen.test") == "1.2.0.192.zen.test"
    assert dnsbl_name("2001:db8::1", "z.test").startswith("1.0.0.0.") and dnsbl_name(
        "2001:db8::1", "z.test").endswith(".8.b.d.0.1.0.0.2.z.test")
    assert dnsbl_name("Spam.Example", "dbl.test") == "spam.example.dbl.test"
    refused = judge_listing("192.0.2.1", "zen.spamhaus.org", ["127.255.255.254"])
    assert not refused.listed and refused.error


@pytest.mark.parametrize("answer", [["127.0.0.2"], ["127.0.1.2", "127.255.255.254"]])
def test_listing_answers(answer: list[str]) -> None:
    assert judge_listing("example.com", "dbl.test", answer).listed
