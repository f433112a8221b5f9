"""Which feedback addresses the intake accepts, and what each one is for. Anything
else is refused at RCPT: the intake is never a relay."""

from __future__ import annotations

from dataclasses import dataclass

from postwarden.tokens import BOUNCE_LOCAL, UNSUBSCRIBE_LOCAL

FBL_LOCAL = "fbl"
# Where receivers send DMARC aggregate reports (the rua= of the sending domains).
DMARC_LOCAL = "dmarc"
# RFC 5321 requires a domain that receives mail to take mail for postmaster.
POSTMASTER_LOCAL = "postmaster"


@dataclass(frozen=True)
class Route:
    role: str  # bounce, verp, fbl, unsubscribe, dmarc
    address: str
    token: str | None = None


def route(address: str, intake_domain: str) -> Route | None:
    """The route of a recipient address, or None when it is not ours."""
    cleaned = address.strip().strip("<>")
    local, at, domain = cleaned.rpartition("@")
    if not at or domain.lower().rstrip(".") != intake_domain.lower():
        return None
    lowered = local.lower()
    if lowered in (BOUNCE_LOCAL, POSTMASTER_LOCAL):
        return Route("bounce", cleaned)
    if lowered == FBL_LOCAL:
        return Route("fbl", cleaned)
    if lowered == DMARC_LOCAL:
        return Route("dmarc", cleaned)
    if lowered.startswith(BOUNCE_LOCAL + "+"):
        return Route("verp", cleaned, local[len(BOUNCE_LOCAL) + 1:])
    if lowered.startswith(UNSUBSCRIBE_LOCAL + "+") and len(local) > len(UNSUBSCRIBE_LOCAL) + 1:
        return Route("unsubscribe", cleaned, local[len(UNSUBSCRIBE_LOCAL) + 1:])
    return None
