"""SPF, DKIM and DMARC against a real name server on loopback, and reading a trusted
upstream's Authentication-Results."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from postwarden.mailbox import read_message
from postwarden.mailbox.auth import (
    AuthResults,
    Envelope,
    MethodResult,
    auth_signals,
    check,
    from_upstream,
    parse_authentication_results,
)
from postwarden.resolver import make_resolver
from postwarden.settings import Settings
from tests.dnsserver import dns_server
from tests.mailbox.signing import key_pair, sign


def mail(sender: str = "news@shop.example", subject: str = "Your order") -> bytes:
    return (f"From: Shop <{sender}>\r\nTo: alice@example.org\r\nSubject: {subject}\r\n"
            "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@shop.example>\r\n\r\n"
            "Your order has shipped.\r\n").encode()


def zone_records() -> list[tuple[str, str, str]]:
    _, dkim_txt = key_pair()
    return [
        ("shop.example", "TXT", '"v=spf1 ip4:192.0.2.10 -all"'),
        ("s1._domainkey.shop.example", "TXT", dkim_txt),
        ("_dmarc.shop.example", "TXT", '"v=DMARC1; p=reject; adkim=r; aspf=r"'),
        ("mail.shop.example", "A", "192.0.2.10"),
        ("bulk.example", "TXT", '"v=spf1 ip4:198.51.100.7 ~all"'),
        ("_dmarc.quiet.example", "TXT", '"v=DMARC1; p=quarantine; sp=none"'),
    ]


def run(raw: bytes, envelope: Envelope, server: str) -> AuthResults:
    resolver = make_resolver(Settings({"dns_servers": [server], "dns_timeout": 1.0}))
    return check(raw, read_message(raw), envelope, resolver)


def test_spf_dkim_and_aligned_dmarc_pass() -> None:
    with dns_server(zone_records()) as (zone, server):
        raw = sign(mail(), "shop.example")
        results = run(raw, Envelope("192.0.2.10", "mail.shop.example", "bounce@shop.example"), server)
        assert (results.result_of("spf"), results.result_of("dkim"), results.result_of("dmarc")) == (
            "pass", "pass", "pass")
        assert results.dmarc_policy == "reject" and results.from_domain == "shop.example"
        assert zone.count("s1._domainkey.shop.example", "TXT") == 1
        header = results.header("mx.example.org")
        assert header.startswith("mx.example.org;") and "dkim=pass header.d=shop.example" in header
        assert [s.name for s in auth_signals(results)] == ["DMARC_PASS"]


def test_forged_from_fails_dmarc_with_the_owners_policy() -> None:
    with dns_server(zone_records()) as (_, server):
        # unsigned, from a server shop.example does not list, with an envelope of another domain
        results = run(mail(), Envelope("203.0.113.5", "evil.example", "x@evil.example"), server)
        assert results.result_of("spf") == "none"  # evil.example publishes no SPF
        assert results.result_of("dmarc") == "fail" and results.dmarc_policy == "reject"
        assert "DMARC_FAIL_REJECT" in [s.name for s in auth_signals(results)]
        # the same server using shop.example as its envelope: SPF fails too
        results = run(mail(), Envelope("203.0.113.5", "evil.example", "x@shop.example"), server)
        assert results.result_of("spf") == "fail"
        assert {"DMARC_FAIL_REJECT", "SPF_FAIL"} <= {s.name for s in auth_signals(results)}


def test_altered_message_fails_dkim_and_spf_alone_can_align() -> None:
    with dns_server(zone_records()) as (_, server):
        signed = sign(mail(), "shop.example")
        tampered = signed.replace(b"Your order has shipped.", b"Your order is lost, pay here.")
        results = run(tampered, Envelope("192.0.2.10", "mail.shop.example", "bounce@shop.example"), server)
        assert results.result_of("dkim") == "fail"
        assert results.result_of("spf") == "pass" and results.result_of("dmarc") == "pass"


def test_organisational_policy_and_softfail_and_unsigned_subdomain() -> None:
    with dns_server(zone_records()) as (_, server):
        raw = mail("hello@news.quiet.example")
        results = run(raw, Envelope("198.51.100.9", "x", "x@bulk.example"), server)
        assert results.result_of("spf") == "softfail"
        # no record at news.quiet.example: the organisational domain's sp= applies
        assert results.result_of("dmarc") == "fail" and results.dmarc_policy == "none"
        assert {s.name for s in auth_signals(results)} == {"SPF_SOFTFAIL", "DMARC_FAIL_NONE"}


def test_dns_failures_are_temperror_not_crashes() -> None:
    with dns_server([], silent=["_dmarc.slow.example", "slow.example"]) as (_, server):
        resolver = make_resolver(Settings({"dns_servers": [server], "dns_timeout": 0.3}))
        raw = mail("a@slow.example")
        results = check(raw, read_message(raw), Envelope("192.0.2.1", "h", "a@slow.example"), resolver)
        assert results.result_of("spf") == "temperror"
        assert results.result_of("dmarc") == "temperror"


def test_trusted_upstream_results_are_used_and_others_ignored() -> None:
    raw = (b"Authentication-Results: forger.example; dmarc=pass header.from=bank.example\r\n"
           b"Authentication-Results: mx.upstream.example (Postfix);\r\n"
           b"  spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=bank.example;\r\n"
           b"  dkim=none; dmarc=fail (p=reject) policy.p=reject header.from=bank.example\r\n"
           b"From: Bank <alerts@bank.example>\r\nSubject: verify\r\n\r\nclick\r\n")
    view = read_message(raw)
    assert from_upstream(view, frozenset({"nobody.example"})) is None
    results = from_upstream(view, frozenset({"mx.upstream.example"}))
    assert results is not None and results.source == "upstream:mx.upstream.example"
    assert (results.result_of("spf"), results.result_of("dmarc"), results.dmarc_policy) == (
        "fail", "fail", "reject")


def test_parse_authentication_results_shapes() -> None:
    authserv, results = parse_authentication_results(
        "example.com 1; dkim/1=pass (good) header.d=a.example header.s=\"sel\";"
        " spf=pass smtp.mailfrom=a.example")
    assert authserv == "example.com"
    assert results == (MethodResult("dkim", "pass", (("header.d", "a.example"), ("header.s", "sel"))),
                       MethodResult("spf", "pass", (("smtp.mailfrom", "a.example"),)))
    assert parse_authentication_results("") == ("", ())
    assert parse_authentication_results("x; none")[1] == ()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_authentication_results_parser_never_raises(value: str) -> None:
    authserv, results = parse_authentication_results(value)
    assert isinstance(authserv, str)
    for r in results:
        r.render()


_JUNK_HEADERS = st.sampled_from([
    b"DKIM-Signature: v=1; a=rsa-sha256; d=; s=\xff; b=!!; bh=??\r\n",
    b"DKIM-Signature: d=shop.example; s=s1; h=from; b=AAAA; bh=AAAA\r\n",
    b"From: <@>\r\n", b"From: a@\xc3\x28.example\r\n", b"From: x@" + b"a." * 140 + b"example\r\n",
    b"Authentication-Results: ;;;==\r\n", b"\r\n",
])


@settings(max_examples=60, deadline=None)
@given(st.lists(_JUNK_HEADERS, max_size=4), st.binary(max_size=200),
       st.sampled_from(["", "not an ip", "192.0.2.1", "::1"]), st.text(max_size=40))
def test_checks_never_raise_on_junk(headers: list[bytes], tail: bytes, ip: str, mail_from: str) -> None:
    raw = b"".join(headers) + tail
    with dns_server([]) as (_, server):
        results = run(raw, Envelope(ip or None, "helo", mail_from), server)
    assert results.result_of("dmarc") in ("none", "pass", "fail", "temperror")
    results.header("mx.example.org")
