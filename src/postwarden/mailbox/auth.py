"""Who sent this? SPF, DKIM and DMARC verdicts for an incoming message, or the verdicts
a trusted upstream server already wrote into ``Authentication-Results``.

The checks (:func:`check`) ask DNS through a dnspython resolver from our settings:
pyspf and dkimpy both take their lookups through functions we hand them. DMARC is
small enough to do here: the From domain's policy record (or its organisational
domain's), and alignment of the SPF-passing envelope domain or a DKIM-passing ``d=``
with the From domain, relaxed or strict as the record says.

The result is shown to people (``Authentication-Results`` on the delivered copy, and in
"why is this in spam?"), feeds the learned model as features (the header's
``method=result`` words), and scores through :data:`AUTH_RULES`, a table of data.
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dkim
import dns.exception
import dns.resolver
import spf

from postwarden.mailbox.features import registered_domain
from postwarden.mailbox.message import MailView
from postwarden.mailbox.verdict import Signal

# --- the results ------------------------------------------------------------------


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` of ``Authentication-Results`` with its properties
    (``smtp.mailfrom``, ``header.d``, ``policy.p``...)."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def prop(self, name: str) -> str | None:
        for key, value in self.properties:
            if key == name:
                return value
        return None

    def render(self) -> str:
        return " ".join([f"{self.method}={self.result}", *(f"{k}={v}" for k, v in self.properties)])


@dataclass(frozen=True)
class AuthResults:
    """The authentication of one message: its method results and where they came from
    (``checked`` here, or ``upstream:<authserv-id>``)."""

    results: tuple[MethodResult, ...]
    source: str
    from_domain: str | None = None
    dmarc_policy: str | None = None
    """The From domain's requested ``p=`` (or ``sp=``) when DMARC failed or passed."""

    def result_of(self, method: str) -> str:
        """The first result of ``method`` (``none`` when absent); DKIM: ``pass`` when any
        signature passed."""
        found = [r.result for r in self.results if r.method == method]
        if method == "dkim" and "pass" in found:
            return "pass"
        return found[0] if found else "none"

    def tokens(self) -> frozenset[str]:
        """What :data:`AUTH_RULES` match against: ``spf=pass``, ``dmarc.policy=reject``..."""
        out = {f"{m}={self.result_of(m)}" for m in ("spf", "dkim", "dmarc")}
        if self.dmarc_policy:
            out.add(f"dmarc.policy={self.dmarc_policy}")
        return frozenset(out)

    def header(self, authserv_id: str) -> str:
        """The value of an ``Authentication-Results`` field (RFC 8601) for these results."""
        parts = [r.render() for r in self.results] or ["none"]
        return authserv_id + ";\r\n\t" + ";\r\n\t".join(parts)


# --- Authentication-Results, read forgivingly --------------------------------------

_COMMENT = re.compile(r"\([^()]*\)")
_METHOD = re.compile(r"^([a-z][a-z0-9_.-]*)\s*(?:/\s*\d+\s*)?=\s*([a-z0-9_-]+)(.*)$", re.S)
_PROPERTY = re.compile(r"([a-z][a-z0-9_-]*\.[a-z0-9_.-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)")


def parse_authentication_results(value: str) -> tuple[str, tuple[MethodResult, ...]]:
    """``(authserv-id, results)`` of one header value; junk yields ``("", ())``. Never raises."""
    text = value[:4000]
    for _ in range(4):  # nested comments, innermost first
        text = _COMMENT.sub(" ", text)
    pieces = [p.strip() for p in text.split(";")]
    if not pieces or not pieces[0]:
        return "", ()
    authserv = pieces[0].split()[0].lower() if pieces[0].split() else ""
    results: list[MethodResult] = []
    for piece in pieces[1:]:
        match = _METHOD.match(piece.lower())
        if match is None:
            continue
        props = tuple((k, v.strip('"')) for k, v in _PROPERTY.findall(match.group(3)))
        results.append(MethodResult(match.group(1), match.group(2), props))
    return authserv, tuple(results)


def from_upstream(view: MailView, trusted: frozenset[str], *, first_only: bool = False) -> AuthResults | None:
    """The results of the first ``Authentication-Results`` written by a server in
    ``trusted`` (authserv-ids, lower case), or ``None``. Fields from anyone else are
    ignored: any sender can write them. With ``first_only``, only a field at the very
    top of the header counts (where the server that wrote it put it)."""
    fields = [v for k, v in view.headers[:1] if k == "authentication-results"] if first_only else \
        view.header_values("authentication-results")
    for value in fields:
        authserv, results = parse_authentication_results(value)
        if authserv and authserv in trusted:
            policy = next((r.prop("policy.p") for r in results if r.method == "dmarc"), None)
            return AuthResults(results, f"upstream:{authserv}", from_domain(view), policy)
    return None


