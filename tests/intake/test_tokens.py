from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwarden.intake.routing import route
from postwarden.tokens import (
    BadToken,
    message_ref,
    unsubscribe_decode,
    unsubscribe_encode,
    verp_decode,
    verp_encode,
)

KEY = b"k" * 32


def test_verp_round_trip_binds_tenant_recipient_and_message() -> None:
    address = verp_encode(
        KEY,
        7,
        "Alice.Smith+x@Example.ORG",
        "<abc@shop.example>",
        local="bounces",
        domain="bounce.example.com",
    )
    assert address.startswith("bounces+alice.smith+x=example.org=") and address.endswith(
        "@bounce.example.com"
    )
    ref = verp_decode(KEY, address, local="bounces")
    assert (ref.tenant_id, ref.recipient) == (7, "alice.smith+x@example.org")
    assert ref.message_ref == message_ref("abc@shop.example")


def test_verp_survives_case_folding_of_the_local_part() -> None:
    address = verp_encode(KEY, 1, "bob@example.org", "<m@x>", local="bounces", domain="b.example")
    assert verp_decode(KEY, address.upper(), local="bounces").recipient == "bob@example.org"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda a: a.replace("bob", "rob"),  # another recipient
        lambda a: a.replace("=", "", 1),  # broken structure
        lambda a: a[:-25] + a[-24:],  # token shortened
        lambda a: a.split("=")[0] + "=example.org=" + "a" * 40 + "@b.example",
    ],
)
def test_forged_or_mangled_verp_is_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    address = verp_encode(KEY, 1, "bob@example.org", "<m@x>", local="bounces", domain="b.example")
    with pytest.raises(BadToken):
        verp_decode(KEY, mangle(address), local="bounces")


def test_another_key_refuses_the_token() -> None:
    address = verp_encode(KEY, 1, "bob@example.org", None, local="bounces", domain="b.example")
    with pytest.raises(BadToken):
        verp_decode(b"other" * 8, address, local="bounces")


def test_unsubscribe_round_trip_and_tamper() -> None:
    token = unsubscribe_encode(KEY, 3, "Fan@Example.com", "newsletter")
    ref = unsubscribe_decode(KEY, token)
    assert (ref.tenant_id, ref.recipient, ref.scope) == (3, "fan@example.com", "newsletter")
    assert unsubscribe_decode(KEY, token.upper()) == ref
    flipped = token[:10] + ("a" if token[10] != "a" else "b") + token[11:]
    with pytest.raises(BadToken):
        unsubscribe_decode(KEY, flipped)


@given(st.text(max_size=200))
def test_decoders_refuse_garbage_without_crashing(text: str) -> None:
    for decode in (lambda: verp_decode(KEY, text, local="bounces"), lambda: unsubscribe_decode(KEY, text)):
        with contextlib.suppress(BadToken):
            decode()


@pytest.mark.parametrize(
    ("address", "role"),
    [
        ("bounces@bounce.localhost", "bounce"),
        ("<Bounces@BOUNCE.localhost>", "bounce"),
        ("postmaster@bounce.localhost", "bounce"),
        ("fbl@bounce.localhost", "fbl"),
        ("bounces+a=b.c=tok@bounce.localhost", "verp"),
        ("unsubscribe+tok@bounce.localhost", "unsubscribe"),
        ("someone@bounce.localhost", None),
        ("bounces@example.com", None),
        ("unsubscribe+@bounce.localhost", None),
    ],
)
def test_only_feedback_addresses_are_routed(address: str, role: str | None) -> None:
    found = route(address, "bounce.localhost")
    assert (found.role if found else None) == role
