"""Address verification: is an address worth sending to, before the first send?

Pure parts: :mod:`syntax`, the tables (:mod:`tables`), typo suggestions (:mod:`typo`),
the verdict (:mod:`assess`, :mod:`result`). I/O: DNS with a TTL cache
(:mod:`domains`), the disposable lists (:mod:`disposable`), the :class:`Verifier`
putting them together (:mod:`service`), and the ledger side: "check again"
(:mod:`recheck`) and verification at check and import time (:mod:`screening`)."""

from postwarden.verify.result import DELIVERABLE, RISKY, UNDELIVERABLE, Verification
from postwarden.verify.service import Verifier

__all__ = ["DELIVERABLE", "RISKY", "UNDELIVERABLE", "Verification", "Verifier"]
