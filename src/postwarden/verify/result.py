"""What a verification says: a verdict, the reasons behind it, and a suggestion.

The reasons are a table: each has a code, the verdict it leads to, whether a re-check
of a suppressed address may pass with it, and a description. An address's verdict is
the worst of its reasons' (none: deliverable)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DELIVERABLE, RISKY, UNDELIVERABLE = "deliverable", "risky", "undeliverable"
VERDICTS = (DELIVERABLE, RISKY, UNDELIVERABLE)


@dataclass(frozen=True)
class Reason:
    code: str
    verdict: str
    passes_recheck: bool
    description: str


REASONS: dict[str, Reason] = {r.code: r for r in (
    Reason("syntax", UNDELIVERABLE, False, "not a valid address"),
    Reason("no_such_domain", UNDELIVERABLE, False, "the domain does not exist (NXDOMAIN)"),
    Reason("null_mx", UNDELIVERABLE, False, "the domain says it accepts no mail (null MX, RFC 7505)"),
    Reason("no_mail_server", UNDELIVERABLE, False, "the domain has no MX, A or AAAA record"),
    Reason("dns_timeout", RISKY, False, "the domain's name servers did not answer in time"),
    Reason("dns_failure", RISKY, False, "the domain's name servers failed to answer (SERVFAIL)"),
    Reason("typo", RISKY, False, "probably a typo of a popular mailbox domain"),
    Reason("disposable", RISKY, True, "a disposable (throw-away) mailbox domain"),
    Reason("role", RISKY, True, "a role account (a function, not a person)"),
)}


@dataclass(frozen=True)
class Verification:
    """``address`` is the canonical form the ledger uses, or the input when it is not
    an address; ``why`` says each reason in words; ``suggestion`` is a corrected address."""

    address: str
    verdict: str
    reasons: tuple[str, ...] = ()
    why: str = ""
    suggestion: str | None = None
    domain: str | None = None
    mail_hosts: tuple[str, ...] = ()

    @property
    def passes_recheck(self) -> bool:
        return all(REASONS[code].passes_recheck for code in self.reasons)

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "verdict": self.verdict, "reasons": list(self.reasons),
                "why": self.why, "suggestion": self.suggestion, "domain": self.domain,
                "mail_hosts": list(self.mail_hosts)}


def verdict_of(reasons: tuple[str, ...]) -> str:
    return max((REASONS[code].verdict for code in reasons), key=VERDICTS.index, default=DELIVERABLE)
