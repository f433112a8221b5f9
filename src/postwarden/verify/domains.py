"""Does a domain accept mail? Asked of DNS, with every answer cached for its TTL.

RFC 5321 §5.1: mail goes to the domain's MX hosts; a domain without MX records but
with an address record (A, then AAAA) is its own mail host. RFC 7505: a single MX
of ``0 .`` (null MX) says the domain accepts no mail at all. A name that does not
exist (NXDOMAIN) is told apart from one whose name servers fail (SERVFAIL) or do not
answer in time: only the first is proof that an address there cannot work.

Bulk verification asks about each domain once: answers are cached per (name, type)
for their TTL (negative answers for their SOA's, failures briefly), and a question
already on its way is awaited rather than asked again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.message
import dns.rdatatype
import dns.resolver

# How long a failure (SERVFAIL, timeout) is remembered: long enough that a bulk run
# does not ask a dead server again for every address, short enough for a retry soon.
FAILURE_TTL = 30.0
MAX_CACHED = 200_000


@dataclass(frozen=True)
class Answer:
    """One DNS answer: ``status`` is ``ok`` (``records`` holds the rdata as text),
    ``nodata``, ``nxdomain``, ``servfail`` or ``timeout``."""

    status: str
    records: tuple[str, ...] = ()
    ttl: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class DomainReport:
    """``problem`` is None when the domain accepts mail, else a reason code of
    :mod:`postwarden.verify.result`."""

    domain: str
    problem: str | None
    mail_hosts: tuple[str, ...] = ()
    detail: str = ""


class DnsCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_CACHED) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[float, Answer]] = {}

    def get(self, key: tuple[str, str]) -> Answer | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= self.clock():
            del self._entries[key]
            return None
        return found[1]

    def put(self, key: tuple[str, str], answer: Answer) -> None:
        if answer.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._evict()
        self._entries[key] = (self.clock() + answer.ttl, answer)

    def _evict(self) -> None:
        now = self.clock()
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
        if len(self._entries) >= self.max_entries:  # still full of live entries: drop the oldest half
            for key in list(self._entries)[: self.max_entries // 2]:
                del self._entries[key]


class DomainChecker:
    """``lookups`` counts the questions actually sent to a name server."""

    def __init__(self, resolver: dns.asyncresolver.Resolver, *, concurrency: int = 100,
                 negative_ttl: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.resolver = resolver
        self.cache = DnsCache(clock)
        self.concurrency = max(1, concurrency)
        self.negative_ttl = negative_ttl
        self.lookups = 0
        # Semaphores and tasks belong to one event loop; a CLI run and a server each have one.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(self.concurrency)
        self._asking: dict[tuple[str, str], asyncio.Task[Answer]] = {}

    async def check(self, domain: str, *, fresh: bool = False) -> DomainReport:
        """``fresh`` asks the name servers even when a cached answer is still valid
        (a re-check after someone fixed the domain should not see yesterday's answer)."""
        mx = await self._ask(domain, "MX", fresh)
        if mx.status == "ok":
            preferred = sorted((_mx_parts(text) for text in mx.records), key=lambda p: p[0])
            hosts = tuple(host for _, host in preferred if host != ".")
            if not hosts:
                return DomainReport(domain, "null_mx")
            return DomainReport(domain, None, hosts)
        if mx.status != "nodata":
            return _failed(domain, mx)
        for rdtype in ("A", "AAAA"):
            found = await self._ask(domain, rdtype, fresh)
            if found.status == "ok":
                return DomainReport(domain, None, (domain,), detail=f"no MX; its {rdtype} record is "
                                                                   "the mail host (RFC 5321 §5.1)")
            if found.status != "nodata":
                return _failed(domain, found)
        return DomainReport(domain, "no_mail_server")

    async def _ask(self, name: str, rdtype: str, fresh: bool) -> Answer:
        key = (name.lower().rstrip("."), rdtype)
        if not fresh:
            cached = self.cache.get(key)
            if cached is not None:
                return cached
        self._bind_loop()
        asking = self._asking.get(key)
        if asking is None:
            asking = asyncio.ensure_future(self._query(key))
            self._asking[key] = asking
            asking.add_done_callback(lambda _: self._asking.pop(key, None))
        return await asyncio.shield(asking)

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._slots = asyncio.Semaphore(self.concurrency)
            self._asking = {}

    async def _query(self, key: tuple[str, str]) -> Answer:
        name, rdtype = key
        async with self._slots:
            self.lookups += 1
            answer = await self._resolve(name, rdtype)
        self.cache.put(key, answer)
        return answer

    async def _resolve(self, name: str, rdtype: str) -> Answer:
        try:
            found = await self.resolver.resolve(name + ".", rdtype, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as exc:
            responses = list(exc.kwargs.get("responses", {}).values())
            first = responses[0] if responses else None
            return Answer("nxdomain", ttl=negative_ttl(first, self.negative_ttl))
        except dns.exception.Timeout:
            return Answer("timeout", ttl=FAILURE_TTL, detail=f"no answer within {self.resolver.lifetime:g} s")
        except dns.resolver.NoNameservers:
            return Answer("servfail", ttl=FAILURE_TTL)
        except (dns.exception.DNSException, OSError) as exc:  # malformed replies, unreachable networks
            return Answer("servfail", ttl=FAILURE_TTL, detail=f"{type(exc).__name__}: {exc}"[:200])
        if found.rrset is None:
            return Answer("nodata", ttl=negative_ttl(found.response, self.negative_ttl),
                          detail=f"no {rdtype} record")
        return Answer("ok", tuple(r.to_text() for r in found.rrset), float(found.rrset.ttl))


def negative_ttl(response: dns.message.Message | None, default: float) -> float:
    """RFC 2308: a negative answer lives as long as its SOA's TTL, at most the SOA's
    minimum; ``default`` when the answer carries no SOA."""
    if response is not None:
        for rrset in response.authority:
            if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
                return float(min(rrset.ttl, rrset[0].minimum))
    return default


def _mx_parts(text: str) -> tuple[int, str]:
    preference, _, host = text.partition(" ")
    try:
        return int(preference), host.strip().lower().rstrip(".") or "."
    except ValueError:
        return 65535, host.strip().lower().rstrip(".") or "."


def _failed(domain: str, answer: Answer) -> DomainReport:
    problem = {"nxdomain": "no_such_domain", "timeout": "dns_timeout"}.get(answer.status, "dns_failure")
    return DomainReport(domain, problem, detail=answer.detail)
