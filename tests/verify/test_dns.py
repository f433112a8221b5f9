"""Domain checks against the loopback name server: every kind of answer, the TTL
cache, and one question per domain however many addresses share it."""

from __future__ import annotations

import asyncio
import time

import pytest
from dns.message import make_query, make_response
from dns.rrset import from_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postwarden.resolver import make_async_resolver
from postwarden.verify import Verifier
from postwarden.verify.domains import FAILURE_TTL, Answer, DnsCache, DomainChecker, negative_ttl
from tests.verify.conftest import TIMEOUT, Dns

CASES = [
    # address, verdict, reasons, mail hosts
    ("ann@good.net", "deliverable", [], ["mx1.good.net", "mx2.good.net"]),
    ("ann@nullmx.net", "undeliverable", ["null_mx"], []),
    ("ann@only-a.net", "deliverable", [], ["only-a.net"]),
    ("ann@only-aaaa.net", "deliverable", [], ["only-aaaa.net"]),
    ("ann@nomail.net", "undeliverable", ["no_mail_server"], []),
    ("ann@nowhere.net", "undeliverable", ["no_such_domain"], []),
    ("ann@broken.net", "risky", ["dns_failure"], []),
    ("ann@slow.net", "risky", ["dns_timeout"], []),
    ("postmaster@good.net", "risky", ["role"], ["mx1.good.net", "mx2.good.net"]),
    ("No-Reply+news@good.net", "risky", ["role"], ["mx1.good.net", "mx2.good.net"]),
    ("ann@mailinator.com", "risky", ["disposable"], ["mail.mailinator.com"]),
    ("ann@gmial.com", "risky", ["typo", "disposable"], ["mx.gmial.com"]),
    ("ann@gmial.net", "undeliverable", ["no_such_domain"], []),
    ("jürgen@münchen.de", "deliverable", [], ["mx.xn--mnchen-3ya.de"]),
    ("ann@@good.net", "undeliverable", ["syntax"], []),
]