# --- DNS through our resolver ----------------------------------------------------------

_resolver: contextvars.ContextVar[dns.resolver.Resolver | None] = contextvars.ContextVar(
    "postwarden_auth_resolver", default=None)
_pyspf_lookup = spf.DNSLookup


class TempDNSError(Exception):
    """The name server did not answer (timeout, SERVFAIL): results are ``temperror``."""


def _answers(name: str, rdtype: str) -> list[Any]:
    resolver = _resolver.get()
    assert resolver is not None
    try:
        return list(resolver.resolve(name, rdtype, search=False))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
        raise TempDNSError(str(exc)) from exc
    except dns.exception.DNSException:
        return []


def _spf_lookup(name: str, qtype: str, strict: Any = True, timeout: Any = 20) -> list[Any]:
    """pyspf's lookup function, answered by our resolver when a check is running."""
    if _resolver.get() is None:
        return list(_pyspf_lookup(name, qtype, strict, timeout))
    try:
        answers = _answers(name, qtype)
    except TempDNSError as exc:
        raise spf.TempError(f"DNS {exc}") from exc
    out: list[Any] = []
    for rdata in answers:
        if qtype in ("A", "AAAA"):
            out.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            out.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            out.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            out.append(((name, qtype), rdata.strings))
    return out


# pyspf reads this module attribute for every lookup; it falls back to its own
# resolver outside our checks, so other users of pyspf in the process are unaffected.
spf.DNSLookup = _spf_lookup


def _dkim_txt(name: bytes | str, timeout: int = 5) -> bytes | None:
    text = name.decode("ascii", errors="replace") if isinstance(name, bytes) else name
    try:
        answers = _answers(text, "TXT")
    except TempDNSError as exc:
        raise dkim.DnsTimeoutError(str(exc)) from exc
    return b"".join(answers[0].strings) if answers else None


def _txt(name: str) -> list[str]:
    return [b"".join(r.strings).decode("utf-8", errors="replace") for r in _answers(name, "TXT")]


@contextmanager
def _using(resolver: dns.resolver.Resolver) -> Iterator[None]:
    token = _resolver.set(resolver)
    try:
        yield
    finally:
        _resolver.reset(token)


# --- the checks -------------------------------------------------------------------------

