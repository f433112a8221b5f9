"""Check again: the support desk's button for an address suppressed as ``invalid`` or
``hard_bounce`` that has been corrected, or that someone believes was suppressed by
mistake. The address is verified afresh (no cached DNS answer); if it passes, the
suppressions a re-check may lift are lifted, and if it fails they stay. Either way
the audit log keeps who asked, when, and the verification itself. Complaints and
unsubscribes are refused: only the recipient's consent or re-subscription lifts them.
Should the next delivery bounce hard again, the ledger suppresses it again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from postwarden.address import normalize
from postwarden.errors import NotFound, PolicyRefused
from postwarden.ledger import Ledger
from postwarden.ledger.service import Outcome
from postwarden.verify.result import Verification
from postwarden.verify.service import Verifier


@dataclass(frozen=True)
class Recheck:
    address: str
    passed: bool
    verification: Verification
    lifted: list[Outcome] = field(default_factory=list)
    kept: list[Outcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "passed": self.passed,
                "verification": self.verification.as_dict(),
                "lifted": [{"reason_class": o.reason_class, "scope": o.scope} for o in self.lifted],
                "kept": [{"reason_class": o.reason_class, "scope": o.scope, "action": o.action, "why": o.why}
                         for o in self.kept]}


async def recheck(ledger: Ledger, verifier: Verifier, address: str, *, actor: str, note: str = "") -> Recheck:
    """Raises :class:`NotFound` when nothing is suppressed, :class:`PolicyRefused`
    (logged as ``recheck_refused``) when no suppression of the address is one a
    re-check lifts."""
    canonical = normalize(address)
    now = ledger.clock()
    active = [row for row in await asyncio.to_thread(ledger.suppressions_for, canonical)
              if row.state == "active" and (row.expires_at is None or row.expires_at > now)]
    if not active:
        raise NotFound(f"{canonical} has no active suppression: nothing to re-check")
    asked = f" ({note.strip()})" if note.strip() else ""
    if all(ledger.lift_rule(row.reason_class)[0] != "recheck" for row in active):
        outcomes = await asyncio.to_thread(
            ledger.settle_recheck, canonical, passed=False, note=f"re-check asked{asked}",
            evidence={"note": note}, actor=actor)
        refused = [f"{o.reason_class} on {o.scope!r}: {o.why}" for o in outcomes]
        raise PolicyRefused(f"a re-check cannot lift {canonical}: " + "; ".join(refused),
                            details={"refused": refused})
    verification = await verifier.verify(canonical, fresh=True)
    passed = verification.passes_recheck
    summary = (f"re-check passed: {verification.verdict}" if passed
               else f"re-check failed: {verification.why}")
    outcomes = await asyncio.to_thread(
        ledger.settle_recheck, canonical, passed=passed, note=summary + asked,
        evidence={"verification": verification.as_dict(), "note": note}, actor=actor)
    return Recheck(canonical, passed, verification,
                   lifted=[o for o in outcomes if o.effect == "lift"],
                   kept=[o for o in outcomes if o.effect != "lift"])
