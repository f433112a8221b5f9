"""A DKIM key made for the test run, published through the loopback name server."""

from __future__ import annotations

import base64
from functools import lru_cache

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@lru_cache(maxsize=1)
def key_pair() -> tuple[bytes, str]:
    """(PEM private key, the DKIM TXT record's rdata text)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode()
    chunks = " ".join(f'"{record[i:i + 200]}"' for i in range(0, len(record), 200))
    return private, chunks


def sign(message: bytes, domain: str, selector: str = "s1") -> bytes:
    private, _ = key_pair()
    signature = dkim.sign(message, selector.encode(), domain.encode(), private,
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return bytes(signature) + message
