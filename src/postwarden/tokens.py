"""Signed tokens in return paths and unsubscribe links.

A VERP return path names the recipient in the classic form
``bounces+alice=example.com=<ref>@<intake domain>``, where ``ref`` binds the tenant,
the recipient and a digest of the message id under an HMAC, so a bounce that nobody
can parse is still tied to its recipient and message, and a forged one is refused.
Unsubscribe tokens bind tenant, recipient and scope the same way. Both use lower-case
base32: some MTAs fold the case of local parts.

The relay writes these tokens and the intake reads them, so they live here, beside
the address form both share."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass

from postwarden.address import normalize
from postwarden.errors import InvalidAddress, InvalidInput

MAC_BYTES = 10
MESSAGE_REF_BYTES = 8
# Local parts of the intake's token-bearing addresses: bounces+<verp>@, unsubscribe+<token>@.
BOUNCE_LOCAL = "bounces"
UNSUBSCRIBE_LOCAL = "unsubscribe"


class BadToken(InvalidInput):
    code = "bad_token"


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except (ValueError, base64.binascii.Error) as exc:  # type: ignore[attr-defined]
        raise BadToken("the token is not base32") from exc


def message_ref(message_id: str | None) -> str:
    """A short digest of a Message-ID (hex), what a VERP token carries; '' for none."""
    cleaned = (message_id or "").strip().strip("<>").lower()
    return hashlib.sha256(cleaned.encode()).digest()[:MESSAGE_REF_BYTES].hex() if cleaned else ""


def _mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"\0".join(parts), hashlib.sha256).digest()[:MAC_BYTES]


@dataclass(frozen=True)
class VerpRef:
    tenant_id: int
    recipient: str
    message_ref: str  # hex; empty when the sender gave no message id


def verp_encode(key: bytes, tenant_id: int, recipient: str, message_id: str | None, *,
                local: str, domain: str) -> str:
    recipient = normalize(recipient)
    ref = bytes.fromhex(message_ref(message_id))
    head = struct.pack(">I", tenant_id) + bytes([len(ref)]) + ref
    mac = _mac(key, b"verp", head, recipient.encode())
    rcpt_local, _, rcpt_domain = recipient.rpartition("@")
    return f"{local}+{rcpt_local}={rcpt_domain}={_b32(head + mac)}@{domain}"


def verp_decode(key: bytes, address: str, *, local: str) -> VerpRef:
    """The reference in a VERP address, or :class:`BadToken` when it is mangled or forged."""
    mailbox = address.strip().strip("<>").rpartition("@")[0]
    prefix = f"{local}+"
    if not mailbox.lower().startswith(prefix):
        raise BadToken(f"{address!r} is not a VERP address")
    rest = mailbox[len(prefix):]
    rcpt_part, sep, token = rest.rpartition("=")
    rcpt_local, sep2, rcpt_domain = rcpt_part.rpartition("=")
    if not (sep and sep2 and token):
        raise BadToken(f"{address!r}: expected {local}+local=domain=token@...")
    blob = _unb32(token)
    if len(blob) < 5 + MAC_BYTES:
        raise BadToken("the VERP token is too short")
    tenant_id, ref_len = struct.unpack(">IB", blob[:5])
    head, mac = blob[:5 + ref_len], blob[5 + ref_len:]
    try:
        recipient = normalize(f"{rcpt_local}@{rcpt_domain}")
    except InvalidAddress as exc:
        raise BadToken(f"the VERP address names no valid recipient: {exc.message}") from exc
    if len(mac) != MAC_BYTES or not hmac.compare_digest(mac, _mac(key, b"verp", head, recipient.encode())):
        raise BadToken("the VERP token's signature does not match: forged or mangled")
    return VerpRef(tenant_id, recipient, head[5:].hex())


@dataclass(frozen=True)
class UnsubscribeRef:
    tenant_id: int
    recipient: str
    scope: str


def unsubscribe_encode(key: bytes, tenant_id: int, recipient: str, scope: str) -> str:
    recipient = normalize(recipient)
    body = struct.pack(">I", tenant_id) + f"{recipient}\n{scope}".encode()
    return _b32(body + _mac(key, b"unsubscribe", body))


def unsubscribe_decode(key: bytes, token: str) -> UnsubscribeRef:
    blob = _unb32(token.strip())
    if len(blob) < 4 + MAC_BYTES + 3:
        raise BadToken("the unsubscribe token is too short")
    body, mac = blob[:-MAC_BYTES], blob[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, b"unsubscribe", body)):
        raise BadToken("the unsubscribe link's signature does not match: it was altered or is not ours")
    (tenant_id,) = struct.unpack(">I", body[:4])
    try:
        recipient, scope = body[4:].decode("utf-8").split("\n", 1)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadToken("the unsubscribe token is malformed") from exc
    return UnsubscribeRef(tenant_id, recipient, scope)


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


def unsubscribe_headers(key: bytes, tenant_id: int, recipient: str, scope: str, *, public_url: str,
                intake_domain: str) -> UnsubscribeHeaders:
    token = unsubscribe_encode(key, tenant_id, recipient, scope)
    return UnsubscribeHeaders(url=f"{public_url.rstrip('/')}/u/{token}",
                              mailto=f"{UNSUBSCRIBE_LOCAL}+{token}@{intake_domain}")
