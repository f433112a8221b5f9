"""Mailbox providers: which company receives mail for a recipient domain, so that
statistics, alerts and the dossier can be read per provider the way their postmaster
desks read them.

The table is data. A domain is known by name (``gmail.com``), by a country pattern
(``yahoo.*`` stands for ``yahoo.fr``, ``yahoo.co.uk``, ``yahoo.com.br``), or, for
the many company domains hosted by a provider, by the host names of its MX records
(``*.mail.protection.outlook.com`` is Microsoft 365). Each row carries a sample
domain and MX host that its test checks.

The names are the same slugs as :mod:`postwarden.classify.providers` uses for its
phrase tables, so a report and a classification name a provider alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dns.exception
import dns.resolver


@dataclass(frozen=True)
class MailboxProvider:
    name: str
    label: str
    # Recipient domains: exact names, or ``name.*`` for its country variants.
    domains: tuple[str, ...]
    # Host-name suffixes of the provider's MX hosts, matched on a label boundary.
    mx: tuple[str, ...]
    # (recipient domain, MX host) its test expects to map to this row.
    sample: tuple[str, str]


MAILBOX_PROVIDERS: tuple[MailboxProvider, ...] = (
    MailboxProvider(
        "google", "Google (Gmail, Workspace)",
        ("gmail.com", "googlemail.com", "google.com"),
        # Workspace customers keep their own domain and point MX at these.
        ("google.com", "googlemail.com", "smtp.goog"),
        ("gmail.com", "aspmx.l.google.com"),
    ),
    MailboxProvider(
        "microsoft", "Microsoft (Outlook.com, Microsoft 365)",
        ("outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com", "windowslive.com",
         "hotmail.*", "outlook.*", "live.*"),
        # olc.protection.outlook.com is the consumer service, mail.protection.outlook.com
        # the Microsoft 365 tenants; hotmail.com MX still exists for old set-ups.
        ("protection.outlook.com", "outlook.com", "hotmail.com", "olc.protection.outlook.com"),
        ("hotmail.co.uk", "contoso-com.mail.protection.outlook.com"),
    ),
    MailboxProvider(
        "yahoo", "Yahoo and AOL",
        ("yahoo.com", "ymail.com", "rocketmail.com", "aol.com", "aim.com", "verizon.net",
         "att.net", "sbcglobal.net", "bellsouth.net", "yahoo.*", "aol.*"),
        # Verizon's and AT&T's consumer mail are run by Yahoo; their MX say so.
        ("yahoodns.net", "yahoo.com", "aol.com"),
        ("aol.com", "mx-aol.mail.gm0.yahoodns.net"),
    ),
    MailboxProvider(
        "apple", "Apple (iCloud)",
        ("icloud.com", "me.com", "mac.com"),
        ("icloud.com", "apple.com"),
        ("me.com", "mx01.mail.icloud.com"),
    ),
    MailboxProvider(
        "gmx", "GMX, WEB.DE, mail.com (United Internet)",
        ("gmx.net", "gmx.de", "gmx.at", "gmx.ch", "gmx.com", "gmx.*", "web.de", "mail.com",
         "email.com", "1und1.de", "online.de"),
        ("gmx.net", "web.de", "mail.com", "kundenserver.de", "ionos.com", "ionos.de"),
        ("web.de", "mx-ha03.web.de"),
    ),
    MailboxProvider(
        "zoho", "Zoho Mail",
        ("zoho.com", "zohomail.com", "zoho.eu", "zohomail.eu", "zoho.in"),
        ("zoho.com", "zoho.eu", "zoho.in", "zohomail.com"),
        ("zohomail.com", "mx.zoho.com"),
    ),
    MailboxProvider(
        "fastmail", "Fastmail",
        ("fastmail.com", "fastmail.fm", "fastmail.net", "messagingengine.com", "fastmail.to"),
        ("messagingengine.com", "fastmail.com"),
        ("fastmail.fm", "in1-smtp.messagingengine.com"),
    ),
    MailboxProvider(
        "proton", "Proton Mail",
        ("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
        ("protonmail.ch", "proton.ch"),
        ("pm.me", "mail.protonmail.ch"),
    ),
    MailboxProvider(
        "yandex", "Yandex",
        ("yandex.ru", "yandex.com", "ya.ru", "yandex.by", "yandex.kz", "yandex.ua", "narod.ru"),
        ("yandex.ru", "yandex.net"),
        ("ya.ru", "mx.yandex.ru"),
    ),
    MailboxProvider(
        "mailru", "Mail.ru",
        ("mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru", "vk.com"),
        ("mail.ru",),
        ("bk.ru", "mxs.mail.ru"),
    ),
    MailboxProvider(
        "comcast", "Comcast (Xfinity)",
        ("comcast.net", "xfinity.com"),
        ("comcast.net",),
        ("comcast.net", "mx1a1.comcast.net"),
    ),
    MailboxProvider(
        "tencent", "Tencent (QQ Mail)",
        ("qq.com", "foxmail.com", "vip.qq.com"),
        ("qq.com",),
        ("qq.com", "mx1.qq.com"),
    ),
    MailboxProvider(
        "netease", "NetEase (163, 126)",
        ("163.com", "126.com", "yeah.net", "vip.163.com"),
        ("netease.com", "163.com", "126.com"),
        ("126.com", "126mx01.mxmail.netease.com"),
    ),
    MailboxProvider(
        "orange", "Orange",
        ("orange.fr", "wanadoo.fr", "orange.net"),
        ("orange.fr",),
        ("wanadoo.fr", "smtp-in.orange.fr"),
    ),
    MailboxProvider(
        "laposte", "La Poste",
        ("laposte.net",),
        ("laposte.net",),
        ("laposte.net", "mx1.laposte.net"),
    ),
    MailboxProvider(
        "free", "Free (France)",
        ("free.fr", "aliceadsl.fr"),
        ("free.fr",),
        ("free.fr", "mx1.free.fr"),
    ),
    MailboxProvider(
        "tonline", "T-Online",
        ("t-online.de", "magenta.de"),
        ("t-online.de",),
        ("t-online.de", "mx00.t-online.de"),
    ),
    MailboxProvider(
        "libero", "Libero / Italiaonline",
        ("libero.it", "virgilio.it", "inwind.it", "iol.it", "blu.it"),
        ("libero.it", "iol.it"),
        ("virgilio.it", "smtp-in.libero.it"),
    ),
    MailboxProvider(
        "seznam", "Seznam",
        ("seznam.cz", "email.cz", "post.cz"),
        ("seznam.cz",),
        ("email.cz", "mx1.seznam.cz"),
    ),
    MailboxProvider(
        "naver", "Naver",
        ("naver.com",),
        ("naver.com",),
        ("naver.com", "mx1.naver.com"),
    ),
    MailboxProvider(
        "cox", "Cox",
        ("cox.net",),
        # cloudfilter.net serves several ISPs; only Cox's own hosts name Cox.
        ("cxr.mx.a.cloudfilter.net", "cxr.mx.b.cloudfilter.net"),
        ("cox.net", "cxr.mx.a.cloudfilter.net"),
    ),
    MailboxProvider(
        "spectrum", "Charter Spectrum",
        ("charter.net", "spectrum.net", "rr.com", "twc.com", "roadrunner.com"),
        ("charter.net", "rr.com"),
        ("charter.net", "mx.charter.net"),
    ),
    MailboxProvider(
        "gandi", "Gandi Mail",
        (),
        ("gandi.net",),
        ("example.fr", "spool.mail.gandi.net"),
    ),
    MailboxProvider(
        "ovh", "OVHcloud",
        (),
        ("ovh.net", "ovh.com"),
        ("example.eu", "mx1.mail.ovh.net"),
    ),
    MailboxProvider(
        "mimecast", "Mimecast (company gateway)",
        (),
        ("mimecast.com", "mimecast.co.za"),
        ("example.co.uk", "eu-smtp-inbound-1.mimecast.com"),
    ),
    MailboxProvider(
        "proofpoint", "Proofpoint (company gateway)",
        (),
        ("pphosted.com", "ppe-hosted.com"),
        ("example.org", "mx0a-001b2d01.pphosted.com"),
    ),
)


def _labels(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _build() -> tuple[dict[str, str], dict[str, str], tuple[tuple[str, str], ...]]:
    exact: dict[str, str] = {}
    stems: dict[str, str] = {}
    seen: set[str] = set()
    mx: list[tuple[str, str]] = []
    for row in MAILBOX_PROVIDERS:
        if row.name in seen:
            raise ValueError(f"mailbox provider {row.name!r} is listed twice")
        seen.add(row.name)
        for domain in row.domains:
            table, key = (stems, domain[:-2]) if domain.endswith(".*") else (exact, domain)
            if key in table:
                raise ValueError(f"{domain!r} is listed under {table[key]!r} and {row.name!r}")
            table[key] = row.name
        mx.extend((suffix, row.name) for suffix in row.mx)
    # Longest suffix first: olc.protection.outlook.com before outlook.com.
    mx.sort(key=lambda pair: -len(pair[0]))
    return exact, stems, tuple(mx)


_EXACT, _STEMS, _MX = _build()


def _country_suffix(rest: list[str]) -> bool:
    """``fr``, ``co.uk``, ``com.br``: one or two short labels after the stem."""
    if len(rest) == 1:
        return len(rest[0]) == 2 or rest[0] in ("com", "net")
    return len(rest) == 2 and rest[0] in ("co", "com", "ne", "or") and len(rest[1]) == 2


def provider_for_domain(domain: str) -> str | None:
    """The mailbox provider of a recipient domain known by name, or None; no DNS."""
    name = _labels(domain)
    if name in _EXACT:
        return _EXACT[name]
    stem, _, rest = name.partition(".")
    if stem in _STEMS and rest and _country_suffix(rest.split(".")):
        return _STEMS[stem]
    return None


def provider_for_mx(hosts: Iterable[str]) -> str | None:
    """The provider whose hosts receive a domain's mail, from its MX host names (in
    preference order: the first host that names a provider decides)."""
    for host in hosts:
        name = _labels(host)
        for suffix, provider in _MX:
            if name == suffix or name.endswith("." + suffix):
                return provider
    return None


_MX_CACHE: dict[str, tuple[str, ...]] = {}
_MX_CACHE_SIZE = 10_000


def _mx_hosts(resolver: dns.resolver.Resolver, domain: str) -> tuple[str, ...]:
    if domain in _MX_CACHE:
        return _MX_CACHE[domain]
    try:
        answer = resolver.resolve(domain, "MX")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        hosts: tuple[str, ...] = ()
    except (dns.exception.DNSException, ValueError):
        # A timeout says nothing about the domain: ask again next time.
        return ()
    else:
        records = sorted(answer, key=lambda r: r.preference)
        hosts = tuple(str(r.exchange) for r in records)
    if len(_MX_CACHE) >= _MX_CACHE_SIZE:
        _MX_CACHE.clear()
    _MX_CACHE[domain] = hosts
    return hosts


def resolve_provider(domain: str, resolver: dns.resolver.Resolver) -> str | None:
    """:func:`provider_for_domain`, else the provider named by the domain's MX hosts
    (company domains hosted at Google or Microsoft). Answers are remembered for the
    life of the process: a domain rarely changes provider, and the relay asks per
    message."""
    found = provider_for_domain(domain)
    if found is not None:
        return found
    return provider_for_mx(_mx_hosts(resolver, _labels(domain)))


def provider_label(name: str | None) -> str:
    """A provider's display name; 'other' for a domain no row knows."""
    for row in MAILBOX_PROVIDERS:
        if row.name == name:
            return row.label
    return "Other providers" if name in (None, OTHER) else str(name)


OTHER = "other"
"""The name reports give recipients of a domain no row knows."""
