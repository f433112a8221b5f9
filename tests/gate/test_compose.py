"""Each recipient's copy: header surgery on raw bytes, and DKIM signatures that an
independent implementation (dkimpy) verifies."""

from __future__ import annotations

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from postwarden.errors import InvalidInput
from postwarden.gate.compose import Signer, split

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption())
PUBLIC = base64.b64encode(KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def published_key(name: bytes, timeout: int = 5) -> bytes:
    assert name == b"sel._domainkey.sender.example."
    return f"v=DKIM1; k=rsa; p={PUBLIC}".encode()


@pytest.mark.parametrize("message", [
    b"From:  Shop  <a@sender.example>\r\nTo: b@example.com\r\nSubject: hi\r\n  folded\t there \r\n"
    b"List-Unsubscribe: <https://x.example/u/1>\r\nMessage-ID: <x@y>\r\n\r\n"
    + b"Thanks.  \r\n" * 5 + b"\r\n\r\n",
    b"From: a@sender.example\r\nSubject: one\r\nSubject: two\r\n\r\n",
    b"From: a@sender.example\nSubject: bare newlines\n\nand no final newline",
])
def test_signatures_verify_with_dkimpy(message: bytes) -> None:
    signed = Signer("sender.example", "sel", PEM).sign(message)
    assert dkim.verify(signed, dnsfunc=published_key)
    assert not dkim.verify(signed.replace(b"From:", b"From: x", 1), dnsfunc=published_key)


def test_only_rsa_keys_are_taken() -> None:
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(InvalidInput, match="RSA"):
        Signer("sender.example", "sel", other)


def test_split_keeps_folded_fields_and_the_body_bytes() -> None:
    parts = split(b"Subject: a\r\n b\r\nX-Postwarden-Topic: news\r\n\r\nbody\r\n\r\n")
    assert parts.get("subject") == "a b" and parts.get("x-postwarden-topic") == "news"
    edited = parts.without(frozenset({"x-postwarden-topic"})).with_first([("List-Id", "<l.example>")])
    assert edited.bytes() == b"List-Id: <l.example>\r\nSubject: a\r\n b\r\n\r\nbody\r\n\r\n"
