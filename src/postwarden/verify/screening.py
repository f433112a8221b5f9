"""Verification on the way in (settings ``verify_on_check`` and ``verify_on_import``):
addresses found undeliverable become ``invalid`` suppressions, written through the
ledger's import path (one transaction, one audit entry each, the verification's
reason and words kept with it)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from postwarden.address import normalize
from postwarden.errors import InvalidAddress
from postwarden.ledger import Ledger
from postwarden.ledger.service import CheckResult, ImportRow, ImportSummary
from postwarden.verify.result import UNDELIVERABLE, Verification
from postwarden.verify.service import Verifier


def suppress_undeliverable(ledger: Ledger, verifications: Sequence[Verification], *, source: str,
                           actor: str) -> ImportSummary:
    rows = []
    for n, verification in enumerate(verifications, 1):
        if verification.verdict != UNDELIVERABLE:
            continue
        try:
            address = normalize(verification.address)
        except InvalidAddress:
            continue  # not storable as an address at all; the caller reports it as such
        rows.append(ImportRow(n, address, "invalid", reason=verification.reasons[0],
                              note=f"verification: {verification.why}"[:1000]))
    if not rows:
        return ImportSummary()
    return ledger.import_rows(rows, source=source, actor=actor)


async def screen_checked(ledger: Ledger, verifier: Verifier, results: list[CheckResult], *,
                         actor: str) -> list[CheckResult]:
    """The check's results with the allowed addresses that are undeliverable now suppressed."""
    allowed = [n for n, r in enumerate(results) if r.verdict == "allowed"]
    verifications = await verifier.verify_many([results[n].address for n in allowed])
    found = {n: v for n, v in zip(allowed, verifications, strict=True) if v.verdict == UNDELIVERABLE}
    if not found:
        return results
    await asyncio.to_thread(suppress_undeliverable, ledger, list(found.values()),
                            source="verify:check", actor=actor)
    rule, explanation = ledger.lift_rule("invalid")
    since = ledger.clock()
    screened = list(results)
    for n, verification in found.items():
        screened[n] = CheckResult(results[n].address, "suppressed", "invalid", verification.reasons[0], "*",
                                  since, None, rule, explanation)
    return screened


async def screen_imported(ledger: Ledger, verifier: Verifier, addresses: Sequence[str], *, source: str,
                          actor: str) -> ImportSummary:
    verifications = await verifier.verify_many(list(dict.fromkeys(addresses)))
    return await asyncio.to_thread(suppress_undeliverable, ledger, verifications, source=source,
                                   actor=actor)
