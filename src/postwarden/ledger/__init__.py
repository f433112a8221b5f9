"""The ledger: suppressions, feedback events and the tamper-evident audit log.

:class:`~postwarden.ledger.service.Ledger` is the one entry point; the policy that
decides what a piece of feedback does lives, as data and pure functions, in
:mod:`postwarden.ledger.policy`."""

from postwarden.ledger.feedback import Feedback
from postwarden.ledger.service import CheckResult, Consent, Ledger, Outcome

__all__ = ["CheckResult", "Consent", "Feedback", "Ledger", "Outcome"]
