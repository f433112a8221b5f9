"""The outgoing spam rules: each fires on its sample and not on plain mail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postwarden.gate.outbound import CHECKS, RULES, score


def message(subject: str = "Your receipt", body: str = "Thanks for your order.", *,
            headers: str = "", html: str | None = None, attachment: str | None = None,
            sender: str = "Shop <shop@sender.example>") -> bytes:
    head = f"From: {sender}\nTo: ann@example.com\nSubject: {subject}\n{headers}MIME-Version: 1.0\n"
    if html is None and attachment is None:
        return (head + f"Content-Type: text/plain; charset=utf-8\n\n{body}\n").encode()
    parts = [f"Content-Type: text/plain\n\n{body}\n"]
    if html is not None:
        parts.append(f"Content-Type: text/html\n\n{html}\n")
    if attachment is not None:
        parts.append(f'Content-Type: application/octet-stream\nContent-Disposition: attachment; '
                     f'filename="{attachment}"\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n')
    body_text = "".join(f"--B\n{p}" for p in parts) + "--B--\n"
    return (head + 'Content-Type: multipart/mixed; boundary="B"\n\n' + body_text).encode()


# One sample per rule: the rule must fire on it.
SAMPLES: dict[str, bytes] = {
    "SUBJECT_ALL_CAPS": message("LAST CHANCE TO SAVE BIG TODAY"),
    "SUBJECT_URGENT_MONEY": message("Act now: prices end tonight"),
    "URL_IP_LITERAL": message(body="Log in at http://203.0.113.9/login.php"),
    "URL_USERINFO": message(body="See http://bank.example.com@evil.example/verify"),
    "URL_SHORTENER": message(body="Details: https://bit.ly/3xYz"),
    "URL_PUNYCODE": message(body="Visit https://xn--pypal-4ve.com/account"),
    "DECEPTIVE_LINK": message(html='<a href="https://evil.example/x">https://www.mybank.com/login</a>'),
    "ASKS_FOR_CREDENTIALS": message(body="Please verify your account within 24 hours."),
    "BULK_WITHOUT_UNSUBSCRIBE": message(headers="Precedence: bulk\n"),
    "EXECUTABLE_ATTACHMENT": message(attachment="invoice.pdf.exe"),
    "FROM_NAME_SPOOF": message(sender='"support@mybank.com" <x@evil.example>'),
}


def test_every_rule_has_a_sample_and_every_check_a_rule() -> None:
    assert {r.symbol for r in RULES} == set(SAMPLES)
    assert {r.check for r in RULES if r.check} == set(CHECKS)
    assert all(r.description and r.score > 0 for r in RULES)


@pytest.mark.parametrize("symbol", sorted(SAMPLES))
def test_rule_fires_on_its_sample(symbol: str) -> None:
    assert symbol in {r.symbol for r in score(SAMPLES[symbol]).fired}


def test_ordinary_mail_fires_nothing() -> None:
    html = '<p>Your order</p><a href="https://shop.example/orders/1">shop.example/orders/1</a>'
    clean = message("Your order 1234 has shipped", "It arrives Tuesday: https://shop.example/track",
                    html=html, headers="List-Id: <news.shop.example>\nList-Unsubscribe: <https://x/u>\n")
    assert score(clean).fired == ()


def test_phishing_adds_up_past_the_default_threshold() -> None:
    phish = message("URGENT ACCOUNT NOTICE", "Your account will be suspended. Confirm your password.",
                    html='<a href="http://198.51.100.7/a">https://www.paypal.com/signin</a>')
    result = score(phish)
    assert result.total >= 5.0
    assert "DECEPTIVE_LINK" in result.summary() and "ASKS_FOR_CREDENTIALS" in result.summary()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_never_crashes_on_garbage(raw: bytes) -> None:
    assert score(raw).total >= 0
