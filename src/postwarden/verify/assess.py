"""From what was found out about an address to its verdict: pure."""

from __future__ import annotations

from postwarden.verify.domains import DomainReport
from postwarden.verify.result import REASONS, Verification, verdict_of
from postwarden.verify.syntax import Syntax, check_syntax
from postwarden.verify.tables import ROLE_ACCOUNTS
from postwarden.verify.typo import suggest


def is_role(local_part: str) -> bool:
    return local_part.lower().partition("+")[0] in ROLE_ACCOUNTS


def suggestion_for(syntax: Syntax) -> str | None:
    """The address with its domain corrected, if the domain looks like a typo and the
    corrected address is itself valid."""
    if not syntax.domain:
        return None
    better = suggest(syntax.domain)
    if better is None:
        return None
    local = syntax.local_part if syntax.valid else syntax.raw.rpartition("@")[0]
    corrected = check_syntax(f"{local}@{better}")
    return corrected.canonical if corrected.valid else None


def assess(syntax: Syntax, report: DomainReport | None, *, disposable: bool) -> Verification:
    """``report`` is None when the syntax already failed (no DNS was asked)."""
    suggestion = suggestion_for(syntax)
    details: list[tuple[str, str]] = []
    if not syntax.valid or report is None:
        details.append(("syntax", syntax.error or "not an address"))
    else:
        if report.problem is not None:
            details.append((report.problem, report.detail))
        if suggestion is not None:
            details.append(("typo", f"did you mean {suggestion}?"))
        if disposable:
            details.append(("disposable", syntax.ascii_domain))
        if is_role(syntax.local_part):
            details.append(("role", f"{syntax.local_part}@"))
    reasons = tuple(code for code, _ in details)
    why = "; ".join(f"{REASONS[code].description}: {detail}" if detail else REASONS[code].description
                    for code, detail in details)
    return Verification(
        address=syntax.canonical or syntax.raw, verdict=verdict_of(reasons), reasons=reasons, why=why,
        suggestion=suggestion, domain=syntax.ascii_domain or syntax.domain or None,
        mail_hosts=report.mail_hosts if report else ())
