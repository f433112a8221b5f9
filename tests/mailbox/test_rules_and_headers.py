"""Sender rules (pure), header edits on raw bytes, and List-Unsubscribe reading: never
raising on junk."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postwarden.errors import InvalidInput
from postwarden.mailbox import Action, read_message
from postwarden.mailbox.feedback import list_unsubscribe
from postwarden.mailbox.headers import drop_fields, prepend, strip_verdict
from postwarden.mailbox.rules import RULE_SCORES, Sender, SenderRule, decide

RULES = [
    SenderRule.make("block", "domain", "example.net"),
    SenderRule.make("trust", "address", "friend@example.net"),
    SenderRule.make("block", "ip", "198.51.100.0/24", "reject"),
    SenderRule.make("trust", "domain", "example.com"),
    SenderRule.make("block", "address", "pest@example.com"),
]

# (sender address, envelope, client IP, authenticated From) -> (symbol, action) or None
CASES = {
    "domain block covers subdomains": (("a@mail.example.net", None, None, True), ("USER_BLOCKED", "spam")),
    "address trust beats domain block": (("friend@example.net", None, None, True), ("USER_TRUSTED", "inbox")),
    "address block beats domain trust": (("pest@example.com", None, None, True), ("USER_BLOCKED", "spam")),
    "ip block asks for refusal": (("x@else.example", None, "198.51.100.9", True), ("USER_BLOCKED", "reject")),
    "envelope sender counts too": ((None, "b@example.net", None, True), ("USER_BLOCKED", "spam")),
    "forged From is not trusted": (("friend@example.com", None, None, False), None),
    "nothing matches": (("x@else.example", None, "192.0.2.1", True), None),
    "suffix is not a subdomain": (("x@notexample.net", None, None, True), None),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_rule_decisions(case: str) -> None:
    (address, envelope, ip, authenticated), expected = CASES[case]
    found = decide(RULES, Sender(address, envelope, ip, authenticated))
    if expected is None:
        assert found.rule is None and found.signals == ()
    else:
        assert (found.signals[0].name, found.action and found.action.value) == expected


def test_rule_scores_are_data_with_words() -> None:
    for kind, score in RULE_SCORES.items():
        assert score.symbol.startswith("USER_") and score.description and kind in ("block", "trust",
                                                                                    "correspondent")
    assert SenderRule.make("block", "address", "<Pest@Example.COM.>").value == "pest@example.com"
    assert SenderRule.make("block", "ip", "192.0.2.7").value == "192.0.2.7/32"
    assert SenderRule.make("trust", "domain", "@Example.org").action is Action.INBOX
    for bad in [("spam", "address", "a@b.c", None), ("block", "regex", "x", None),
                ("trust", "address", "a@b.c", "reject"), ("block", "domain", "nodot", None),
                ("block", "ip", "999.1.1.1", None)]:
        with pytest.raises(InvalidInput):
            SenderRule.make(*bad)


def test_header_edits_keep_the_rest_byte_for_byte() -> None:
    raw = (b"Received: from a\r\n\tby b\r\nX-Spam-Flag: YES\r\nX-Spam-Old: folded\r\n more\r\n"
           b"Subject: hi\r\n\r\nX-Spam-Flag: body text stays\r\n")
    clean = strip_verdict(raw)
    assert clean == b"Received: from a\r\n\tby b\r\nSubject: hi\r\n\r\nX-Spam-Flag: body text stays\r\n"
    added = prepend(clean, [("X-Spam-Verdict", "spam"), ("Authentication-Results", "me;\r\n\tspf=pass")])
    assert added.startswith(b"X-Spam-Verdict: spam\r\nAuthentication-Results: me;\r\n\tspf=pass\r\n")
    assert strip_verdict(added) == prepend(clean, [("Authentication-Results", "me;\r\n\tspf=pass")])
    assert drop_fields(b"no header at all", lambda n, f: True) == b""
    lf = prepend(b"Subject: x\n\nbody\n", [("A", "b;\r\n\tc")])
    assert lf == b"A: b;\n\tc\nSubject: x\n\nbody\n"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600).filter(lambda b: not b.startswith((b" ", b"\t"))))
def test_verdict_fields_come_off_exactly(raw: bytes) -> None:
    base = strip_verdict(raw)
    delivered = prepend(base, [("X-Spam-Verdict", "inbox"), ("X-Spam-Score", "-1.00")])
    assert strip_verdict(delivered) == base


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=60))
def test_list_unsubscribe_reader_never_raises(value: str, post: str) -> None:
    raw = f"List-Unsubscribe: {value}\nList-Unsubscribe-Post: {post}\n\nbody".encode("utf-8", "replace")
    found = list_unsubscribe(read_message(raw))
    if found is not None:
        assert found.urls or found.mailtos
        found.to_json()


def test_list_unsubscribe_shapes() -> None:
    view = read_message(b"List-Unsubscribe: <mailto:u@x.example?subject=unsub>, <https://x.example/u/1>\n"
                        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\n\nhi")
    found = list_unsubscribe(view)
    assert found is not None and found.one_click and found.urls == ("https://x.example/u/1",)
    plain = read_message(b"List-Unsubscribe: <http://x.example/u/1>\n\nhi")
    assert list_unsubscribe(plain) is None  # RFC 8058 wants https
    allowed = list_unsubscribe(plain, allow_http=True)
    assert allowed is not None and not allowed.one_click