_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@([^\s<>\"'(),;:@]+)")


def from_domain(view: MailView) -> str | None:
    """The domain of the (first) From address, lower case."""
    value = view.header("from") or ""
    match = _ADDRESS.search(value)
    return match.group(1).lower().strip(".") if match else None


def _domain_of(address: str) -> str | None:
    match = _ADDRESS.search(address or "")
    return match.group(1).lower().strip(".") if match else None


@dataclass(frozen=True)
class Envelope:
    """What the SMTP session said: the client's IP, its HELO name, the MAIL FROM."""

    client_ip: str | None = None
    helo: str = ""
    mail_from: str = ""


def _spf(envelope: Envelope) -> MethodResult:
    domain = _domain_of(envelope.mail_from) or envelope.helo.lower()
    if not envelope.client_ip:
        return MethodResult("spf", "none", (("smtp.mailfrom", domain or "unknown"),))
    try:
        ipaddress.ip_address(envelope.client_ip)
    except ValueError:
        return MethodResult("spf", "permerror", (("smtp.mailfrom", domain or "unknown"),))
    sender = envelope.mail_from or f"postmaster@{envelope.helo}"
    try:
        result, _explanation = spf.check2(i=envelope.client_ip, s=sender, h=envelope.helo or "unknown",
                                          timeout=10)
    except Exception:  # pyspf raises on odd input; the honest verdict is an error
        result = "permerror"
    return MethodResult("spf", str(result).lower(), (("smtp.mailfrom", domain or "unknown"),))


_DKIM_TAG = re.compile(rb"(?:^|;)\s*([dsi])\s*=\s*([^;]*)")


def _dkim(raw: bytes) -> list[MethodResult]:
    try:
        verifier = dkim.DKIM(raw, minkey=1024, timeout=5)
        count = len([h for h in verifier.headers if h[0].lower() == b"dkim-signature"])
    except Exception:
        return []
    out: list[MethodResult] = []
    for idx in range(min(count, 5)):
        tags: dict[bytes, bytes] = {}
        header = [h for h in verifier.headers if h[0].lower() == b"dkim-signature"][idx][1]
        for key, value in _DKIM_TAG.findall(b"".join(header.split())):
            tags.setdefault(key, value)
        d = tags.get(b"d", b"").decode("ascii", errors="replace").lower() or "unknown"
        props = (("header.d", d), ("header.s", tags.get(b"s", b"").decode("ascii", errors="replace")))
        try:
            result = "pass" if verifier.verify(idx=idx, dnsfunc=_dkim_txt) else "fail"
        except dkim.DnsTimeoutError:
            result = "temperror"
        except dkim.ValidationError:  # a body hash that does not match: altered in transit
            result = "fail"
        except dkim.DKIMException:
            result = "permerror"
        except Exception:  # dkimpy on hostile input: never our crash
            result = "permerror"
        out.append(MethodResult("dkim", result, props))
    return out


def _aligned(domain: str | None, from_dom: str, strict: bool) -> bool:
    if not domain:
        return False
    if strict:
        return domain == from_dom
    return registered_domain(domain) == registered_domain(from_dom)


def _dmarc_record(domain: str) -> dict[str, str] | None:
    for name in dict.fromkeys([domain, registered_domain(domain)]):
        records = [t for t in _txt(f"_dmarc.{name}") if t.lower().startswith("v=dmarc1")]
        if len(records) == 1:
            tags = {}
            for item in records[0].split(";"):
                key, eq, value = item.partition("=")
                if eq:
                    tags[key.strip().lower()] = value.strip().lower()
            tags["_org"] = "no" if name == domain else "yes"
            return tags
    return None


def _dmarc(from_dom: str | None, spf_result: MethodResult, dkim_results: list[MethodResult]) -> tuple[
        MethodResult, str | None]:
    if not from_dom:
        return MethodResult("dmarc", "none", (("header.from", "unknown"),)), None
    try:
        record = _dmarc_record(from_dom)
    except TempDNSError:
        return MethodResult("dmarc", "temperror", (("header.from", from_dom),)), None
    if record is None:
        return MethodResult("dmarc", "none", (("header.from", from_dom),)), None
    policy = record.get("sp", record.get("p", "none")) if record["_org"] == "yes" else record.get("p", "none")
    if policy not in ("none", "quarantine", "reject"):
        policy = "none"
    spf_ok = spf_result.result == "pass" and _aligned(
        spf_result.prop("smtp.mailfrom"), from_dom, record.get("aspf") == "s")
    dkim_ok = any(r.result == "pass" and _aligned(r.prop("header.d"), from_dom, record.get("adkim") == "s")
                  for r in dkim_results)
    result = "pass" if spf_ok or dkim_ok else "fail"
    return MethodResult("dmarc", result, (("header.from", from_dom), ("policy.p", policy))), policy


def check(raw: bytes, view: MailView, envelope: Envelope, resolver: dns.resolver.Resolver) -> AuthResults:
    """SPF of the envelope, every DKIM signature (up to five), DMARC of the From domain."""
    with _using(resolver):
        spf_result = _spf(envelope)
        dkim_results = _dkim(raw)
        from_dom = from_domain(view)
        dmarc_result, policy = _dmarc(from_dom, spf_result, dkim_results)
    return AuthResults((spf_result, *dkim_results, dmarc_result), "checked", from_dom, policy)


# --- scores: rules as data ----------------------------------------------------------------


@dataclass(frozen=True)
class AuthRule:
    """A score for a combination of results: every token in ``pattern`` must be present."""

    symbol: str
    pattern: frozenset[str] = field(default_factory=frozenset)
    score: float = 0.0
    description: str = ""


def _rule(symbol: str, pattern: str, score: float, description: str) -> AuthRule:
    return AuthRule(symbol, frozenset(pattern.split()), score, description)


# Small on purpose: they add to the learned score, which knows far more about a message
# than whether its sender proved its name. Only a From domain that asked for its failing
# mail to be refused or quarantined weighs heavily.
AUTH_RULES: tuple[AuthRule, ...] = (
    _rule("DMARC_FAIL_REJECT", "dmarc=fail dmarc.policy=reject", 4.0,
          "the From domain is forged: it fails DMARC and its owner asks for such mail to be refused"),
    _rule("DMARC_FAIL_QUARANTINE", "dmarc=fail dmarc.policy=quarantine", 3.0,
          "the From domain fails DMARC and its owner asks for such mail to be quarantined"),
    _rule("DMARC_FAIL_NONE", "dmarc=fail dmarc.policy=none", 0.5,
          "the From domain fails DMARC (its owner only monitors)"),
    _rule("DMARC_PASS", "dmarc=pass", -0.5, "the From domain is authenticated (DMARC pass)"),
    _rule("SPF_FAIL", "spf=fail", 1.0, "the sending server is not allowed to send for the envelope domain"),
    _rule("SPF_SOFTFAIL", "spf=softfail", 0.3, "the envelope domain does not vouch for the sending server"),
    _rule("DKIM_FAIL", "dkim=fail", 0.5, "a DKIM signature does not verify (altered or forged)"),
)


def auth_signals(results: AuthResults, rules: tuple[AuthRule, ...] = AUTH_RULES) -> list[Signal]:
    tokens = results.tokens()
    return [Signal(r.symbol, r.score, r.description) for r in rules if r.pattern <= tokens]
