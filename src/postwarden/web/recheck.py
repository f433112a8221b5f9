""""Check again" for addresses blocked as a hard bounce or as invalid: the address is
verified anew and, if it can take mail now (say the typo in it was fixed), the block
is lifted; the policy lifts these two classes by a re-check. If a later message
bounces hard again, the ledger blocks the address again."""

from __future__ import annotations

from dataclasses import dataclass

from postwarden.ledger import Ledger

RECHECKABLE = frozenset({"hard_bounce", "invalid"})


@dataclass(frozen=True)
class CheckAgainResult:
    lifted: bool
    message: str


def available() -> bool:
    """Whether this installation can verify addresses."""
    return False


def check_again(ledger: Ledger, address: str, actor: str) -> CheckAgainResult:
    return CheckAgainResult(False, "Address verification is not installed on this server: nothing "
                                   "was checked and the block stays.")
