"""The shared resolver against the loopback name server the other DNS tests use."""

from __future__ import annotations

import dns.resolver
import pytest

from postwarden.errors import InvalidInput
from postwarden.resolver import make_resolver
from postwarden.settings import Settings
from tests.dnsserver import dns_server


def test_answers_nxdomain_nodata_servfail_and_silence() -> None:
    records = [("example.test", "MX", "10 mx.example.test"), ("mx.example.test", "A", "192.0.2.1")]
    with dns_server(records, silent=["slow.test"], servfail=["broken.test"]) as (zone, server):
        resolver = make_resolver(Settings({"dns_servers": [server], "dns_timeout": 0.3}))
        answer = resolver.resolve("example.test", "MX")
        assert [r.exchange.to_text() for r in answer] == ["mx.example.test."]
        with pytest.raises(dns.resolver.NoAnswer):
            resolver.resolve("example.test", "A")
        with pytest.raises(dns.resolver.NXDOMAIN):
            resolver.resolve("nothing.test", "MX")
        with pytest.raises(dns.resolver.NoNameservers):
            resolver.resolve("broken.test", "MX")
        with pytest.raises(dns.resolver.LifetimeTimeout):
            resolver.resolve("slow.test", "MX")
        assert zone.count("example.test", "MX") == 1
        assert resolver.resolve("example.test", "MX", tcp=True).rrset is not None


@pytest.mark.parametrize("text", ["127.0.0.1:x", "[::1]:y"])
def test_bad_server_setting_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="dns_servers"):
        make_resolver(Settings({"dns_servers": [text]}))