@pytest.mark.parametrize(("address", "verdict", "reasons", "hosts"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_domain(verifier: Verifier, address: str, verdict: str, reasons: list[str],
                             hosts: list[str]) -> None:
    result = asyncio.run(verifier.verify(address))
    assert (result.verdict, list(result.reasons), list(result.mail_hosts)) == (verdict, reasons, hosts)
    assert bool(result.why) == bool(reasons)


def test_results_keep_order_and_say_why(verifier: Verifier) -> None:
    results = verifier.verify_sync(["ann@nowhere.net", "Ann@Good.NET", "ann@gmail,com", "ann@slow.net"])
    assert [r.address for r in results] == ["ann@nowhere.net", "ann@good.net", "ann@gmail,com",
                                            "ann@slow.net"]
    assert "does not exist" in results[0].why
    assert results[2].reasons == ("syntax",) and results[2].suggestion == "ann@gmail.com"
    assert f"{TIMEOUT:g} s" in results[3].why


def test_typo_suggestion_with_a_domain_that_does_not_exist(dns: Dns) -> None:
    result = asyncio.run(Verifier(dns.settings()).verify("ann@outlok.com"))
    assert result.verdict == "undeliverable"
    assert result.reasons == ("no_such_domain", "typo")
    assert result.suggestion == "ann@outlook.com"


def test_null_mx_beside_real_mx_is_ignored(dns: Dns) -> None:
    dns.zone.add("mixed.net", "MX", "0 .")
    dns.zone.add("mixed.net", "MX", "10 mx.mixed.net")
    result = asyncio.run(Verifier(dns.settings()).verify("ann@mixed.net"))
    assert result.verdict == "deliverable" and result.mail_hosts == ("mx.mixed.net",)


def test_ten_thousand_addresses_at_a_hundred_domains_ask_each_domain_once(dns: Dns) -> None:
    for n in range(100):
        dns.zone.add(f"d{n}.org", "MX", f"10 mx.d{n}.org")
    verifier = Verifier(dns.settings(verify_concurrency=20))
    done: list[int] = []
    results = verifier.verify_sync([f"u{k}@d{k % 100}.org" for k in range(10_000)], progress=done.append)
    assert {r.verdict for r in results} == {"deliverable"}
    assert sum(done) == 10_000
    assert dns.zone.total() == 100 == verifier.domains.lookups
    verifier.verify_sync(["again@d7.org"])
    assert dns.zone.total() == 100  # cached


def test_concurrent_questions_for_one_domain_are_asked_once(dns: Dns) -> None:
    verifier = Verifier(dns.settings())

    async def many() -> None:
        await asyncio.gather(*(verifier.verify(f"u{n}@good.net") for n in range(50)))

    asyncio.run(many())
    assert dns.zone.count("good.net", "MX") == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_answers_are_cached_for_their_ttl(dns: Dns) -> None:
    clock = FakeClock()
    checker = DomainChecker(make_async_resolver(dns.settings()), negative_ttl=60, clock=clock)

    def ask(domain: str, fresh: bool = False) -> str | None:
        return asyncio.run(checker.check(domain, fresh=fresh)).problem

    assert ask("short-ttl.net") is None and ask("good.net") is None
    clock.now += 4
    ask("short-ttl.net")
    assert dns.zone.count("short-ttl.net", "MX") == 1
    clock.now += 2  # past the 5 s TTL of short-ttl.net, well inside good.net's 600 s
    ask("short-ttl.net")
    ask("good.net")
    assert dns.zone.count("short-ttl.net", "MX") == 2 and dns.zone.count("good.net", "MX") == 1

    assert ask("nowhere.net") == "no_such_domain"
    clock.now += 59
    ask("nowhere.net")
    assert dns.zone.count("nowhere.net", "MX") == 1
    clock.now += 2  # the negative TTL (no SOA in the answer: the setting) ran out
    ask("nowhere.net")
    assert dns.zone.count("nowhere.net", "MX") == 2

    assert ask("nowhere.net", fresh=True) == "no_such_domain"
    assert dns.zone.count("nowhere.net", "MX") == 3


def test_failures_are_remembered_briefly_and_told_apart(dns: Dns) -> None:
    clock = FakeClock()
    checker = DomainChecker(make_async_resolver(dns.settings()), clock=clock)
    assert asyncio.run(checker.check("broken.net")).problem == "dns_failure"
    assert asyncio.run(checker.check("broken.net")).problem == "dns_failure"
    asked = dns.zone.count("broken.net", "MX")
    clock.now += FAILURE_TTL + 1
    asyncio.run(checker.check("broken.net"))
    assert dns.zone.count("broken.net", "MX") > asked


def test_a_silent_server_costs_one_timeout_for_all_its_addresses(dns: Dns) -> None:
    verifier = Verifier(dns.settings())
    started = time.monotonic()
    results = verifier.verify_sync([f"u{n}@slow.net" for n in range(200)])
    assert {r.reasons for r in results} == {("dns_timeout",)}
    assert time.monotonic() - started < TIMEOUT * 4


def test_a_negative_answer_lives_as_long_as_its_soa_says() -> None:
    response = make_response(make_query("nowhere.net.", "MX"))
    assert negative_ttl(response, 300.0) == 300.0
    soa = from_text("net.", 900, "IN", "SOA", "a.ns.net. admin.net. 1 7200 900 1209600 60")
    response.authority.append(soa)
    assert negative_ttl(response, 300.0) == 60.0  # the SOA minimum caps its TTL


def test_the_cache_stays_bounded() -> None:
    clock = FakeClock()
    cache = DnsCache(clock, max_entries=10)
    for n in range(10):
        cache.put((f"d{n}.net", "MX"), Answer("ok", ("10 mx.",), 5.0 if n < 3 else 600.0))
    clock.now += 10  # the first three expired
    cache.put(("new.net", "MX"), Answer("nodata", ttl=60.0))
    assert cache.get(("d0.net", "MX")) is None and cache.get(("d5.net", "MX")) is not None
    for n in range(10, 20):
        cache.put((f"d{n}.net", "MX"), Answer("ok", ("10 mx.",), 600.0))
    assert cache.get(("d19.net", "MX")) is not None and cache.get(("d3.net", "MX")) is None  # oldest dropped
    cache.put(("zero.net", "MX"), Answer("ok", ("10 mx.",), 0.0))
    assert cache.get(("zero.net", "MX")) is None  # TTL 0: not to be cached


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text(max_size=80), st.builds("{}@{}".format, st.text(max_size=20),
                                                          st.text(max_size=30))), max_size=8))
def test_any_input_gets_a_verdict_through_dns(verifier: Verifier, texts: list[str]) -> None:
    results = verifier.verify_sync(texts)
    assert len(results) == len(texts)
    assert all(r.verdict in ("deliverable", "risky", "undeliverable") for r in results)
