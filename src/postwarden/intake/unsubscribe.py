"""List-Unsubscribe headers (RFC 2369) with one-click (RFC 8058) for a recipient and
scope, signed so that nobody can unsubscribe someone else by editing a link."""

from __future__ import annotations

from dataclasses import dataclass

from postwarden.intake.routing import UNSUBSCRIBE_LOCAL
from postwarden.intake.tokens import unsubscribe_encode


@dataclass(frozen=True)
class UnsubscribeHeaders:
    url: str
    mailto: str

    @property
    def list_unsubscribe(self) -> str:
        return f"<{self.url}>, <mailto:{self.mailto}?subject=unsubscribe>"

    # RFC 8058: tells the mailbox provider a POST to the URL unsubscribes at once.
    list_unsubscribe_post = "List-Unsubscribe=One-Click"

    def as_dict(self) -> dict[str, str]:
        return {"List-Unsubscribe": self.list_unsubscribe,
                "List-Unsubscribe-Post": self.list_unsubscribe_post}


def headers_for(key: bytes, tenant_id: int, recipient: str, scope: str, *, public_url: str,
                intake_domain: str) -> UnsubscribeHeaders:
    token = unsubscribe_encode(key, tenant_id, recipient, scope)
    return UnsubscribeHeaders(url=f"{public_url.rstrip('/')}/u/{token}",
                              mailto=f"{UNSUBSCRIBE_LOCAL}+{token}@{intake_domain}")
