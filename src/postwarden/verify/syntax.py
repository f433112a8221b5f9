"""Address syntax by email-validator: RFC 5322 addresses and internationalised ones
(RFC 6531: a local part in any script, a domain in Unicode or its IDNA form). Pure,
no DNS, and never raises: whatever the input, the answer is a :class:`Syntax`."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from postwarden.address import normalize
from postwarden.errors import InvalidAddress

# Longer input is not an address (RFC 5321 caps a path at 256 octets); refusing it
# up front keeps a pathological line of a bulk file from costing more than it should.
MAX_INPUT = 1024


@dataclass(frozen=True)
class Syntax:
    """On success: ``canonical`` (the ledger's form), the ``local_part`` and the domain
    for DNS (``ascii_domain``). On failure: ``error``, and ``domain`` if one can be
    told, so a mistyped domain can still get a suggestion."""

    raw: str
    canonical: str | None = None
    local_part: str = ""
    ascii_domain: str = ""
    error: str | None = None
    domain: str = ""

    @property
    def valid(self) -> bool:
        return self.error is None


def check_syntax(raw: str) -> Syntax:
    text = raw.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    guessed_domain = text.rpartition("@")[2].strip().lower() if "@" in text else ""
    if len(text) > MAX_INPUT:
        return Syntax(text[:80] + "…", error=f"longer than {MAX_INPUT} characters: not an address")
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=True,
                                 allow_quoted_local=True)
        canonical = normalize(checked.normalized)
    except (EmailNotValidError, InvalidAddress) as exc:
        return Syntax(text, error=str(exc), domain=guessed_domain)
    except (ValueError, UnicodeError) as exc:  # codec and IDNA edge cases inside the validator
        return Syntax(text, error=f"not an address: {exc}", domain=guessed_domain)
    return Syntax(text, canonical, checked.local_part, checked.ascii_domain, None, checked.domain)
